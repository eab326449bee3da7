"""`Audio`: mono float32 samples with their sample rate, and the few operations a render needs."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

import attrs
import numpy as np

from polyvox.errors import PolyvoxError, VoiceError


def _as_samples(value: Any) -> np.ndarray:
    samples = np.asarray(value, dtype=np.float32)
    if samples.ndim == 2:  # (frames, channels) as soundfile reads it: mix down
        samples = samples.mean(axis=1, dtype=np.float32)
    if samples.ndim != 1:
        raise PolyvoxError(f"audio must be mono (1-D) samples, got shape {samples.shape}")
    return np.ascontiguousarray(samples)


def _positive_rate(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value <= 0:
        raise PolyvoxError(f"sample rate must be a positive integer, got {value!r}")


@attrs.frozen(eq=False)
class Audio:
    """Mono audio: float32 samples in [-1, 1] and a sample rate in Hz."""

    samples: np.ndarray = attrs.field(converter=_as_samples)
    sample_rate: int = attrs.field(converter=int, validator=_positive_rate)

    def __attrs_post_init__(self) -> None:
        self.samples.flags.writeable = False

    # -- construction ---------------------------------------------------------------
    @classmethod
    def silence(cls, seconds: float, sample_rate: int) -> Audio:
        return cls(np.zeros(max(0, round(seconds * sample_rate)), dtype=np.float32), sample_rate)

    @classmethod
    def read(cls, source: str | Path | BinaryIO) -> Audio:
        """Read any file soundfile understands (WAV, FLAC, OGG, MP3, ...), or AAC/M4A
        through PyAV (`polyvox.decoding`), mixed to mono."""
        import soundfile as sf

        from polyvox import decoding

        if decoding.needs_av(source):
            return cls(*decoding.read(source))  # type: ignore[arg-type]

        try:
            samples, rate = sf.read(source, dtype="float32", always_2d=True)
        except Exception as exc:  # soundfile raises several types for unreadable files
            raise VoiceError(f"cannot read audio {str(source)!r}: {exc}") from exc
        return cls(samples, rate)

    @classmethod
    def concatenate(cls, parts: Iterable[Audio], sample_rate: int | None = None) -> Audio:
        """Join clips end to end, resampling each to `sample_rate` (default: the first's).

        Each clip is copied once, as it comes, into one buffer that doubles when full: an
        iterator of clips (a render's) is never held in memory twice, and the memory a clip
        leaves is used again for the next one rather than new pages asked of the system.
        """
        rate = sample_rate
        buffer = np.empty(0, np.float32)
        used = 0
        for part in parts:
            rate = rate or part.sample_rate
            samples = part.resample(rate).samples
            if used + len(samples) > len(buffer):
                # a new buffer, not a resize: numpy asks large ones of the system in huge pages
                grown = np.empty(max(2 * len(buffer), used + len(samples), 1 << 18), np.float32)
                grown[:used] = buffer[:used]
                buffer = grown
            buffer[used : used + len(samples)] = samples
            used += len(samples)
        if rate is None:
            raise PolyvoxError("cannot concatenate no audio without a sample rate")
        buffer.resize(used, refcheck=False)  # gives back the unused end; no view of the buffer exists
        return cls(buffer, rate)

    # -- properties -----------------------------------------------------------------
    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate

    @property
    def peak(self) -> float:
        return float(np.max(np.abs(self.samples))) if len(self.samples) else 0.0

    @property
    def rms(self) -> float:
        return float(np.sqrt(np.mean(np.square(self.samples)))) if len(self.samples) else 0.0

    def __len__(self) -> int:
        return len(self.samples)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Audio)
            and self.sample_rate == other.sample_rate
            and np.array_equal(self.samples, other.samples)
        )

    def __repr__(self) -> str:
        return f"Audio({self.duration:.3f} s at {self.sample_rate} Hz)"

    # -- operations -----------------------------------------------------------------
    def resample(self, sample_rate: int) -> Audio:
        """Resample with soxr (high quality); returns self when the rate already matches."""
        if sample_rate == self.sample_rate:
            return self
        import soxr

        return Audio(soxr.resample(self.samples, self.sample_rate, sample_rate, "HQ"), sample_rate)

    def slice(self, start: float = 0.0, end: float | None = None) -> Audio:
        a = max(0, round(start * self.sample_rate))
        b = len(self.samples) if end is None else max(a, round(end * self.sample_rate))
        return Audio(self.samples[a:b], self.sample_rate)

    # -- files ----------------------------------------------------------------------
    def write(self, target: str | Path | BinaryIO, format: str | None = None) -> None:
        """Write WAV, FLAC, OGG, MP3 or raw PCM; the format follows the extension unless given
        (a soundfile name such as ``WAV``, or an extension such as ``flac``)."""
        from polyvox.render.output import AudioWriter

        with AudioWriter(target, self.sample_rate, format) as out:
            out.write(self)

    def to_bytes(self, format: str = "WAV") -> bytes:
        buffer = io.BytesIO()
        self.write(buffer, format=format)
        return buffer.getvalue()

    def to_torch(self) -> Any:
        """The samples as a torch tensor (needs torch installed; the kernel never imports it)."""
        try:
            import torch
        except ImportError as exc:
            raise PolyvoxError("to_torch() needs torch: pip install torch") from exc
        return torch.from_numpy(self.samples.copy())

