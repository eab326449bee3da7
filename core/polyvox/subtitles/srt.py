"""Reading SRT subtitles as they come in the wild, with the `srt` library.

Tolerated: a UTF-8 BOM, UTF-16 with a BOM, Windows-1252 (or Latin-1) bytes, CRLF line ends,
missing or wrong cue numbers, HTML tags (``<i>``, ``<font color=…>``), ASS override tags
(``{\\an8}``) and line breaks (``\\N``), HTML entities, zero-length cues, cues out of order
and overlapping cues. Cue text keeps polyvox markup, so ``[Alice] Hi!`` works inside a cue,
and keeps its line breaks: as in a script (and in TTS Audio Suite), each line of a cue
starts again as the narrator, so ``[Alice] Wait for me,⏎please!`` gives "please!" to the
narrator. Write the tag again on the second line to keep Alice speaking.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import attrs

from polyvox.errors import ScriptError

_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_ASS_TAG = re.compile(r"\{\\[^{}]*\}")
_ASS_BREAK = re.compile(r"\\N")
_ASS_SPACE = re.compile(r"\\[nh]")
_TIMESTAMP_LINE = re.compile(r"^\s*-?\d+:\d{1,2}:\d{1,2}(?:[,.:]\d+)?\s*-+>", re.MULTILINE)


@attrs.frozen
class Cue:
    """One subtitle: when it shows (seconds) and what it says (markup allowed)."""

    #: 1-based position in time order (file numbers are often wrong or missing).
    index: int
    start: float
    end: float
    text: str

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


def decode(data: bytes) -> str:
    """Subtitle bytes to text: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def clean_text(text: str) -> str:
    """Cue text without HTML/ASS tags or entities; each line's spacing tidied, blank lines
    dropped, the lines kept (an ASS ``\\N`` is a line break too)."""
    text = _ASS_BREAK.sub("\n", _ASS_SPACE.sub(" ", _ASS_TAG.sub("", _HTML_TAG.sub("", text))))
    lines = (" ".join(line.split()) for line in html.unescape(text).splitlines())
    return "\n".join(line for line in lines if line)


def looks_like_srt(text: str) -> bool:
    """True when `text` starts like an SRT file (a cue number or a ``-->`` timing line)."""
    head = text.lstrip("\ufeff \t\r\n")[:1000]
    lines = head.splitlines()
    if not lines:
        return False
    first = lines[0].strip()
    timing = _TIMESTAMP_LINE.match(first) or (first.isdigit() and len(lines) > 1
                                              and _TIMESTAMP_LINE.match(lines[1]))
    return bool(timing)


def read_srt(source: str | bytes | Path, skipped: list[str] | None = None) -> list[Cue]:
    """Cues of an SRT file (a `Path`), its bytes, or its text, in time order.

    Blocks that are not readable cues are left out and their text appended to `skipped`
    (so the caller can warn: those words will not be spoken). Raises `ScriptError` when
    nothing in it is a subtitle, or a timing cannot be read.
    """
    if isinstance(source, Path):
        try:
            source = source.read_bytes()
        except OSError as exc:
            raise ScriptError(f"cannot read subtitles {str(source)!r}: {exc.strerror or exc}") from None
    text = decode(source) if isinstance(source, bytes) else source
    if not isinstance(text, str):
        raise ScriptError(f"subtitles must be text, bytes or a Path, not {type(source).__name__}")
    import srt

    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    try:
        with _collect_skipped() as lost:
            parsed = list(srt.parse(text, ignore_errors=True))
    except (srt.SRTParseError, ValueError, OverflowError) as exc:
        raise ScriptError(f"cannot read subtitles: {exc}") from None
    if skipped is not None:
        skipped.extend(" ".join(block.split()) for block in lost if block.strip())
    if not parsed:
        excerpt = " ".join(text.split())[:40]
        raise ScriptError(f"no subtitles found in {excerpt!r}: expected SRT cues such as "
                          "'1' / '00:00:01,000 --> 00:00:02,500' / 'text'")
    rows = []
    for sub in parsed:
        start = max(0.0, _seconds(sub.start))
        end = max(start, _seconds(sub.end))
        rows.append((start, end, clean_text(sub.content)))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [Cue(n, start, end, body) for n, (start, end, body) in enumerate(rows, 1)]


def write_srt(cues: list[Cue]) -> str:
    """SRT text for `cues`, numbered from 1."""
    import srt

    subs = [srt.Subtitle(index=n, start=timedelta(seconds=c.start), end=timedelta(seconds=c.end),
                         content=c.text or " ") for n, c in enumerate(cues, 1)]
    return srt.compose(subs, reindex=False)


@contextmanager
def _collect_skipped() -> Iterator[list[str]]:
    """What `srt` skips as unparseable (it only logs it), collected instead of printed."""
    logger = logging.getLogger("srt")
    lost: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.args:
                lost.append(str(record.args[0]))

    handler, propagate = Collect(logging.WARNING), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield lost
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _seconds(value: timedelta) -> float:
    return round(value.total_seconds(), 6)
