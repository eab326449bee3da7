"""Plain text with chapter headings: a line of its own, after a blank line, that says "Chapter
3", "CHAPTER IV.", "Chapter Three: The Storm" (or Part, Book, Prologue, Epilogue) starts a
chapter. A text with fewer than two such lines is a script, not a book (`headed_chapters`
returns None). Lines wrapped inside a paragraph (Project Gutenberg wraps at 70 characters)
are joined: a paragraph is spoken as one, and ends at a blank line or a line of markup."""

from __future__ import annotations

import re

from polyvox.books.book import Chapter

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


def headed_chapters(text: str, opening: str) -> list[Chapter] | None:
    """The chapters of `text` split at its heading lines; None when it has fewer than two."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    marks = [m for m in _HEADING.finditer(text) if _after_blank(text, m.start())]
    if len(marks) < 2:
        return None
    chapters = []
    before = paragraphs(text[: marks[0].start()])
    if any(c.isalnum() for c in before):
        chapters.append(Chapter(opening, before))
    for mark, after in zip(marks, [*marks[1:], None], strict=True):
        body = paragraphs(text[mark.end(): after.start() if after else len(text)])
        chapters.append(Chapter(" ".join(mark.group(0).split()), body))
    return chapters


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
