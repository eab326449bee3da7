"""Reading WebVTT subtitles (webvtt-py), the format YouTube, browsers and most caption tools
export: each cue becomes a `Cue` as an SRT one does. Cue settings, NOTE, STYLE and REGION
blocks are not read; a voice span (``<v Alice>Hello</v>``) says who speaks, so the cue reads
as ``[Alice] Hello``; tags and entities go as in SRT."""

from __future__ import annotations

import re
from pathlib import Path

from polyvox.errors import ScriptError
from polyvox.subtitles.srt import MAX_CUE_START, Cue, clean_text
from polyvox.text.encoding import decode_script, decode_text

#: A voice name a script tag can hold (no brackets, bars or colons).
_NAME = re.compile(r"[\[\]|:]")
#: A voice span's start (``<v Alice>``, ``<v.loud Alice>``) or end.
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?(?:\s+([^>]*))?>|</v>")


def looks_like_vtt(text: str) -> bool:
    """True when `text` starts as a WebVTT file does (``WEBVTT``, after any byte-order mark)."""
    head = text.lstrip("\ufeff \t\r\n")[:7]
    return head.startswith("WEBVTT") and (len(head) == 6 or head[6] in " \t\r\n")


def read_vtt(source: str | bytes | Path, *, max_cue_start: float = MAX_CUE_START) -> list[Cue]:
    """Cues of a WebVTT file (a `Path`), its bytes or its text, in time order; a `ScriptError`
    naming the file when it is no WebVTT or holds no cue, or a cue lies beyond `max_cue_start`."""
    name = str(source) if isinstance(source, Path) else None
    if isinstance(source, Path):
        try:
            source = decode_script(source.read_bytes(), str(source))
        except OSError as exc:
            raise ScriptError(f"cannot read subtitles {name!r}: {exc.strerror or exc}") from None
    text = decode_text(source) if isinstance(source, bytes) else source
    what = repr(name) if name else "the WebVTT text"
    import webvtt

    try:
        captions = webvtt.from_string(text.replace("\ufeff", "").replace("\r\n", "\n").replace("\r", "\n"))
    except Exception as exc:  # webvtt-py's MalformedFileError and friends
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ScriptError(f"cannot read subtitles {what}: {first}") from None
    rows = []
    for caption in captions:
        start, end = _seconds(caption.start), _seconds(caption.end)
        if start > max_cue_start or end > max_cue_start:
            raise ScriptError(f"subtitle cue at {caption.start} in {what} lies beyond the latest time allowed "
                              "(max_cue_start): check its timestamp")
        note = "" if end >= start else (f"its end {caption.end} is before its start {caption.start}: read as a "
                                        "zero-length cue (end set to start)")
        rows.append((start, max(start, end), _voiced(caption.raw_text), note))
    if any(_WORD_TIME.search(caption.raw_text) for caption in captions):
        rows = _unrolled(sorted(rows, key=lambda r: (r[0], r[1])))
    if not rows:
        raise ScriptError(f"no subtitles found in {what}: expected WebVTT cues such as "
                          "'00:00:01.000 --> 00:00:02.500' / 'text'")
    rows.sort(key=lambda r: (r[0], r[1]))
    return [Cue(n, start, end, body, note) for n, (start, end, body, note) in enumerate(rows, 1)]


#: A word's time inside a cue (<00:00:01.480>): what YouTube's automatic captions carry.
_WORD_TIME = re.compile(r"<\d{1,2}(?::\d{2}){1,2}[.,]\d{1,3}>")


def _unrolled(rows: list[tuple[float, float, str, str]]) -> list[tuple[float, float, str, str]]:
    """Rolling captions (YouTube's automatic ones) as each line once: every cue repeats the line
    before it above its new one, and a 10 ms cue between them holds the old line alone."""
    out, before = [], ""
    for start, end, body, note in rows:
        lines = body.split("\n")
        while lines and before and lines[0] == before:
            lines.pop(0)
        if lines:
            out.append((start, end, "\n".join(lines), note))
            before = lines[-1]
    return out


def _voiced(raw: str) -> str:
    """A cue's text, each line of a voice span as ``[Name] text``: a span may cover several
    lines (each line of a script starts as the narrator) and a cue may hold several spans; text
    after a span's end is the narrator's again."""
    lines, voice = [], None
    for line in raw.split("\n"):
        parts, at, current = [], 0, voice
        for m in _VOICE.finditer(line):
            parts.append((current, line[at : m.start()]))
            name = " ".join((m.group(1) or "").split())
            current = name if m.group(0) != "</v>" and name and not _NAME.search(name) else None
            at = m.end()
        parts.append((current, line[at:]))
        voice = current
        out, speaking = [], None
        for who, piece in parts:
            text = " ".join(clean_text(piece).split())
            if not text:
                continue
            if who != speaking and (who is not None or out):
                out.append(f"[{who or 'narrator'}]")
            speaking = who
            out.append(text)
        if out:
            lines.append(" ".join(out))
    return "\n".join(lines)


def _seconds(stamp: str) -> float:
    """``01:02:03.456`` or ``02:03.456`` in seconds."""
    parts = stamp.strip().replace(",", ".").split(":")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return round(seconds, 6)
