"""Loudness at assembly: each take (whatever engine, voice or character spoke it) is brought to
a target integrated loudness (ITU-R BS.1770, measured by pyloudnorm), then held under a
true-peak ceiling. The cache keeps the raw takes; this runs on their way into the output.

The ceiling is a look-ahead peak limiter: the gain each 4×-oversampled sample needs to stay
under the ceiling, spread by a minimum filter and smoothed by a moving average of the same
width, so the gain is smooth and never above what any sample within it needs.

ACX measures RMS over a whole file, room tone and pauses included, so takes at the right
loudness still make a short chapter too quiet. With `rms` set, each chapter (the whole output
when there are none) is held until it ends, brought to that RMS and limited again (`matched`).

Engines make digital silence between words and in pauses, and a file whose silences are exact
zeros reads as edited, not recorded (ACX asks for room tone, "not absolutely silent"). With
`room_tone` set, a faint noise of that RMS lies under the whole output: at ACX's -70 dB it is
below hearing, inside the -60 dB noise floor, and survives AAC at 64 kbit/s (measured: -70.3 dB
back). It is the same noise on every render (one seeded generator), so outputs compare equal."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

import attrs
import numpy as np

from polyvox.audio import Audio
from polyvox.errors import ParameterError

#: BS.1770 gates in 400 ms blocks: a shorter take is measured looped to this length.
_MEASURE_SECONDS = 0.5
#: The limiter's look-ahead and release, in seconds.
_WINDOW_SECONDS = 0.005
_OVERSAMPLE = 4
#: How far over its highest sample a take's true peak can be, to be safe (+3 dB).
_INTERSAMPLE = 10 ** (3 / 20)
#: A chapter's RMS is found again from the limited audio this many times at most, until this close (dB).
_RMS_TRIES, _RMS_CLOSE = 5, 0.2


def _check_target(instance: Any, attribute: attrs.Attribute, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not -70.0 <= value <= -5.0:
        raise ParameterError(f"loudness {value!r} LUFS is out of range: expected -70 to -5 (audiobooks: -18)")


def _check_rms(instance: Any, attribute: attrs.Attribute, value: float | None) -> None:
    if value is not None and (isinstance(value, bool) or not -40.0 <= value <= -10.0):
        raise ParameterError(f"chapter RMS {value!r} dB is out of range: expected -40 to -10 (ACX: -20)")


def _check_room_tone(instance: Any, attribute: attrs.Attribute, value: float | None) -> None:
    if value is not None and (isinstance(value, bool) or not -90.0 <= value <= -50.0):
        raise ParameterError(f"room tone {value!r} dB is out of range: expected -90 to -50 (ACX: -70)")


def _check_ceiling(instance: Any, attribute: attrs.Attribute, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not -20.0 <= value <= 0.0:
        raise ParameterError(f"true-peak ceiling {value!r} dBTP is out of range: expected -20 to 0 (ACX: -3)")


@attrs.frozen
class Loudness:
    """Bring takes to `target` LUFS with true peaks at most `ceiling` dBTP."""

    target: float = attrs.field(converter=float, validator=_check_target)
    ceiling: float = attrs.field(default=-1.0, converter=float, validator=_check_ceiling)
    #: Each chapter's RMS in dB over all its samples, silences included (None: as the takes make it).
    rms: float | None = attrs.field(default=None, converter=attrs.converters.optional(float), validator=_check_rms)
    #: RMS in dB of a faint noise laid under the whole output, so no silence is digital zero (None: none).
    room_tone: float | None = attrs.field(default=None, converter=attrs.converters.optional(float),
                                          validator=_check_room_tone)
    #: A delivery to ACX: an MP3 is written as ACX takes it (44.1 kHz, 192 kbps, constant).
    acx: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))

    def level(self, audio: Audio, memo: Memo | None = None) -> Audio:
        """`audio` at the target loudness under the ceiling (silence stays silence). `memo`
        (the cache's text memo) keeps each take's measurements (`Measured`) by its content."""
        key = _memo_key(audio) if memo is not None else ""
        known = Measured.read(memo.get(key)) if memo is not None else None
        measured = known or Measured.of(audio)
        ceiling = 10 ** (self.ceiling / 20)
        gain = 10 ** ((self.target - measured.lufs) / 20) if math.isfinite(measured.lufs) else 0.0
        if measured.true_peak is None and measured.peak * gain * _INTERSAMPLE > ceiling:
            measured = attrs.evolve(measured, true_peak=true_peak(audio.samples))  # its highest sample is not enough
        if memo is not None and measured != known:
            memo[key] = measured.to_text()
        if not gain:  # silence stays silence
            return audio
        gained = audio.samples * np.float32(gain)
        # under the ceiling with room for rounding: `limit` would give `gained` back as it is
        if measured.true_peak is None or measured.true_peak * gain <= ceiling * _ROOM:
            return attrs.evolve(audio, samples=gained)
        return attrs.evolve(audio, samples=limit(gained, ceiling, audio.sample_rate))


class Memo(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...

    def __setitem__(self, key: str, value: str) -> None: ...


#: How far under the ceiling a take's true peak times its gain must be to skip the limiter.
_ROOM = 1 - 1e-5
#: The memo's keys: this, the sample rate and the XXH3-128 of the take's samples.
MEMO_PREFIX = "loudness:"


@attrs.frozen
class Measured:
    """A take's integrated loudness (LUFS, -inf for silence), its highest sample and its true
    peak (None until a take needs it: most takes are cleared by their highest sample alone).

    They scale with any gain, so a take measured once serves every target and ceiling. A warm
    re-render at a loudness target spent most of its time measuring takes it had measured before
    (BS.1770's filters and gating, then the 4× oversampling of the true peak: ~7 ms for a 3 s take
    here, against ~2 ms a segment for the rest of the render); `memo` keeps them under the hash of
    the take's samples (`MEMO_PREFIX` keys), so a take retaken under the same segment is measured anew."""

    lufs: float
    peak: float
    true_peak: float | None = None

    @classmethod
    def of(cls, audio: Audio) -> Measured:
        """The loudness and highest sample of `audio`, measured now."""
        return cls(integrated_loudness(audio.samples, audio.sample_rate),
                   float(np.max(np.abs(audio.samples), initial=0.0)))

    @classmethod
    def read(cls, text: Any) -> Measured | None:
        """What a memo holds, or None (nothing, or something else: measured again and replaced)."""
        try:
            return cls.from_text(text) if text is not None else None
        except ValueError:
            return None

    def to_text(self) -> str:
        return json.dumps([self.lufs if math.isfinite(self.lufs) else None, self.peak, self.true_peak])

    @classmethod
    def from_text(cls, text: str) -> Measured:
        """The measurements `to_text` wrote, or ValueError."""
        values = json.loads(text) if isinstance(text, str) else None
        if not (isinstance(values, list) and len(values) == 3
                and all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values)
                and values[1] is not None):
            raise ValueError(f"not loudness measurements: {text!r:.60}")
        lufs, peak, tp = values
        return cls(float("-inf") if lufs is None else float(lufs), float(peak), None if tp is None else float(tp))


def _memo_key(audio: Audio) -> str:
    import xxhash

    return f"{MEMO_PREFIX}{audio.sample_rate}:{xxhash.xxh3_128_hexdigest(memoryview(audio.samples))}"


def leveled(speech: Iterable[tuple[Any, Audio, bool]], loudness: Loudness | None, memo: Memo | None = None
            ) -> Iterator[tuple[Any, Audio, bool]]:
    """The run step's (job, take, cached) with each take at `loudness` (None: as it is); the
    cache has kept it raw. `memo`: where takes' measurements are kept (`Measured`)."""
    for job, clip, cached in speech:
        yield job, (clip if loudness is None else loudness.level(clip, memo)), cached


def matched(chunks: Iterable[Audio], loudness: Loudness | None, starts: Sequence[float]) -> Iterator[Audio]:
    """The placed `chunks`, each chapter's brought to `loudness.rms`, with `loudness.room_tone`
    under them (where set; else passed through as they come). `starts` is the placement's list of
    chapter starts, which grows before a chapter's first chunk is placed; a chapter is held (its
    chunks, in memory) until the next one starts."""
    if loudness is None:
        yield from chunks
        return
    if loudness.rms is not None:
        chunks = _chapters_at_rms(chunks, loudness, starts)
    if loudness.room_tone is not None:
        chunks = _room_toned(chunks, loudness.room_tone)
    yield from chunks


def _room_toned(chunks: Iterable[Audio], db: float) -> Iterator[Audio]:
    """`chunks` with white noise of `db` RMS added, from one generator seeded the same each time."""
    noise = np.random.default_rng(0x70)
    scale = 10 ** (db / 20)
    for chunk in chunks:
        tone = noise.standard_normal(len(chunk.samples), dtype=np.float32) * np.float32(scale)
        yield attrs.evolve(chunk, samples=chunk.samples + tone)


def _chapters_at_rms(chunks: Iterable[Audio], loudness: Loudness, starts: Sequence[float]) -> Iterator[Audio]:
    held: list[Audio] = []
    reached = len(starts)
    for chunk in chunks:
        if len(starts) > reached:
            yield from _at_rms(held, loudness)
            held, reached = [], len(starts)
        held.append(chunk)
    yield from _at_rms(held, loudness)


def _at_rms(chunks: list[Audio], loudness: Loudness) -> Iterator[Audio]:
    """`chunks` with one gain that brings their RMS to `loudness.rms` under the ceiling. The
    limiter takes back some of a raise (speech peaks high), so the gain is found again from the
    limited result, a few times, each from the raw chunks."""
    count = sum(len(c.samples) for c in chunks)
    rms = _rms_db(chunks, count)
    if loudness.rms is None or not math.isfinite(rms):
        yield from chunks
        return
    ceiling = 10 ** (loudness.ceiling / 20)
    gain, out = 0.0, chunks
    for _ in range(_RMS_TRIES):
        gain += loudness.rms - rms
        factor = np.float32(10 ** (gain / 20))
        out = [attrs.evolve(c, samples=limit(c.samples * factor, ceiling, c.sample_rate)) for c in chunks]
        rms = _rms_db(out, count)
        if abs(rms - loudness.rms) <= _RMS_CLOSE:
            break
    yield from out


def _rms_db(chunks: list[Audio], count: int) -> float:
    energy = sum(float(np.dot(c.samples.astype(np.float64), c.samples)) for c in chunks)
    return 10 * math.log10(energy / count) if energy else float("-inf")


def integrated_loudness(samples: np.ndarray, rate: int) -> float:
    """Integrated loudness in LUFS (-inf for silence); a take shorter than one gating block is
    measured looped (its loudness is its own, repeated)."""
    samples = np.asarray(samples, dtype=np.float64)
    if not len(samples) or not np.any(samples):
        return float("-inf")
    need = round(_MEASURE_SECONDS * rate)
    if len(samples) < need:
        samples = np.tile(samples, -(-need // len(samples)))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyloudnorm warns of clipping for peaks over 0 dBFS
        return float(_meter(rate).integrated_loudness(samples))


def true_peak(samples: np.ndarray) -> float:
    """The highest absolute value of `samples` 4× oversampled (BS.1770's true peak), linear."""
    samples = np.asarray(samples, dtype=np.float32)
    if not len(samples):
        return 0.0
    # the points the loudest sample becomes are a floor: only samples that could pass it count
    floor = float(_points(samples, np.argmax(np.abs(samples), keepdims=True))[0])
    return max(floor, float(_sample_peaks(samples, floor).max()))


def limit(samples: np.ndarray, ceiling: float, rate: int) -> np.ndarray:
    """`samples` with a smooth gain that keeps every true peak at or under `ceiling` (linear)."""
    samples = np.asarray(samples, dtype=np.float32)
    if not len(samples) or float(np.max(np.abs(samples))) * _INTERSAMPLE <= ceiling:
        return samples  # even its peaks between samples stay under the ceiling
    per_sample = _sample_peaks(samples, ceiling)
    if per_sample.max(initial=0.0) <= ceiling:
        return samples
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    need = np.minimum(1.0, ceiling / np.maximum(per_sample, 1e-12))
    width = max(1, round(_WINDOW_SECONDS * rate)) * 2 + 1
    gain = uniform_filter1d(minimum_filter1d(need, width, mode="nearest"), width, mode="nearest")
    out = (samples * gain).astype(np.float32)
    # the moving average of the minima is at most each sample's need; float rounding aside
    over = np.abs(out) > ceiling
    if np.any(over):
        out[over] = np.sign(out[over]) * ceiling
    return out


#: Samples each side of one that its oversampled points depend on (49 taps over 4 phases).
_REACH = 6
#: Samples oversampled at a time (their windows are copied: 52 bytes each).
_BLOCK = 1 << 16


def _sample_peaks(samples: np.ndarray, floor: float) -> np.ndarray:
    """For each sample, the highest absolute value of the `_OVERSAMPLE` points it becomes when
    oversampled (as `scipy.signal.resample_poly` with `_taps()` makes them), where that can be
    above `floor`; 0 where it cannot.

    A point is a sum of 13 samples times taps, so it is at most the loudest of those samples
    times the largest absolute sum of one phase's taps (1.9): only the samples near one loud
    enough are oversampled, some 5 % of a take that needs the limiter (oversampling a whole
    12 s take took 10 ms)."""
    from scipy.ndimage import maximum_filter1d

    x = np.asarray(samples, dtype=np.float32)
    near = maximum_filter1d(np.abs(x), 2 * _REACH + 1, mode="constant")  # the loudest within reach
    bound = float(np.abs(_phases()).sum(axis=0).max()) * (1 + 1e-5)  # float32 sums may round up a little
    peaks = np.zeros(len(x), np.float32)
    hot = np.flatnonzero(near * bound > floor)
    peaks[hot] = _points(x, hot)
    return peaks


def _points(x: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The highest absolute value of the points each sample `at` becomes when oversampled."""
    from numpy.lib.stride_tricks import sliding_window_view

    windows = sliding_window_view(np.pad(x, _REACH), 2 * _REACH + 1)  # sample i's is row i
    out = np.empty(len(at), np.float32)
    for start in range(0, len(at), _BLOCK):  # the rows taken are copied: a block at a time
        out[start: start + _BLOCK] = np.abs(windows[at[start: start + _BLOCK]] @ _phases()).max(axis=1)
    return out


@functools.cache
def _phases() -> np.ndarray:
    """The taps as a (13, 4) matrix: a sample's window (the 13 samples centred on it) times it
    gives the 4 points the sample becomes, as `resample_poly(x, 4, 1, window=_taps())` would."""
    taps = _taps() * _OVERSAMPLE  # resample_poly scales the taps by the factor
    width = 2 * _REACH + 1
    out = np.zeros((width, _OVERSAMPLE), np.float32)
    centre = (len(taps) - 1) // 2
    for k in range(width):  # window position k is the sample k - _REACH after this one
        for phase in range(_OVERSAMPLE):
            i = centre + _OVERSAMPLE * (_REACH - k) + phase
            if 0 <= i < len(taps):
                out[k, phase] = taps[i]
    return out


@functools.cache
def _taps() -> np.ndarray:
    """A 49-tap low-pass for 4× oversampling (BS.1770-4's true-peak meter uses 48): a Kaiser-
    windowed sinc (β 5) cut at the input's Nyquist frequency, unit gain at 0 Hz; float32."""
    m = np.arange(49) - 24
    taps = np.sinc(m / _OVERSAMPLE) / _OVERSAMPLE * np.kaiser(49, 5.0)
    return (taps / taps.sum()).astype(np.float32)


@functools.cache
def _meter(rate: int) -> Any:
    from polyvox.books import needs

    return needs("pyloudnorm", "measuring loudness").Meter(rate)
