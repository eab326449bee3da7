"""What a render returns: the audio, what happened to each segment, and the numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from polyvox.audio import Audio
from polyvox.errors import EmptyTextError
from polyvox.text.segment import Segment
from polyvox.words.timing import WordTime


@attrs.frozen
class SegmentResult:
    index: int
    segment: Segment
    engine: str | None  # None for a pause
    model: str | None
    language: str | None
    voice: str | None
    cached: bool
    start: float  # seconds into the output
    duration: float  # seconds of audio this segment contributed
    key: str | None = None
    #: Each word of the segment's text as written, in seconds of the output (docs/words.md).
    words: tuple[WordTime, ...] = ()


@attrs.frozen
class ChapterMark:
    """A chapter of a book render: its title and where it starts and ends in the output
    (seconds); a file with chapters carries these marks (`polyvox.containers`)."""

    title: str
    start: float
    end: float
    #: Its own file, for a render split into one file per chapter.
    file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"title": self.title, "start": round(self.start, 4), "end": round(self.end, 4)}
        return {**out, "file": self.file} if self.file else out


@attrs.frozen
class RenderStats:
    segments: int
    speech_segments: int
    synthesized: int
    cached: int
    audio_seconds: float
    wall_seconds: float
    model_loads: int
    voice_preparations: int
    #: Of `wall_seconds`, the time spent loading models (once per process, not per render).
    model_load_seconds: float = 0.0

    @property
    def real_time_factor(self) -> float | None:
        """Wall seconds per second of audio (below 1 is faster than real time)."""
        return self.wall_seconds / self.audio_seconds if self.audio_seconds else None

    @property
    def synthesis_real_time_factor(self) -> float | None:
        """`real_time_factor` without the model loads: what the next render of a warm process costs."""
        busy = max(0.0, self.wall_seconds - self.model_load_seconds)
        return busy / self.audio_seconds if self.audio_seconds else None

    def to_dict(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["real_time_factor"] = self.real_time_factor
        out["synthesis_real_time_factor"] = self.synthesis_real_time_factor
        return out


@attrs.frozen
class RenderResult:
    #: The whole render, or None when it was written straight to `output`.
    audio: Audio | None
    segments: tuple[SegmentResult, ...]
    stats: RenderStats
    warnings: tuple[str, ...]
    output: Path | None = None
    #: Per-cue timing report for subtitle renders (see polyvox.subtitles).
    timing: tuple[Any, ...] = ()
    #: The adjusted subtitles for subtitle renders (SRT text).
    srt: str | None = None
    #: The sample rate of the output (of `audio`, or of the file written).
    sample_rate: int | None = None
    #: What hearing the takes found (`polyvox.listen.report.VerifyReport`), for renders with `verify`.
    verification: Any = None
    #: A book's chapters in the output, in order (empty for a script or subtitles).
    chapters: tuple[ChapterMark, ...] = ()

    @property
    def words(self) -> tuple[WordTime, ...]:
        """Every word of the script, in order, timed in the output (see docs/words.md)."""
        return tuple(w for s in self.segments for w in s.words)

    def check_spoken(self) -> None:
        """`EmptyTextError` when there was speech to make and every engine gave back no sound
        for it (Piper for ``?!``: punctuation alone is not read out). A render writes no file
        then: a silent one is not what anyone asked for (a stream, which has sent its first
        bytes by now, is the caller's to judge)."""
        speech = [s for s in self.segments if s.engine]
        if not speech or any(s.duration > 0 for s in speech):
            return
        text = " ".join(s.segment.text.strip() for s in speech)
        excerpt = text if len(text) <= 40 else text[:37] + "..."
        engines = ", ".join(sorted({s.engine for s in speech if s.engine}))
        if any(c.isalnum() for c in text):  # words went in and nothing came out: the engine's doing
            raise EmptyTextError(f"engine {engines} returned no audio for {excerpt!r}, which has words to say: "
                                 "the engine or its model is at fault, not the text")
        raise EmptyTextError(f"nothing to speak: {engines} made no sound for {excerpt!r} (punctuation alone is "
                             "not read out); give it words")
