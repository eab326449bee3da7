"""What a render returns: the audio, what happened to each segment, and the numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from polyvox.audio import Audio
from polyvox.text.segment import Segment


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

    @property
    def real_time_factor(self) -> float | None:
        """Wall seconds per second of audio (below 1 is faster than real time)."""
        return self.wall_seconds / self.audio_seconds if self.audio_seconds else None

    def to_dict(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["real_time_factor"] = self.real_time_factor
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
