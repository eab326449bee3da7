"""Plain text with chapter headings: a line of its own, after a blank line, that says "Chapter
3", "CHAPTER IV.", "Chapter Three: The Storm" (or Part, Book, Prologue, Epilogue) starts a
chapter. A text with fewer than two such lines is a script, not a book (`headed_chapters`
returns None). Lines wrapped inside a paragraph (Project Gutenberg wraps at 70 characters)
are joined: a paragraph is spoken as one, and ends at a blank line or a line of markup.
A Project Gutenberg text is read between its START and END lines (the licence is not read),
titled by its header's Title, Author and Language; a table of contents (headings one under
another, or headings with nothing under them that come again later) is not taken for chapters,
and a heading's title on the line under it ("CHAPTER I." / "The Beginning") is its title."""

from __future__ import annotations

import re

from polyvox.books.book import Book, Chapter

_ROMAN = r"(?=[mdclxvi])m{0,4}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})"
_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
          r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred")
_NUMBER = rf"(?:\d+|{_ROMAN}|(?:{_WORDS})(?:[- ](?:{_WORDS}))*|the\s+[a-z]+)"
#: A heading line: the word and its number alone, or followed by a title after . : - – — or
#: on a line of its own; after a blank line (or the start), so a wrapped line of prose that
#: begins "chapter 3 of the survey" is not one.
_HEADING = re.compile(rf"(?:\A|(?<=\n))[ \t]*(?:(?:chapter|part|book)[ \t]+{_NUMBER}(?:[ \t]*[.:\-–—][^\n]{{0,70}})?"
                      rf"|(?:prologue|epilogue)(?:[ \t]*[.:\-–—][^\n]{{0,70}})?)[ \t]*$",
                      re.IGNORECASE | re.MULTILINE)
#: A line that starts markup, so it starts a paragraph of its own ([Alice] ..., Speaker 1: ...).
_MARKUP_LINE = re.compile(r"^[ \t]*(?:\[|speaker\s*\d+\s*:)", re.IGNORECASE)


#: Project Gutenberg's frame around the book, and the header's fields.
_PG_START = re.compile(r"^\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK[^\n]*$", re.IGNORECASE | re.MULTILINE)
_PG_END = re.compile(r"^\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK[^\n]*$", re.IGNORECASE | re.MULTILINE)
_PG_FIELD = re.compile(r"^(Title|Author|Language):[ \t]*(\S[^\n]*)$", re.MULTILINE)
#: A table of contents' own heading, on a line of its own.
_CONTENTS = re.compile(r"^[ \t]*(?:table of )?contents[ \t]*$", re.IGNORECASE | re.MULTILINE)
#: A title on the line under its heading: short, no sentence's end, not markup.
_TITLE_LINE = re.compile(r"[ \t]*([^\s\[][^\n]{0,58}[^.!?,;:\s\"”’])[ \t]*")


def read_plaintext(text: str, stem: str) -> Book | None:
    """The `Book` in plain text with chapter headings (None when it has fewer than two); a
    Project Gutenberg text without its licence, titled by its header."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    fields: dict[str, str] = {}
    start = _PG_START.search(text)
    if start is not None:
        fields = {k.lower(): " ".join(v.split()) for k, v in _PG_FIELD.findall(text[: start.start()])}
        end = _PG_END.search(text, start.end())
        text = text[start.end(): end.start() if end else len(text)]
    title = fields.get("title") or stem
    chapters = headed_chapters(text, title)
    if chapters is None:
        return None
    return Book(tuple(chapters), title=title, author=fields.get("author"), language=_language(fields.get("language")))


def _language(name: str | None) -> str | None:
    """Project Gutenberg's "Language: English" as a code (None when it is not one it knows)."""
    from polyvox.text import languages

    return languages.normalize(name) if name else None  # None for a language no table names


def headed_chapters(text: str, opening: str) -> list[Chapter] | None:
    """The chapters of `text` split at its heading lines; None when it has fewer than two."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    marks = [m for m in _HEADING.finditer(text) if _after_blank(text, m.start()) and not _listed(text, m)]
    if len(marks) < 2:
        return None
    found = []
    for mark, after in zip(marks, [*marks[1:], None], strict=True):
        title, at = " ".join(mark.group(0).split()), mark.end()
        under = _title_under(text, at)
        if under is not None and not _HEADING.fullmatch(under.group(0)) and \
                (after is None or under.end() <= after.start()) and _ends_block(text, under.end()):
            title, at = f"{title} {under.group(1)}", under.end()
        found.append((mark, title, paragraphs(text[at: after.start() if after else len(text)])))
    # a table of contents: entries with nothing under them whose title comes again later
    titles = [t.lower() for _, t, _ in found]
    found = [f for n, f in enumerate(found) if any(c.isalnum() for c in f[2]) or f[1].lower() not in titles[n + 1:]]
    if len(found) < 2:
        return None
    chapters = []
    # before the first chapter: a table of contents is not read (its heading and its entries)
    before = paragraphs(_CONTENTS.sub("", "\n".join(line for line in text[: found[0][0].start()].split("\n")
                                                    if not _HEADING.fullmatch(line))))
    if any(c.isalnum() for c in before):
        chapters.append(Chapter(opening, before))
    chapters.extend(Chapter(title, body) for _, title, body in found)
    return chapters


def _title_under(text: str, at: int) -> re.Match[str] | None:
    """The line under a heading that ends at `at` (or under one blank line), if it can be the
    heading's title."""
    start = at + 1
    if text[start: start + 1] == "\n":  # one blank line between
        start += 1
    end = text.find("\n", start)
    return _TITLE_LINE.fullmatch(text, start, len(text) if end < 0 else end)


def _listed(text: str, mark: re.Match[str]) -> bool:
    """Whether the heading at `mark` is an entry of a list of headings (the next line is one)."""
    end = text.find("\n", mark.end() + 1)
    following = text[mark.end() + 1: end if end >= 0 else len(text)]
    return bool(following.strip()) and _HEADING.fullmatch(following) is not None


def _ends_block(text: str, at: int) -> bool:
    """Whether the line ending at `at` is the last of its block (a blank line or the end follows)."""
    rest = text[at:]
    return not rest.strip() or rest.startswith("\n\n") or rest.lstrip(" \t").startswith("\n\n") or \
        bool(re.match(r"\n[ \t]*\n", rest))


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
                lines[-1] = f"{lines[-1].rstrip()} {line.strip()}"
            else:
                lines.append(line.strip())
        out.extend(lines)
    return "\n".join(out)


def _after_blank(text: str, start: int) -> bool:
    """Whether the line at `start` opens the text or follows a blank line."""
    before = text[:start].rstrip(" \t")
    if not before.strip():
        return True
    return before.endswith("\n") and (before[:-1].rstrip(" \t").endswith("\n") or not before[:-1].strip())
