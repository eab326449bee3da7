"""What in a book's documents is not the book's text, found by what it says rather than how it
is marked up: Project Gutenberg's licence before its ``*** START`` line and after its ``*** END``
line (in books whose boilerplate has no class of its own), a table of contents page (its
entries link to where the book's table of contents points), and a chapter's opening lines that
only say its title again (Calibre's conversions head chapters with plain paragraphs)."""

from __future__ import annotations

import re
from collections.abc import Callable

from polyvox.books import html
from polyvox.books.prose import SCENE_BREAK

#: Project Gutenberg's line before the book's text ("*** START OF THE PROJECT GUTENBERG EBOOK …",
#: the 1990s' "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*…").
PG_START = re.compile(r"^\W*(?:START OF (?:THE|THIS) PROJECT GUTENBERG E-?(?:BOOK|TEXT)|END\W*THE SMALL PRINT!)",
                      re.IGNORECASE)
#: Its lines after it: "End of the Project Gutenberg EBook of …", "*** END OF THE PROJECT GUTENBERG EBOOK …",
#: "End of Project Gutenberg's …", the small print at the end ("***START**THE SMALL PRINT!…").
PG_END = re.compile(r"^\W*(?:END OF (?:THE |THIS )?PROJECT GUTENBERG(?:'S)?\b|START\W*THE SMALL PRINT!)",
                    re.IGNORECASE)
#: The same inside a block of other lines (an old HTML file's header in one <pre>).
_PG_START_IN = re.compile(r"\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG", re.IGNORECASE)
_PG_END_IN = re.compile(r"\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG", re.IGNORECASE)
#: Who made the e-text, as Project Gutenberg's texts say so after their START line.
CREDITS = re.compile(r"^\W*(?:produced by|e-?text prepared by|this e-?(?:text|book) (?:was )?(?:prepared|produced)|"
                     r"transcribed from .* by|prepared by|scanned and proofed by)\b", re.IGNORECASE)
#: Project Gutenberg's first line, and an HTML file's <title>: "The Project Gutenberg EBook of X, by Y".
_PG_TITLE = re.compile(r"^\W*(?:The )?Project Gutenberg(?:'s)? E-?(?:Book|text)\s+of\s+(.+?)(?:,\s+by\s+(.+?))?"
                       r"[\s*]*$", re.IGNORECASE)
#: A table of contents' own heading, in the languages books most often come in.
_CONTENTS = re.compile(r"^\W*(?:(?:table of )?contents|list of (?:illustrations|plates|figures|maps)|"
                       r"inhalt(?:sverzeichnis)?|table des mati[eè]res|sommaire|[íi]ndice|inhoud|spis treści|"
                       r"содержание|оглавление|目次|目录|目錄)\W*$", re.IGNORECASE)
#: A chapter's number alone ("1", "IV."), as Calibre's conversions head a chapter.
_NUMBER = re.compile(r"^\s*(\d+|[IVXLC]+)\.?\s*$", re.IGNORECASE)


def gutenberg(documents: list[tuple[str, html.Document]]) -> list[tuple[str, html.Document]]:
    """The spine's documents between Project Gutenberg's START and END lines (all of them where
    the book has neither): what is before and after is its licence and header."""
    start = _find(documents, PG_START, _PG_START_IN)
    if start is not None:
        at, block = start
        document = documents[at][1]
        block += 1
        while block < len(document.blocks) and CREDITS.match(document.blocks[block].text):  # "Produced by …"
            block += 1
        documents = [(documents[at][0], document.cut(block)), *documents[at + 1:]]
    end = _find(documents, PG_END, _PG_END_IN)
    if end is not None:
        at, block = end
        documents = [*documents[:at], (documents[at][0], documents[at][1].cut(0, block))]
    return documents


def gutenberg_title(line: str) -> tuple[str, str | None] | None:
    """The title and author that Project Gutenberg's first line (or <title>) names, if it is one."""
    found = _PG_TITLE.match(line)
    return (found.group(1).strip(), found.group(2).strip() if found.group(2) else None) if found else None


def _find(documents: list[tuple[str, html.Document]], line: re.Pattern[str],
          inside: re.Pattern[str]) -> tuple[int, int] | None:
    for at, (_name, document) in enumerate(documents):
        for index, block in enumerate(document.blocks):
            found = inside.search(block.text)  # START closing a block, END opening one: not a whole book's <pre>
            if line.match(block.text) or (found and (found.start() < 120 if inside is _PG_END_IN
                                                     else len(block.text) - found.end() < 120)):
                return at, index
    return None


def without_contents(document: html.Document, names_chapter: Callable[[str], bool]) -> html.Document:
    """`document` without a table of contents page: two or more blocks in a row each linking to
    where a chapter starts (`names_chapter(href)`), or blocks with links under a "Contents"
    heading; that heading goes with them."""
    blocks = document.blocks
    drop: set[int] = set()
    index = 0
    while index < len(blocks):
        headed = bool(_CONTENTS.match(blocks[index].text)) and not blocks[index].links
        first = index + 1 if headed else index
        end = first
        while end < len(blocks) and blocks[end].links and (headed or any(map(names_chapter, blocks[end].links))):
            end += 1
        if end - first >= (1 if headed else 2):
            drop.update(range(index, end))
            index = end
        else:
            index += 1
    return document.without(drop) if drop else document


def without_title(blocks: list[html.Block], title: str) -> list[html.Block]:
    """`blocks` without the lines that open them by saying the chapter's `title` again: a
    heading that says it, short lines that spell it out in turn ("PART I", "The Sea" under
    "Part I: The Sea"), or its number alone ("1" under "Chapter 1"); nor a scene break before them."""
    rest = letters(title)
    while blocks and blocks[0].text == SCENE_BREAK:
        blocks = blocks[1:]
    while blocks:
        block, said = blocks[0], letters(blocks[0].text)
        short = bool(block.level) or len(block.text.split()) <= 6
        if said and short and rest.startswith(said):
            rest = rest[len(said):]
        elif not (block.level and html.same_title(block.text, title)) and not (
                short and (number := _NUMBER.match(block.text))
                and re.search(rf"(?<!\w){re.escape(number.group(1))}(?!\w)", title, re.IGNORECASE)):
            break
        blocks = blocks[1:]
    return blocks


def letters(text: str) -> str:
    """`text`'s letters and digits alone, in lower case: how two spellings of a title compare."""
    return "".join(c for c in text.lower() if c.isalnum())
