"""A finished studio render as a file: its audio in the formats the speech route speaks, or as
an audiobook (.m4b); its words as captions (docs/words.md). A render of a book gets its chapters,
title, author and cover in every format that holds them (.m4b, MP3, Opus, FLAC); any other
render's .m4b is one chapter. Those are written to a file beside the render's WAV (read a block at
a time, so a book's hours are never in memory whole) and sent from there."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

from polyvox import AudioWriter, WordTime
from polyvox.serve.encoding import Encoder
from polyvox.serve.errors import ApiError, bad_request
from polyvox.serve.schemas import FORMATS
from polyvox.words import write_captions

#: The downloads offered, by extension: audio formats, then captions.
AUDIO = ("wav", "flac", "mp3", "opus", "m4b")
#: Formats that hold chapters and tags (written whole by `AudioWriter`), and their media types.
CHAPTERED = {"m4b": "audio/mp4", "mp3": FORMATS["mp3"], "opus": FORMATS["opus"], "flac": FORMATS["flac"]}
#: Frames read from the render's WAV at a time.
BLOCK = 1 << 18
CAPTIONS = {"srt": "application/x-subrip; charset=utf-8", "vtt": "text/vtt; charset=utf-8"}


def encode(job: Any, fmt: str) -> tuple[bytes | Path, str]:
    """(bytes, or a file the caller sends and removes; media type) of `job`'s last output as
    `fmt`; a 400 naming the formats otherwise."""
    if fmt in CAPTIONS:
        words = [WordTime.from_dict(w) for s in job.segments for w in s["words"]]
        with tempfile.TemporaryDirectory(prefix="polyvox-studio-") as folder:
            path = write_captions(Path(folder) / f"captions.{fmt}", words)
            return path.read_bytes(), CAPTIONS[fmt]
    if fmt not in AUDIO:
        raise bad_request(f"unknown download format {fmt[:20]!r}: use one of {', '.join(AUDIO + tuple(CAPTIONS))}",
                          "format")
    if fmt == "m4b" or (fmt in CHAPTERED and job.book is not None):
        return _chaptered(job, fmt), CHAPTERED[fmt]
    if fmt == "wav" and job.output is not None:  # the finished WAV itself, its sizes in its header
        return _copy(job.output, job.folder / f"{job.id}-{secrets.token_hex(4)}.wav"), FORMATS["wav"]
    audio = job.audio()
    encoder = Encoder(fmt, audio.sample_rate)
    try:
        data = encoder.feed(audio) + encoder.finish()
    except BaseException:
        encoder.abort()
        raise
    return data, FORMATS[fmt]


def _chaptered(job: Any, fmt: str) -> Path:
    """`job`'s output as a file of `fmt` with its chapter marks (and its book's title, author and cover)."""
    import soundfile as sf

    if job.output is None:
        raise ApiError(409, "this render has not finished", code="render_running")
    path = job.folder / f"{job.id}-{secrets.token_hex(4)}.{fmt}"
    with sf.SoundFile(job.output) as wav, AudioWriter(path, wav.samplerate, fmt) as out:
        for block in wav.blocks(BLOCK, dtype="float32"):
            out.write_samples(block)
        if job.book is not None:
            out.tags, out.cover = job.book.tags, job.book.cover
        out.chapters = job.marks()
    return path


def _copy(source: Path, target: Path) -> Path:
    """`source` at `target` for one download (a hard link where the folder allows: no copy)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return target


def name_of(job: Any, fmt: str) -> str:
    """The download's file name: the book's title (its letters and digits, in any script, and
    dashes), else studio."""
    title = job.book.title if job.book is not None and job.book.title else ""
    stem = re.sub(r"[\W_]+", "-", title).strip("-")[:60].lower() or "studio"
    return f"{stem}.{fmt}"


def disposition(name: str) -> str:
    """A Content-Disposition for `name`: its ASCII letters in ``filename`` (every client reads
    it) and the whole name in ``filename*`` (RFC 6266: UTF-8, percent-encoded)."""
    from urllib.parse import quote

    stem, _, suffix = name.rpartition(".")
    plain = re.sub(r"[^A-Za-z0-9]+", "-", stem).strip("-") or "studio"
    return f"attachment; filename=\"{plain}.{suffix}\"; filename*=UTF-8''{quote(name)}"
