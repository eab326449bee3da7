"""Reading SRT subtitles as they come in the wild, with the `srt` library.

Tolerated: a UTF-8 BOM (also mid-file, as ``cat`` leaves it), UTF-16 with or without a BOM,
Windows-1252 (or Latin-1) bytes, CRLF or CR line ends, tabs in the timing line, missing or
wrong cue numbers, styling tags (``<i>``, ``<font color=…>``), ASS override tags (``{\\an8}``),
line breaks (``\\N``, ``<br>``), HTML entities, zero-length cues, cues out of order and
overlapping cues. What of a cue is spoken (no ``♪``, no ``(laughs)``) is `speech`'s concern.

Cue text keeps polyvox markup, so ``[Alice] Hi!`` works inside a cue, and keeps its line
breaks: as in a script (and in TTS Audio Suite), each line of a cue starts again as the
narrator, so ``[Alice] Wait for me,⏎please!`` gives "please!" to the narrator. Write the tag
again on the second line to keep Alice speaking.

Checked: a time beyond `max_cue_start` (default 24 h) is a one-line `ScriptError` naming the
cue and its line, before anything is sized by it; a cue that ends before it starts becomes a
zero-length cue with a `note` saying so (the timing report and the render's warnings show it).
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
from polyvox.text.encoding import decode_script, decode_text

#: The styling tags subtitle files use (SRT's own, and WebVTT's ``<c.x>``, ``<v Bob>``), by name,
#: so text such as ``a<b and c>d`` is not mistaken for one.
_HTML_TAG = re.compile(r"</?(?:(?:i|b|u|s|em|strong|small|big|strike|tt|ruby|rt|rp|sub|sup)\s*"
                       r"|(?:font|span|c|v|lang|p|div)(?:[\s.][^<>]*)?)/?>", re.IGNORECASE)
_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
#: What is never read: a ruby's reading and its fallback brackets (東京<rt>とうきょう</rt> is 東京
#: once), and a WebVTT cue's word timestamps (YouTube's <00:00:01.480>).
_UNREAD = re.compile(r"<(rt|rp)\b[^<>]*>[^<]*</\1\s*>|<\d{1,2}(?::\d{2}){1,2}[.,]\d{1,3}>", re.IGNORECASE)
_ASS_TAG = re.compile(r"\{\\[^{}]*\}")
_ASS_BREAK = re.compile(r"\\N")
_ASS_SPACE = re.compile(r"\\[nh]")
#: Latest time a cue may start or end, in seconds, unless `read_srt` is told otherwise.
MAX_CUE_START = 24 * 3600.0
#: A timing line (``00:00:01,5 --> 00:00:02,25``), and a time's fraction of a second in it.
_TIMING_LINE = re.compile(r"^[^\n]*\d *-[ -] *>[^\n]*$", re.MULTILINE)
_NEGATIVE = re.compile(r"(^[ \t]*|> *)-[ \t]*\d+[:：]\d+[:：]\d+(?:[,.，．。：]\d*)?")
_FRACTION = re.compile(r"(\d+[:：]\d+[:：]\d+[,.，．。：])(\d+)(?!\d)")
#: The start of a timing line, in every form `read_srt` reads (so `looks_like_srt` knows the file).
_TIMESTAMP_LINE = re.compile(r"^\s*-?[ \t]*\d+[:：]\d{1,2}[:：]\d{1,2}(?:[,.，．。：]\d*)?[ \t]*-[ -]*>", re.MULTILINE)


@attrs.frozen
class Cue:
    """One subtitle: when it shows (seconds) and what it says (markup allowed)."""

    #: 1-based position in time order (file numbers are often wrong or missing).
    index: int
    start: float = attrs.field(converter=float, validator=lambda i, a, v: _check_time(a.name, v))
    end: float = attrs.field(converter=float, validator=lambda i, a, v: _check_time(a.name, v))
    text: str
    #: What reading the file changed about this cue (e.g. an end before its start), or "".
    note: str = ""

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


def clean_text(text: str) -> str:
    """Cue text without HTML/ASS tags or entities; each line's spacing tidied, blank lines
    dropped, the lines kept (an ASS ``\\N`` and an HTML ``<br>`` are line breaks too)."""
    text = _HTML_TAG.sub("", _HTML_BREAK.sub("\n", _UNREAD.sub("", text)))
    text = _ASS_BREAK.sub("\n", _ASS_SPACE.sub(" ", _ASS_TAG.sub("", text)))
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


def read_srt(source: str | bytes | Path, skipped: list[str] | None = None, *,
             max_cue_start: float = MAX_CUE_START) -> list[Cue]:
    """Cues of an SRT file (a `Path`, or a one-line str ending in ``.srt``), its bytes, or its
    text, in time order.

    Blocks that are not readable cues are left out and their text appended to `skipped`
    (so the caller can warn: those words will not be spoken). Raises `ScriptError` when
    nothing in it is a subtitle, a timing cannot be read, or a time lies beyond
    `max_cue_start` seconds (checked on the text, so ``99:99:99,999`` costs nothing).
    """
    if isinstance(source, str) and "\n" not in source and source.strip().lower().endswith(".srt"):
        # One line naming a .srt file is never SRT text (a cue needs a timing line): a path.
        source = Path(source.strip())
    name = None
    if isinstance(source, Path):
        name = str(source)
        if source.is_dir():
            raise ScriptError(f"{name!r} is a directory: give a subtitle (.srt) file")
        try:
            source = decode_script(source.read_bytes(), name)
        except OSError as exc:
            raise ScriptError(f"cannot read subtitles {name!r}: {exc.strerror or exc}") from None
    text = decode_text(source) if isinstance(source, bytes) else source
    if not isinstance(text, str):
        raise ScriptError(f"subtitles must be text, bytes or a Path, not {type(source).__name__}")
    import srt

    # Every BOM goes, not just a leading one: files joined with `cat` carry one mid-text, which
    # would hide the next cue's number from `srt` and read its timing line aloud. Tabs are
    # spaces to `srt` (its timing line allows only spaces around the arrow).
    text = text.replace("\ufeff", "").replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _TIMING_LINE.sub(_tidy_timing_line, text)
    where = _check_times(text, max_cue_start)
    try:
        with _collect_skipped() as lost:
            parsed = list(srt.parse(text, ignore_errors=True))
    except (srt.SRTParseError, ValueError, OverflowError) as exc:
        raise ScriptError(f"cannot read subtitles: {exc}") from None
    if skipped is not None:
        skipped.extend(" ".join(block.split()) for block in lost if block.strip())
    if not parsed:
        excerpt = " ".join(text.split())[:40]
        what = (f"{name!r}" + (" (the file is empty)" if not excerpt else "")) if name else repr(excerpt)
        raise ScriptError(f"no subtitles found in {what}: expected SRT cues such as "
                          "'1' / '00:00:01,000 --> 00:00:02,500' / 'text'")
    rows = []
    for n, sub in enumerate(parsed):
        start = max(0.0, _seconds(sub.start))
        end = _seconds(sub.end)
        note = ""
        if end < start:
            line = f" (line {where[n]})" if n < len(where) else ""
            note = (f"its end {_stamp(end)} is before its start {_stamp(start)}{line}: "
                    "read as a zero-length cue (end set to start)")
            end = start
        rows.append((start, end, clean_text(sub.content), note))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [Cue(n, start, end, body, note) for n, (start, end, body, note) in enumerate(rows, 1)]


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


def _tidy_timing_line(line: re.Match[str]) -> str:
    """A timing line as `srt` should read it. A time before zero (a file shifted too early)
    is zero: `srt` would drop the sign, and the cue number with it. A fraction of a second is
    decimal, written as three digits: ``,5`` and ``,50`` (ASS's centiseconds) are half a
    second, where `srt` reads 5 and 50 ms, and ``,1234`` is 123 ms, not 1.234 s."""
    text = _NEGATIVE.sub(r"\g<1>00:00:00,000", line.group(0))
    return _FRACTION.sub(lambda m: m.group(1) + m.group(2).ljust(3, "0")[:3], text)


def _seconds(value: timedelta) -> float:
    return round(value.total_seconds(), 6)


def _check_times(text: str, limit: float) -> list[int]:
    """The line of each cue's timing, in file order (as `srt.parse` yields them); a time beyond
    `limit` is a `ScriptError` naming the cue and line. Runs on the digits, so an absurd time
    is refused before `srt` turns it into a timedelta or anything is sized by it."""
    import srt

    lines = []
    line, last = 1, 0
    for n, match in enumerate(srt.SRT_REGEX.finditer(text), 1):
        line += text.count("\n", last, match.start(2))
        last = match.start(2)
        lines.append(line)
        for what, raw in (("starts", match.group(2)), ("ends", match.group(3))):
            seconds = _stamp_seconds(raw)
            if seconds is None or seconds > limit:
                raise ScriptError(f"subtitle cue {n} (line {line}) {what} at {raw.strip()}, beyond "
                                  f"{_stamp(limit)}, the latest time allowed (max_cue_start): "
                                  "check its timestamp")
    return lines


def _stamp_seconds(raw: str) -> float | None:
    """Seconds of an SRT timestamp as `srt` reads it, or None when a field has too many digits
    to be a time at all."""
    import srt

    match = srt.TS_REGEX.match(raw.strip())
    if match is None:
        return None
    fields = [f.lstrip("0") or "0" for f in match.groups()]
    if any(len(f) > 15 for f in fields):
        return None
    hours, minutes, seconds, millis = (int(f) for f in fields)
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def _stamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def _check_time(name: str, value: float) -> None:
    if not (value >= 0 and value < float("inf")):
        raise ScriptError(f"cue {name} {value!r} is not a time: expected seconds >= 0")
