"""A book's chapters in a render: each chapter is one unit of segments (room tone, its title, a
pause, its text, room tone), so the place step knows where each starts (`ScriptPlacement`), and
the result carries `ChapterMark`s for the containers and ``--json``."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Collection, Sequence
from typing import Any

import attrs

from polyvox.books.book import Book
from polyvox.books.headings import is_divider
from polyvox.events import ChapterStarted
from polyvox.render.results import ChapterMark
from polyvox.text.normalize.figures import roman
from polyvox.text.segment import Segment

#: Seconds of room tone before and after each chapter of a book (ACX asks for 0.5-1 s and 1-5 s;
#: an engine's own lead of silence, up to ~0.3 s for hibari and Kokoro, comes on top of the first).
ROOM_TONE = (0.6, 1.5)
#: Seconds between a chapter's title and its text.
TITLE_PAUSE = 1.0


def book_units(book: Book, parse: Callable[[str, str], list[Segment]], warn: Callable[[str, str], None],
               codes: Collection[str] = ()) -> tuple[list[list[Segment]], list[str | None]]:
    """Each chapter with words as a unit of segments, and its title; a part's page ("Part One",
    its title alone) is its title spoken; any other chapter with nothing to say is skipped with
    a warning. A chapter in a language of its own that an engine speaks (`codes`) is read in it
    (what its markup does not say otherwise)."""
    units: list[list[Segment]] = []
    titles: list[str | None] = []
    for number, chapter in enumerate(book.chapters, 1):
        where = f"chapter {number} ({chapter.title})"
        body = parse(chapter.text, where) if chapter.has_words else []
        own = spoken_language(chapter.language, codes)
        if own is not None:
            body = [s if s.language or s.is_pause else attrs.evolve(s, language=own) for s in body]
        if not any(any(c.isalnum() for c in s.text) for s in body) and not is_divider(chapter.title):
            warn("empty-chapter", f"{where} has nothing to say: skipped")
            continue
        said = spoken_title(chapter.title) if not _says_its_title(chapter) else ""
        title = [Segment(text=said, language=own), Segment(pause=TITLE_PAUSE)] if said.strip() else []
        units.append([Segment(pause=ROOM_TONE[0]), *title, *body, Segment(pause=ROOM_TONE[1])])
        titles.append(chapter.title)
    return units, titles


#: A file's name, not a title: no spaces, and underscores between its words.
_FILE_NAME = re.compile(r"[\w.-]*_[\w.-]*")


def _says_its_title(chapter: Any) -> bool:
    """Whether a chapter's text opens by saying its title (a Project Gutenberg book's first line,
    an HTML page's <h1> over its chapters): then the title is not spoken before it as well."""
    first = chapter.text.lstrip().split("\n", 1)[0]
    a, b = ("".join(c for c in t.lower() if c.isalnum()) for t in (first, chapter.title))
    return bool(a) and a == b  # the whole line ("Rain came down" opens "Rain" with a word, not its title)


#: A roman numeral a title opens with, alone or before a colon or a period ("I: Down to the Sea",
#: "III", "XIV. The End"; not "I Remember").
_NUMBERED = re.compile(r"^\s*([IVXLC]+)(?=\s*[:.]|\s*$)")


def spoken_title(title: str) -> str:
    """A chapter's title as it is read: a numeral it opens with as a number, which every
    language's rules read ("I: Down to the Sea" is "1: …", read "one: …"; Standard Ebooks
    titles its chapters so); nothing for a file's name ("my_novel_final_v2", a book's title
    where it has none of its own)."""
    if _FILE_NAME.fullmatch(title.strip()):
        return ""
    found = _NUMBERED.match(title)
    value = roman(found.group(1)) if found else None
    return f"{title[: found.start(1)]}{value}{title[found.end(1):]}" if found and value else title


def book_language(book: Book, known: Collection[str]) -> str | None:
    """The language a book is read in when the caller names none: its own (EPUB's
    ``dc:language``) where an installed engine speaks it, with its region where one speaks that
    (``en-US``: American dates), else None (`book_language_note` says why)."""
    return spoken_language(book.language, known)


def spoken_language(language: str | None, known: Collection[str]) -> str | None:
    """`language` as an installed engine speaks it (`known`): with its region, else without, else None."""
    code = (language or "").strip().lower().replace("_", "-")
    for candidate in (code, code.split("-")[0]):
        if candidate and candidate in known:
            return candidate
    return None


def book_language_note(book: Book, known: Collection[str]) -> str | None:
    """A warning when the book names a language no installed engine speaks, else None."""
    if not book.language or book_language(book, known) is not None:
        return None
    return (f"the book's language is {book.language!r}, which no installed engine speaks: it is read with the "
            "default voice and English number rules; install an engine for it or pass --language")


def announce(titles: Sequence[str | None] | None, reached: int, starts: Sequence[float],
             emit: Callable[[ChapterStarted], None]) -> int:
    """A `ChapterStarted` for each chapter placed since chapter `reached` (0-based; -1: none
    yet); returns the chapter the output is in now."""
    while titles is not None and reached + 1 < len(starts):
        reached += 1
        emit(ChapterStarted(reached + 1, len(titles), titles[reached] or "", starts[reached]))
    return reached


def reached(placement: Any, seconds: float, ended: bool) -> Sequence[float]:
    """The starts of the chapters the output has reached with a chunk at `seconds` (all of them
    once it has `ended`): the placement knows a chapter's start before its first chunk, and
    mastering may hold chunks back after placing them (`polyvox.mastering.loudness.matched`)."""
    starts = getattr(placement, "chapter_starts", ())
    return starts if ended else starts[: bisect.bisect_right(starts, seconds + 1e-6)]


def chapter_marks(titles: Sequence[str | None] | None, starts: Sequence[float],
                  seconds: float) -> tuple[ChapterMark, ...]:
    """The marks of the chapters placed (`starts`) in a render `seconds` long."""
    if titles is None:
        return ()
    ends = [*starts[1:], seconds]
    return tuple(ChapterMark(title or "", start, end) for title, start, end in zip(titles, starts, ends, strict=False))
