"""Plain text with chapter headings (`headings`: "Chapter 3", "STAVE ONE.", "Letter 1", "I. A
SCANDAL IN BOHEMIA", "PREFACE"...). A text with fewer than two such lines is a script, not a
book (`headed_chapters` returns None). Lines wrapped inside a paragraph (Project Gutenberg wraps
at 70 characters) are joined: a paragraph is spoken as one, and ends at a blank line or a line
of markup. A Project Gutenberg text is read between its START and END lines (`matter`: the
licence, "End of the Project Gutenberg EBook of …" and the old "SMALL PRINT" are not read),
titled by its header's Title, Author and Language (or its first line's "… of X, by Y"), without
its "Produced by" credits; any other text by its title page (`_title_page`), and in the language
its words are in (`polyvox.books.language`); Aozora Bunko's notation as `aozora` says. A table
of contents (headings one under another, or headings with nothing under them that come again
later) is not taken for chapters, and a heading's title on the line under it ("CHAPTER I." /
"The Beginning") is its title. Footnotes, illustrations' captions and transcriber's notes are
not read; a scene break ("* * *") or a section's number alone ("II.") is a pause."""

from __future__ import annotations

import re

import attrs

from polyvox.books import aozora, headings, matter
from polyvox.books.book import Book, Chapter
from polyvox.books.language import with_language
from polyvox.books.prose import SCENE_BREAK, is_scene_break, with_breaks

#: A line that starts markup, so it starts a paragraph of its own ([Alice] ..., Speaker 1: ...).
_MARKUP_LINE = re.compile(r"^[ \t]*(?:\[|speaker\s*\d+\s*:)", re.IGNORECASE)
#: Project Gutenberg's header fields.
_PG_FIELD = re.compile(r"^(Title|Author|Language):[ \t]*(\S[^\n]*)$", re.MULTILINE)
#: A table of contents' own heading, on a line of its own.
_CONTENTS = re.compile(r"^[ \t]*(?:table of )?contents\.?[ \t]*$", re.IGNORECASE | re.MULTILINE)
#: A title on the line under its heading: short, no sentence's end (but in capitals), not markup.
_TITLE_LINE = re.compile(r"[ \t]*([^\s\[][^\n]{0,58}[^.!?,;:\s\"”’。！？、，．]|[^\s\[a-z][^a-z\n]{0,58}\.)[ \t]*")
#: A note, not the book's text: "Footnote 1: …", "FOOTNOTES:", a transcriber's note.
_FOOTNOTE = re.compile(r"^\W*foot-?note \w{1,4}\s*[:.]", re.IGNORECASE)
_NOTES_HEADING = re.compile(r"^\W*(?:foot-?notes|notes)\s*[:.]?\s*$", re.IGNORECASE)
_NOTE_ENTRY = re.compile(r"^\s*\[\w{1,4}\]")
_TRANSCRIBER = re.compile(r"^\W*transcriber['’]?s?['’]?s? notes?\b", re.IGNORECASE)
#: A bracketed note that may run over paragraphs: [Footnote 1: …], [Illustration: …].
_BRACKETED = re.compile(r"^\s*\[(?:foot-?note|illustration|transcriber|sidenote|blank page)", re.IGNORECASE)
#: A line that ends in Chinese or Japanese (kana, kanji, their punctuation): the next joins it without a space.
_CJK_END = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]$")
#: Italics as Project Gutenberg marks them in plain text: _word_.
_ITALICS = re.compile(r"(?<!\w)_(\S(?:[^_\n]*\S)?)_(?!\w)")


def read_plaintext(text: str, stem: str) -> Book | None:
    """The `Book` in plain text with chapter headings (None when it has fewer than two); a
    Project Gutenberg text without its licence, titled by its header."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text, fields = _gutenberg(text)
    noted = aozora.is_aozora(text)
    if noted:
        text, head, writer = aozora.cut(text)
        fields = {**({"title": head} if head else {}), **({"author": writer} if writer else {}), **fields}
    front, by = _title_page(text)
    title = fields.get("title") or front or stem
    chapters = headed_chapters(text, title)
    if chapters is None:
        return None
    if noted:  # ruby readings and typists' notes are not read, in titles either
        chapters = [attrs.evolve(c, title=aozora.plain(c.title).strip() or c.title, text=aozora.plain(c.text))
                    for c in chapters]
    return with_language(Book(tuple(chapters), title=title, author=fields.get("author") or by,
                              language=_language(fields.get("language"))))


#: An author's line on a title page: "by Charles Dickens", "BY MARY SHELLEY", "von Franz Kafka",
#: "par Jules Verne" (a name: its words capitalised but for particles such as "von" or "de").
_BY = re.compile(r"[ \t]*(?:by|von|par|por|di|door|gan)[ \t]+([^\W\d_][^\n]{1,60}?)[ \t.]*", re.IGNORECASE)
_PARTICLES = {"von", "van", "de", "der", "den", "du", "des", "la", "le", "di", "da", "del", "della", "dos", "das",
              "ter", "ten", "af", "zu", "y"}


def _title_page(text: str) -> tuple[str | None, str | None]:
    """The title and author a text without Project Gutenberg's header gives before its first
    heading: its first lines (up to a blank line), where they read as a title, not a sentence
    ("A TALE OF TWO CITIES", "My Novel"), and a "by …" line under them."""
    found = headings.find(text)
    lead = text[: found[0].start if found else 0].strip()
    if not lead:
        return None, None
    first = lead.split("\n\n", 1)[0].split("\n")
    title = None
    if len(first) <= 3 and all(_TITLE_LINE.fullmatch(line) for line in first) and \
            not re.match(r"\s*by\s", first[0], re.IGNORECASE) and not _CONTENTS.fullmatch(first[0]):
        title = " ".join(" ".join(line.split()) for line in first)
    lines = [line for line in lead.split("\n") if line.strip()]
    author = next((m.group(1) for line in lines[1:20] if (m := _BY.fullmatch(line)) and _is_name(m.group(1))), None)
    if author is not None and author.isupper():
        author = author.title()
    return title, author


def _is_name(text: str) -> bool:
    """Whether `text` reads as a person's name: each word capitalised, but for particles."""
    words = re.findall(r"[^\W\d_][\w'’.-]*", text)
    return bool(words) and all(w[0].isupper() or w.lower() in _PARTICLES for w in words)


def _gutenberg(text: str) -> tuple[str, dict[str, str]]:
    """`text` between Project Gutenberg's START and END lines, and its header's fields."""
    lines = text.split("\n")
    starts = [n for n, line in enumerate(lines) if matter.PG_START.match(line)]
    ends = [n for n, line in enumerate(lines) if matter.PG_END.match(line) and (not starts or n > starts[0])]
    if not starts and not ends:
        return text, {}
    end = ends[0] if ends else len(lines)
    start = max((n for n in starts if n < end), default=-1)
    header = "\n".join(lines[: max(start, 0)])
    fields = {k.lower(): " ".join(v.split()) for k, v in _PG_FIELD.findall(header)}
    first = matter.gutenberg_title(next((line for line in lines[: max(start, 0)] if line.strip()), ""))
    if first is not None:
        fields.setdefault("title", first[0])
        if first[1]:
            fields.setdefault("author", first[1])
    return "\n".join(lines[start + 1: end]), fields


def _language(name: str | None) -> str | None:
    """Project Gutenberg's "Language: English" as a code (None when it is not one it knows)."""
    from polyvox.text import languages

    return languages.normalize(name) if name else None  # None for a language no table names


def headed_chapters(text: str, opening: str) -> list[Chapter] | None:
    """The chapters of `text` split at its heading lines; None when it has fewer than two."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    marks = headings.chapter_marks(headings.find(text))
    if marks is None:
        return None
    sections = not any(m.kind == "bare" for m in marks)  # "II." alone numbers a chapter's sections
    found = []
    for mark, after in zip(marks, [*marks[1:], None], strict=True):
        title, at = " ".join(text[mark.start: mark.end].split()), mark.end
        under = _title_under(text, at)
        if under is not None and headings.kind(under.group(0)) is None and \
                (after is None or under.end() <= after.start) and _ends_block(text, under.end()):
            joint = " " if title[-1] in ".:-–—" else ": "  # "Letter 1" / "To Mrs. Saville": "Letter 1: To …"
            title, at = title + joint + _ITALICS.sub(r"\1", under.group(1)), under.end()
        found.append((mark, title, text[at: after.start if after else len(text)]))
    found = _without_contents(text, found)
    if len(found) < 2:
        return None
    chapters = []
    # before the first chapter: a table of contents is not read (its heading and its entries), nor credits
    lead = "\n".join(line for line in text[: found[0][0].start].split("\n") if headings.kind(line) is None)
    before = prose(_CONTENTS.sub("", lead), sections, credits=True)
    if any(c.isalnum() for c in before):
        chapters.append(Chapter(opening, before))
    # a contents page's heading between chapters (after a preface) goes with its entries
    chapters.extend(Chapter(title, prose(_CONTENTS.sub("", body), sections)) for _, title, body in found)
    return chapters


def _without_contents(text: str, found: list) -> list:
    """`found` (heading, title, body) without a table of contents' entries: headings on lines
    one under another (three or more, or under a "Contents" line, or each coming again later),
    and headings with nothing under them whose title comes again later."""
    letters = [matter.letters(title) for _, title, _ in found]
    lines = [matter.letters(text[mark.start: mark.end]) for mark, _, _ in found]  # the heading alone, without its title
    drop: set[int] = set()
    n = 0
    while n < len(found):
        run = n + 1
        while run < len(found) and found[run][0].start == found[run - 1][0].end + 1:
            run += 1
        above = text[: found[n][0].start].rstrip().rsplit("\n", 1)[-1]
        if run - n >= 2 and (run - n >= 3 or _CONTENTS.fullmatch(above) or
                             all(t in letters[run:] for t in letters[n:run])):
            drop.update(range(n, run))
        n = run
    for n, (_, _, body) in enumerate(found):
        if not any(c.isalnum() for c in body) and (letters[n] in letters[n + 1:] or lines[n] in lines[n + 1:]):
            drop.add(n)
    return [f for n, f in enumerate(found) if n not in drop]


def _title_under(text: str, at: int) -> re.Match[str] | None:
    """The line under a heading that ends at `at` (or under one blank line), if it can be the
    heading's title."""
    start = at + 1
    while text[start: start + 1] == "\n" and start < at + 4:  # up to three blank lines between
        start += 1
    end = text.find("\n", start)
    return _TITLE_LINE.fullmatch(text, start, len(text) if end < 0 else end)


def _ends_block(text: str, at: int) -> bool:
    """Whether the line ending at `at` is the last of its block (a blank line or the end follows)."""
    rest = text[at:]
    return not rest.strip() or bool(re.match(r"[ \t]*\n[ \t]*\n", rest))


def prose(text: str, sections: bool = True, credits: bool = False) -> str:
    """A chapter's `text` a paragraph a line (`paragraphs`), without notes (footnotes, captions,
    a transcriber's note) nor, with `credits`, who produced the e-text; a scene break, or with
    `sections` a section's number alone, as a pause."""
    blocks = re.split(r"(\n[ \t]*\n(?:[ \t]*\n)*)", text.strip())
    kept: list[str] = []
    n = 0
    while n < len(blocks):
        block = blocks[n]
        if _BRACKETED.match(block):  # to its closing bracket, over blank lines
            depth = block.count("[") - block.count("]")
            while depth > 0 and n + 2 < len(blocks):
                n += 2
                depth += blocks[n].count("[") - blocks[n].count("]")
        elif _NOTES_HEADING.match(block):
            while n + 2 < len(blocks) and _NOTE_ENTRY.match(blocks[n + 2]):
                n += 2
        elif _TRANSCRIBER.match(block):  # a note's heading alone: its paragraphs up to a wider gap
            while len(block.split()) <= 4 and n + 2 < len(blocks) and blocks[n + 1].count("\n") < 3 and \
                    headings.kind(blocks[n + 2]) is None:
                n += 2
        elif is_scene_break(block) or (sections and headings.is_section(block)):
            kept.append(SCENE_BREAK)
        elif not _FOOTNOTE.match(block) and not (credits and matter.CREDITS.match(block)):
            kept.append(block)
        n += 2
    return "\n".join(with_breaks([line for block in kept for line in paragraphs(block).split("\n") if line]))


def paragraphs(text: str) -> str:
    """`text` a paragraph a line: the lines between blank lines joined, except that a line of
    markup starts a paragraph of its own."""
    out: list[str] = []
    for block in re.split(r"\n[ \t]*\n", text.strip()):
        lines: list[str] = []
        for line in block.split("\n"):
            if not line.strip():
                continue
            if lines and not _MARKUP_LINE.match(line):
                before = lines[-1].rstrip()  # Chinese and Japanese put no space between sentences
                lines[-1] = before + ("" if _CJK_END.search(before) else " ") + line.strip()
            else:
                lines.append(line.strip())
        out.extend(lines)
    return "\n".join(out)
