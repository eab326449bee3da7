"""Plain text with chapter headings: a line of its own that starts "Chapter 3", "CHAPTER IV",
"Chapter Three" (or Part, Book, Prologue, Epilogue) starts a chapter. A text with fewer than two
such lines is a script, not a book (`headed_chapters` returns None)."""

from __future__ import annotations

import re

from polyvox.books.book import Chapter

_NUMBER = (r"(?:\d+|[ivxlcdm]+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
           r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty)(?:[- ][a-z]+)?")
_HEADING = re.compile(rf"^[ \t]*(?:(?:chapter|part|book)[ \t]+{_NUMBER}\b[^\n]{{0,70}}|prologue|epilogue)[ \t]*$",
                      re.IGNORECASE | re.MULTILINE)


def headed_chapters(text: str, opening: str) -> list[Chapter] | None:
    """The chapters of `text` split at its heading lines; None when it has fewer than two."""
    marks = list(_HEADING.finditer(text))
    if len(marks) < 2:
        return None
    chapters = []
    before = text[: marks[0].start()].strip()
    if any(c.isalnum() for c in before):
        chapters.append(Chapter(opening, before))
    for mark, after in zip(marks, [*marks[1:], None], strict=True):
        body = text[mark.end(): after.start() if after else len(text)].strip()
        chapters.append(Chapter(" ".join(mark.group(0).split()), body))
    return chapters
