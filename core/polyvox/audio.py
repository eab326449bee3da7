"""`Audio`: mono float32 samples with their sample rate, and the few operations a render needs."""

from __future__ import annotations

import io
import mmap
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

import attrs
import numpy as np

from polyvox.audiofile import SampleWriter
from polyvox.errors import PolyvoxError, VoiceError
from polyvox.words.timing import WordTime

#: The most channels a 2-D array of samples is read as having (7.1 sound has 8).
MAX_CHANNELS = 8


#: Integer PCM as engines and libraries hand it over, and the full scale that is 1.0.
_PCM_SCALE = {np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2147483648.0, np.dtype(np.int8): 128.0}


def _as_samples(value: Any) -> np.ndarray:
    raw = np.asarray(value)
    if raw.dtype.kind in "bcOSU":
        raise PolyvoxError(f"audio samples must be real numbers, got an array of {raw.dtype}")
    if raw.dtype in _PCM_SCALE:  # int16 PCM: -32768..32767 is -1..1, not a signal 32,000 times too loud
        samples = raw.astype(np.float32) / np.float32(_PCM_SCALE[raw.dtype])
    elif raw.dtype == np.uint8:  # 8-bit PCM is unsigned, 128 is silence
        samples = (raw.astype(np.float32) - 128) / np.float32(128)
    else:
        samples = raw.astype(np.float32, copy=False)
    if samples.ndim == 2 and not samples.size:
        samples = samples.reshape(0)
    elif samples.ndim == 2:  # mixed down: (frames, channels) as soundfile reads it, or (channels,
        # frames) as torch and torchaudio give it; the short axis is the channels
        axis = 1 if samples.shape[1] <= samples.shape[0] else 0
        if samples.shape[axis] > MAX_CHANNELS and min(samples.shape) > 0:
            raise PolyvoxError(f"audio must be mono (1-D) samples or up to {MAX_CHANNELS} channels, "
                               f"got shape {samples.shape}")
        samples = samples.mean(axis=axis, dtype=np.float32)
    if samples.ndim != 1:
        raise PolyvoxError(f"audio must be mono (1-D) samples, got shape {samples.shape}")
    return np.ascontiguousarray(samples)


def _whole_rate(value: Any) -> int:
    """A sample rate as a whole number of samples per second (22050.0 is 22050; 16000.7 is no
    rate, and was taken as 16000 without a word)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or (isinstance(value, (float, np.floating)) and not float(value).is_integer()):
        raise PolyvoxError(f"sample rate must be a positive whole number of samples per second, got {value!r}")
    return int(value)


def _positive_rate(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value <= 0:
        raise PolyvoxError(f"sample rate must be a positive integer, got {value!r}")


@attrs.frozen(eq=False)
class Audio:
    """Mono audio: float32 samples in [-1, 1] and a sample rate in Hz."""

    samples: np.ndarray = attrs.field(converter=_as_samples)
    sample_rate: int = attrs.field(converter=_whole_rate, validator=_positive_rate)
    #: When each word is spoken, in this clip's seconds, where the engine knows (see docs/words.md).
    words: tuple[WordTime, ...] = attrs.field(default=(), converter=tuple, kw_only=True)

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

        Each clip is copied once, as it comes, into memory that grows in place
        (`_GrowingSamples`): an iterator of clips (a render's) is never held twice beyond its first
        4 MiB, and the cost per clip does not grow with the length of the whole.
        """
        rate = sample_rate
        joined = _GrowingSamples()
        words: list[WordTime] = []
        at = 0
        for part in parts:
            rate = rate or part.sample_rate
            samples = part.resample(rate).samples
            words += [w.moved(at / rate) for w in part.words]  # word times follow their clip
            joined.append(samples)
            at += len(samples)
        if rate is None:
            raise PolyvoxError("cannot concatenate no audio without a sample rate")
        return cls(joined.samples(), rate, words=words)

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

        return Audio(soxr.resample(self.samples, self.sample_rate, sample_rate, "HQ"), sample_rate, words=self.words)

    def slice(self, start: float = 0.0, end: float | None = None) -> Audio:
        a = max(0, round(start * self.sample_rate))
        b = len(self.samples) if end is None else max(a, round(end * self.sample_rate))
        return self.cut(a, b)

    def cut(self, first: int, last: int) -> Audio:
        """Samples `first` to `last`, the words in them kept (moved and clipped to the cut)."""
        rate = self.sample_rate
        words = [w.moved(-first / rate, lo=0.0, hi=(last - first) / rate) for w in self.words
                 if w.end * rate > first and w.start * rate < last] if self.words else ()
        return Audio(self.samples[first:last], rate, words=words)

    def with_words(self, words: tuple[WordTime, ...]) -> Audio:
        return Audio(self.samples, self.sample_rate, words=words)

    # -- files ----------------------------------------------------------------------
    def write(self, target: str | Path | BinaryIO, format: str | None = None) -> None:
        """Write WAV, FLAC, OGG, MP3 or raw PCM; the format follows the extension unless given
        (a soundfile name such as ``WAV``, or an extension such as ``flac``)."""
        with SampleWriter(target, self.sample_rate, format) as out:
            out.write_samples(self.samples)

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



class _GrowingSamples:
    """float32 samples appended to an anonymous memory map that grows in place (mremap): no
    copy when it grows, the unused end never backed by memory. The pages each append writes are
    made ready in one call (MADV_POPULATE_WRITE, Linux 5.14+), not one fault per page.
    No transparent huge pages: where the system has none free, asking for them stalls each fault
    on compaction (0.2-0.6 s for 400 MB here, against 0.16 s with small pages made ready). Where
    a map cannot grow in place (no mremap) it is copied into one twice the size.

    Up to `SMALL` bytes (a short render: a reply, a line, a scene), the clips are kept as they
    are and joined once at the end instead: a fresh map's pages are new memory for the system to
    fault in every render (about 1 ms for a 4-line reply), where numpy's allocator hands back
    memory that the last render already touched."""

    #: Bytes of clips kept before they go into a map (4 MiB: 45 s at 24 kHz).
    SMALL = 1 << 22

    def __init__(self) -> None:
        self._map: mmap.mmap | None = None
        self._used = 0  # samples
        self._ready = 0  # bytes made ready (populated) from the map's start
        self._kept: list[np.ndarray] | None = []  # None once the samples are in the map

    def append(self, samples: np.ndarray) -> None:
        if not len(samples):
            return
        if self._kept is not None:
            if 4 * (self._used + len(samples)) <= self.SMALL:
                self._kept.append(samples)
                self._used += len(samples)
                return
            kept, self._kept, self._used = self._kept, None, 0
            for part in kept:
                self._copy(part)
        self._copy(samples)

    def _copy(self, samples: np.ndarray) -> None:
        need = 4 * (self._used + len(samples))
        if self._map is None:
            self._map = _anonymous(max(need, 1 << 22))
        elif need > len(self._map):
            size = max(need, 2 * len(self._map))
            try:
                self._map.resize(size)
            except (OSError, SystemError, ValueError):
                grown = _anonymous(size)
                grown[: 4 * self._used] = self._map[: 4 * self._used]
                self._map.close()
                self._map = grown
        if need > self._ready:
            self._ready = _populate(self._map, self._ready, need)
        # a view for this copy only: a map cannot grow while a view of it exists
        np.frombuffer(self._map, np.float32, len(samples), 4 * self._used)[:] = samples
        self._used += len(samples)

    def samples(self) -> np.ndarray:
        """The samples so far (for a long render, a view of the map, which it keeps); nothing may
        be appended after."""
        if self._kept is not None:
            return np.concatenate(self._kept) if self._kept else np.zeros(0, np.float32)
        assert self._map is not None
        try:
            self._map.resize(4 * self._used)  # gives back the unused end
        except (OSError, SystemError, ValueError):
            pass
        return np.frombuffer(self._map, np.float32, self._used)


def _anonymous(size: int) -> mmap.mmap:
    """Private anonymous memory of `size` bytes (shared anonymous memory cannot grow in place)."""
    if hasattr(mmap, "MAP_PRIVATE"):
        return mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return mmap.mmap(-1, size)


#: madvise's MADV_POPULATE_WRITE (Linux 5.14; Python names it from 3.13 on).
_MADV_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23 if sys.platform.startswith("linux") else None)


def _populate(memory: mmap.mmap, start: int, end: int) -> int:
    """Fault in `memory`'s pages from `start` to `end` (capped to its size) in one call; returns
    how far it is ready. Where the system cannot, pages fault in as written."""
    start = start // mmap.PAGESIZE * mmap.PAGESIZE  # madvise starts on a page (a map's odd end is not)
    end = min(len(memory), -(-end // mmap.PAGESIZE) * mmap.PAGESIZE)
    if _MADV_POPULATE_WRITE is None or end <= start:
        return max(start, end)
    try:
        memory.madvise(_MADV_POPULATE_WRITE, start, end - start)
    except (OSError, ValueError):
        pass  # an older kernel (EINVAL): the writes fault the pages in themselves
    return end
