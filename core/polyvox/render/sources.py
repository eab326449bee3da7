"""The read step: what a render was given, read once and recognized once.

A source is script text, a script, book or subtitle file (`Path`), a `Book`, segments, subtitle
cues, or SRT or WebVTT text. A book (.epub, .md, .html, or a .txt with "Chapter N" lines) is
read into its chapters (`polyvox.books`); subtitles are recognized by content (cues, an ``.srt``
or ``.vtt`` path, or text that starts like SRT or with ``WEBVTT``), never by a guess made twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from polyvox.books.book import Book
from polyvox.errors import ScriptError
from polyvox.subtitles.srt import Cue, looks_like_srt, read_srt
from polyvox.subtitles.vtt import looks_like_vtt, read_vtt
from polyvox.text.encoding import decode_script
from polyvox.text.segment import Segment

#: Script text, a script or .srt file (`Path`), segments, subtitle cues, or SRT text.
Source = str | Path | Book | Sequence[Segment] | Sequence[Cue]


@attrs.frozen
class Script:
    """Markup text to parse, or segments given as they are."""

    text: str | None = None
    segments: tuple[Segment, ...] = ()


@attrs.frozen
class Subtitles:
    """Cues in time order, and the text of blocks that were not readable cues."""

    cues: tuple[Cue, ...]
    skipped: tuple[str, ...] = ()


def read_source(source: Any) -> Script | Subtitles | Book:
    """`source` as a `Script`, `Subtitles` or `Book`; a file is read once."""
    if isinstance(source, (Script, Subtitles, Book)):
        return source
    if isinstance(source, Path):
        if source.suffix.lower() in (".srt", ".vtt") and source.is_file():
            return _subtitle_file(source)
        from polyvox.books.reading import is_book_path, read_book

        if is_book_path(source) and not source.is_dir():
            return read_book(source)
        if source.is_dir():
            raise ScriptError(f"{str(source)!r} is a directory: give a script (.txt) or subtitles (.srt) file")
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise ScriptError(f"cannot read script {str(source)!r}: {exc.strerror or exc}") from None
        text = decode_script(data, str(source))  # UTF-16, else UTF-8 with any other byte as Windows-1252
        from polyvox.books.plaintext import read_plaintext

        book = None if looks_like_srt(text) or looks_like_vtt(text) else read_plaintext(text, source.stem)
        if book is not None:
            return book
        source = text
    if isinstance(source, str):
        if looks_like_vtt(source):
            return Subtitles(tuple(read_vtt(source)))
        return _subtitles(source) if looks_like_srt(source) else Script(text=source)
    if isinstance(source, Sequence) and source and all(isinstance(c, Cue) for c in source):
        return Subtitles(tuple(source))
    if isinstance(source, Sequence) and all(isinstance(s, Segment) for s in source):
        return Script(segments=tuple(source))
    raise ScriptError(f"cannot render a {type(source).__name__}: give text, a Path, segments or subtitle cues")


def is_subtitles(source: Any) -> bool:
    """Whether `source` renders as subtitles (so a caller can name its side files)."""
    return isinstance(read_source(source), Subtitles)


def _subtitle_file(path: Path) -> Subtitles:
    """An .srt or .vtt file, read by what it holds: a WebVTT file saved as .srt (or SRT saved as
    .vtt) had its NOTE blocks and timing lines read aloud."""
    try:
        head = decode_script(path.read_bytes()[:4096], str(path))
    except OSError:
        head = ""  # the reader below names the problem
    if looks_like_vtt(head):
        return Subtitles(tuple(read_vtt(path)))
    if path.suffix.lower() == ".vtt" and not looks_like_srt(head):
        return Subtitles(tuple(read_vtt(path)))  # its own error: no WebVTT header
    return _subtitles(path)


def _subtitles(source: str | Path) -> Subtitles:
    skipped: list[str] = []
    cues = read_srt(source, skipped)
    return Subtitles(tuple(cues), tuple(skipped))
