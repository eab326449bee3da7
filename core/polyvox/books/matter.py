"""What in a book's documents is not the book's text, found by what it says rather than how it
is marked up: Project Gutenberg's licence before its ``*** START`` line and after its ``*** END``
line (in books whose boilerplate has no class of its own), a table of contents page (its
entries link to where the book's table of contents points), and a chapter's opening lines that
only say its title again (Calibre's conversions head chapters with plain paragraphs)."""

from __future__ import annotations

import re
from collections.abc import Callable

from polyvox.books import html

#: Project Gutenberg's line before the book's text ("*** START OF THE PROJECT GUTENBERG EBOOK …",
#: the 1990s' "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*…").
PG_START = re.compile(r"^\W*(?:START OF (?:THE|THIS) PROJECT GUTENBERG E-?(?:BOOK|TEXT)|END\W*THE SMALL PRINT!)",
                      re.IGNORECASE)
#: Its lines after it: "End of the Project Gutenberg EBook of …", "*** END OF THE PROJECT GUTENBERG EBOOK …",
#: "End of Project Gutenberg's …", the small print at the end ("***START**THE SMALL PRINT!…").
PG_END = re.compile(r"^\W*(?:END OF (?:THE |THIS )?PROJECT GUTENBERG(?:'S)?\b|START\W*THE SMALL PRINT!)",
                    re.IGNORECASE)
#: A table of contents' own heading, in the languages books most often come in.
_CONTENTS = re.compile(r"^\W*(?:(?:table of )?contents|list of (?:illustrations|plates|figures|maps)|"
                       r"inhalt(?:sverzeichnis)?|table des mati[eè]res|sommaire|[íi]ndice|inhoud|spis treści|"
                       r"содержание|оглавление|目次|目录|目錄)\W*$", re.IGNORECASE)
#: A chapter's number alone ("1", "IV."), as Calibre's conversions head a chapter.
_NUMBER = re.compile(r"^\s*(\d+|[IVXLC]+)\.?\s*$", re.IGNORECASE)


def gutenberg(documents: list[tuple[str, html.Document]]) -> list[tuple[str, html.Document]]:
    """The spine's documents between Project Gutenberg's START and END lines (all of them where
    the book has neither): what is before and after is its licence and header."""
    start = _find(documents, PG_START)
    if start is not None:
        at, block = start
        documents = [(documents[at][0], documents[at][1].cut(block + 1)), *documents[at + 1:]]
    end = _find(documents, PG_END)
    if end is not None:
        at, block = end
        documents = [*documents[:at], (documents[at][0], documents[at][1].cut(0, block))]
    return documents


def _find(documents: list[tuple[str, html.Document]], line: re.Pattern[str]) -> tuple[int, int] | None:
    for at, (_name, document) in enumerate(documents):
        for index, block in enumerate(document.blocks):
            if line.match(block.text):
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
    "Part I: The Sea"), or its number alone ("1" under "Chapter 1")."""
    rest = _letters(title)
    while blocks:
        block, said = blocks[0], _letters(blocks[0].text)
        short = bool(block.level) or len(block.text.split()) <= 6
        if said and short and rest.startswith(said):
            rest = rest[len(said):]
        elif not (block.level and html.same_title(block.text, title)) and not (
                short and (number := _NUMBER.match(block.text))
                and re.search(rf"(?<!\w){re.escape(number.group(1))}(?!\w)", title, re.IGNORECASE)):
            break
        blocks = blocks[1:]
    return blocks


def _letters(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())
