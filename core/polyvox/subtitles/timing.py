"""Placing subtitle clips on the timeline: the four TTS Audio Suite timing modes, with its
rules and defaults.

- ``pad_with_silence``: every clip starts at its cue start; silence fills the rest. A clip
  longer than its cue runs on (and is mixed over the next one if they meet).
- ``stretch_to_fit``: every clip is time-stretched (Rubber Band, pitch kept) to its cue,
  with `fade_ms` (10) fades at its edges.
- ``smart_natural``: a clip that is too long first uses the gap after its cue, then borrows
  the next cue's spare room (its length minus its own clip's), at most `tolerance` (2 s), by
  starting that cue later; then is sped up down to `min_ratio` (0.5) of its length, then
  truncated. Only the next cue moves, and only into room it does not need, so every later
  cue stays on time. The last cue, with nothing after it, runs on. Overlapping cues fall
  back to ``pad_with_silence`` with a note.
- ``concatenate``: clips back to back, joined by a `crossfade_ms` (10) crossfade (or with
  `gap` seconds of silence between); new times are written.

Every clip's leading and trailing silence is trimmed first (keeping `keep_ms`), so speech
starts when its subtitle appears (TAS keeps it; see docs/subtitles.md). Each mode returns
the audio, one `CueTiming` per cue and the cues as they now are (for the adjusted SRT);
`timeline.place` mixes them into one output.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import attrs
import numpy as np

from polyvox.audio import Audio
from polyvox.errors import ParameterError
from polyvox.names import TIMING_MODES
from polyvox.subtitles.srt import Cue

#: Stretch ratios beyond these are refused by stretch_to_fit (it pads or truncates instead).
_RATIO_LIMITS = (0.1, 10.0)
#: Cues outside these lengths (seconds) get a warning, as in TAS.
SHORTEST_CUE, LONGEST_CUE = 0.05, 30.0


def _check_mode(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if value not in TIMING_MODES:
        raise ParameterError(f"timing mode {value!r} is not known: use one of {', '.join(TIMING_MODES)}")


def _to_number(value: Any, field: attrs.Attribute) -> float:
    """A setting as a float; anything else is a `ParameterError` naming the setting, not a bare
    `ValueError`."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{field.name}={value!r} is not valid: expected a number") from None
    if not math.isfinite(number):
        raise ParameterError(f"{field.name}={value!r} is not valid: expected a finite number")
    return number


_number = attrs.Converter(_to_number, takes_field=True)  # type: ignore[call-overload]


def _non_negative(instance: Any, attribute: attrs.Attribute, value: float) -> None:
    if value < 0:
        raise ParameterError(f"{attribute.name}={value!r} is out of range: expected a number >= 0")


def _below_zero(instance: Any, attribute: attrs.Attribute, value: float) -> None:
    if value >= 0:
        raise ParameterError(f"{attribute.name}={value!r} is out of range: expected a level below 0 dB")


def _positive_ratio(instance: Any, attribute: attrs.Attribute, value: float) -> None:
    if not 0.1 <= value <= 10.0:
        raise ParameterError(f"{attribute.name}={value!r} is out of range: expected 0.1..10")


@attrs.frozen
class TimingConfig:
    """How subtitle clips are fitted to their cues."""

    mode: str = attrs.field(default="smart_natural", validator=_check_mode)
    #: smart_natural: how much later (s) the next cue may start, into its own spare room.
    tolerance: float = attrs.field(default=2.0, converter=_number, validator=_non_negative)
    #: smart_natural: shortest a clip may be stretched to, as a fraction of its length.
    min_ratio: float = attrs.field(default=0.5, converter=_number, validator=_positive_ratio)
    #: smart_natural: longest a short clip may be slowed to (1.0: never slowed).
    max_ratio: float = attrs.field(default=1.0, converter=_number, validator=_positive_ratio)
    #: concatenate: silence between clips, in seconds (0: back to back, crossfaded).
    gap: float = attrs.field(default=0.0, converter=_number, validator=_non_negative)
    #: concatenate: crossfade between clips that follow each other directly, in milliseconds.
    crossfade_ms: float = attrs.field(default=10.0, converter=_number, validator=_non_negative)
    #: stretch_to_fit: fade in and out at each stretched clip's edges, in milliseconds.
    fade_ms: float = attrs.field(default=10.0, converter=_number, validator=_non_negative)
    #: Silence kept before and after trimmed speech, in milliseconds.
    keep_ms: float = attrs.field(default=5.0, converter=_number, validator=_non_negative)
    #: Level below the clip's peak that counts as silence when trimming, in dB.
    silence_db: float = attrs.field(default=-40.0, converter=_number, validator=_below_zero)

    def __attrs_post_init__(self) -> None:
        if self.min_ratio > 1.0 or self.max_ratio < 1.0:
            raise ParameterError(f"stretch ratios min_ratio={self.min_ratio} and max_ratio={self.max_ratio} "
                                 "must satisfy min_ratio <= 1 <= max_ratio")


@attrs.frozen
class CueTiming:
    """What happened to one cue. Times in seconds of the output."""

    index: int
    text: str
    target_start: float
    target_end: float
    #: Where the clip is placed in the output, and where it ends.
    start: float
    end: float
    #: The trimmed speech's own length, before any stretch.
    natural: float
    #: fits, padded, overran, used_gap, shifted_next, stretched, truncated, concatenated, empty
    action: str
    #: Output length / natural length (below 1: sped up; 1: untouched).
    stretch: float = 1.0
    #: How much later than its cue this clip starts.
    shift: float = 0.0
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def trim(audio: Audio, keep_ms: float = 5.0, silence_db: float = -40.0, *, lead: bool = True,
         tail: bool = True) -> Audio:
    """`audio` without leading (`lead`) and trailing (`tail`) silence, keeping `keep_ms` of it."""
    samples = audio.samples
    if not len(samples):
        return audio
    level = np.abs(samples)
    threshold = max(float(level.max()) * 10 ** (silence_db / 20), 1e-4)
    loud = np.flatnonzero(level > threshold)
    if not len(loud):
        return Audio(np.zeros(0, np.float32), audio.sample_rate)
    keep = round(keep_ms * audio.sample_rate / 1000)
    first = max(0, int(loud[0]) - keep) if lead else 0
    last = min(len(samples), int(loud[-1]) + 1 + keep) if tail else len(samples)
    return audio.cut(first, last)


def time_stretch(audio: Audio, ratio: float) -> Audio:
    """`audio` made `ratio` times as long, pitch kept (Rubber Band via pedalboard)."""
    if abs(ratio - 1.0) < 1e-6 or not len(audio):
        return audio
    import pedalboard

    out = pedalboard.time_stretch(audio.samples[None, :], float(audio.sample_rate), stretch_factor=1.0 / ratio,
                                  high_quality=True)[0]
    return Audio(_fit(out, round(len(audio) * ratio)), audio.sample_rate)


def fit(cues: Sequence[Cue], clips: Iterable[Audio | None], rate: int, config: TimingConfig,
        notes: list[str]) -> Iterator[tuple[CueTiming, Audio | None]]:
    """Each cue's timing and fitted clip, as soon as that cue's clip arrives (clips come in
    cue order, None for a cue with nothing to say). Notes for the user go to `notes`."""
    clips = (None if c is None or not len(c) else c.resample(rate) for c in clips)
    notes.extend(_length_notes(cues))
    mode = config.mode
    if mode == "smart_natural" and _overlapping(cues):
        notes.append("smart_natural: the subtitles have overlapping cues, so they were placed with "
                     "pad_with_silence instead")
        mode = "pad_with_silence"
    placer = {"pad_with_silence": _pad, "stretch_to_fit": _stretch, "smart_natural": _smart,
              "concatenate": _concatenate}[mode]
    # what reading the file did to a cue (an end before its start) is told and reported
    notes.extend(f"subtitle {c.index}: {c.note}" for c in cues if c.note)
    for cue, (timing, clip) in zip(cues, placer(cues, clips, config), strict=True):
        if cue.note:
            timing = attrs.evolve(timing, note=_join(cue.note, timing.note))
        if mode != config.mode:
            timing = attrs.evolve(timing, note=_join(timing.note, "overlapping cues: padded instead of smart_natural"))
        yield timing, clip


# -- modes ---------------------------------------------------------------------------------
Placed = Iterator[tuple[CueTiming, "Audio | None"]]


def _pad(cues: Sequence[Cue], clips: Iterable[Audio | None], config: TimingConfig) -> Placed:
    for n, (cue, clip) in enumerate(zip(cues, clips, strict=True)):
        if clip is None:
            yield (_empty(cue), None)
            continue
        d = clip.duration
        note = ""
        following = cues[n + 1].start if n + 1 < len(cues) else None
        if following is not None and cue.start + d > following + 1e-3:
            note = f"speech runs {cue.start + d - following:.2f} s into cue {cue.index + 1}"
        action = "padded" if d <= cue.duration + 1e-3 else "overran"
        yield (CueTiming(cue.index, cue.text, cue.start, cue.end, cue.start, cue.start + d, d, action,
                              note=note), clip)


def _stretch(cues: Sequence[Cue], clips: Iterable[Audio | None], config: TimingConfig) -> Placed:
    lo, hi = _RATIO_LIMITS
    for cue, clip in zip(cues, clips, strict=True):
        if clip is None:
            yield (_empty(cue), None)
            continue
        d = clip.duration
        if cue.duration <= 0:
            yield (CueTiming(cue.index, cue.text, cue.start, cue.end, cue.start, cue.start + d, d, "overran",
                                  note="zero-length cue: not stretched"), clip)
            continue
        wanted = cue.duration / d
        ratio = min(max(wanted, lo), hi)
        stretched = _fade(Audio(_fit(time_stretch(clip, ratio).samples, round(cue.duration * clip.sample_rate)),
                                clip.sample_rate), config.fade_ms, config.fade_ms)
        note = "" if ratio == wanted else f"a stretch of {wanted:.2f} is beyond {lo}..{hi}: {ratio:.2f} used"
        action = "truncated" if ratio > wanted else "stretched"
        yield (CueTiming(cue.index, cue.text, cue.start, cue.end, cue.start, cue.end, d, action, ratio,
                              note=note), stretched)


def _smart(cues: Sequence[Cue], clips: Iterable[Audio | None], config: TimingConfig) -> Placed:
    """Looks one cue ahead (the next clip's length tells its spare room), so a streamed render
    places each cue once the next one's speech is ready."""
    lent = 0.0  # how much later than its cue this clip starts: room its cue lent to the one before
    for n, (cue, (clip, next_clip)) in enumerate(zip(cues, _with_next(clips), strict=True)):
        start, shift, lent = cue.start + lent, lent, 0.0
        if clip is None:
            yield (attrs.evolve(_empty(cue), start=start, end=start, shift=shift), None)
            continue
        d = clip.duration
        following = cues[n + 1] if n + 1 < len(cues) else None
        own = max(cue.end - start, 0.0)
        ratio = 1.0
        if d <= own + 1e-3:
            action, final = "fits", clip
            if config.max_ratio > 1.0 and own > 0 and own / d > 1.0 + 1e-3:
                ratio = min(config.max_ratio, own / d)
                action, final = "stretched", time_stretch(clip, ratio)
        elif following is None:  # nothing after it to collide with: it runs on
            action, final = "overran", clip
        else:
            window, action = own, "fits"
            gap = max(following.start - cue.end, 0.0)
            if gap > 0:
                window, action = min(d, own + gap), "used_gap"
            if d > window + 1e-3:
                spare = following.duration - (next_clip.duration if next_clip is not None else 0.0)
                lent = max(0.0, min(d - window, config.tolerance, spare))
                if lent > 1e-3:
                    window, action = window + lent, "shifted_next"
                else:
                    lent = 0.0
            final = clip
            if d > window + 1e-3:
                wanted = window / d
                ratio = max(config.min_ratio, wanted)
                action, final = "stretched", time_stretch(clip, ratio)
                if ratio > wanted + 1e-6:  # sped up as far as allowed and still too long: cut
                    action = "truncated"
                    final = _fade(Audio(_fit(final.samples, round(window * clip.sample_rate)), clip.sample_rate),
                                  0.0, 20.0)
        end = start + final.duration
        next_start = following.start + lent if following is not None else None
        late = next_start is not None and end > next_start + 1e-3
        note = f"speech runs {end - next_start:.2f} s into cue {cue.index + 1}" if late else ""
        if action == "shifted_next":
            note = _join(note, f"cue {cue.index + 1} starts {lent:.2f} s later, in its own spare room")
        yield (CueTiming(cue.index, cue.text, cue.start, cue.end, start, end, d, action, round(ratio, 4),
                              round(shift, 6), note), final)


def _concatenate(cues: Sequence[Cue], clips: Iterable[Audio | None], config: TimingConfig) -> Placed:
    """Back to back: each clip starts `crossfade_ms` before the previous one ends and the two
    are crossfaded over that overlap (TAS's join), or `gap` seconds after it. A clip is handed
    on when the next one arrives (only then is it known whether it fades out)."""
    cursor = 0.0
    overlap = 0.0 if config.gap > 0 else config.crossfade_ms / 1000
    held: tuple[CueTiming, Audio, float] | None = None  # the last clip, its fade-out undecided
    waiting: list[tuple[CueTiming, None]] = []  # empty cues after it
    for cue, clip in zip(cues, clips, strict=True):
        if clip is None:
            entry = (attrs.evolve(_empty(cue), start=cursor, end=cursor, shift=cursor - cue.start), None)
            if held is None:
                yield entry
            else:
                waiting.append(entry)
            continue
        fade = min(overlap, clip.duration / 2) * 1000
        if held is not None:
            timing, previous, its_fade = held
            yield timing, _fade(previous, 0.0, its_fade)
            yield from waiting
            waiting.clear()
            cursor = cursor + config.gap if config.gap > 0 else max(0.0, cursor - fade / 1000)
        shaped = _fade(clip, 0.0 if held is None else fade, 0.0)
        end = cursor + clip.duration
        held = (CueTiming(cue.index, cue.text, cue.start, cue.end, cursor, end, clip.duration, "concatenated",
                          shift=round(cursor - cue.start, 6)), shaped, fade)
        cursor = end
    if held is not None:
        yield held[0], held[1]
    yield from waiting


# -- helpers -------------------------------------------------------------------------------
def _empty(cue: Cue) -> CueTiming:
    return CueTiming(cue.index, cue.text, cue.start, cue.end, cue.start, cue.start, 0.0, "empty",
                     note="nothing to speak")


def _with_next(clips: Iterable[Audio | None]) -> Iterator[tuple[Audio | None, Audio | None]]:
    """Each clip with the one after it (None after the last)."""
    it = iter(clips)
    try:
        current = next(it)
    except StopIteration:
        return
    for following in it:
        yield current, following
        current = following
    yield current, None


def _overlapping(cues: Sequence[Cue]) -> bool:
    return any(b.start < a.end - 1e-3 for a, b in zip(cues, cues[1:], strict=False))


def _fit(samples: np.ndarray, length: int) -> np.ndarray:
    """Exactly `length` samples: cut, or padded with silence."""
    samples = np.asarray(samples, np.float32)
    if len(samples) >= length:
        return samples[:length]
    return np.concatenate([samples, np.zeros(length - len(samples), np.float32)])


def _fade(audio: Audio, in_ms: float, out_ms: float) -> Audio:
    """`audio` with a linear fade in over its first `in_ms` and out over its last `out_ms`."""
    rate, samples = audio.sample_rate, audio.samples.copy()
    n_in = min(len(samples), round(in_ms * rate / 1000))
    n_out = min(len(samples), round(out_ms * rate / 1000))
    if n_in:
        samples[:n_in] *= np.linspace(0.0, 1.0, n_in, dtype=np.float32)
    if n_out:
        samples[-n_out:] *= np.linspace(1.0, 0.0, n_out, dtype=np.float32)
    return Audio(samples, rate)


def _length_notes(cues: Sequence[Cue]) -> list[str]:
    """TAS's sanity limits on cue lengths, as warnings: the render goes on."""
    notes = []
    for cue in cues:
        if cue.duration < SHORTEST_CUE:
            notes.append(f"subtitle {cue.index} lasts {cue.duration * 1000:.0f} ms, under "
                         f"{SHORTEST_CUE * 1000:.0f} ms: its speech cannot fit it")
        elif cue.duration > LONGEST_CUE:
            notes.append(f"subtitle {cue.index} lasts {cue.duration:.1f} s, over {LONGEST_CUE:g} s: consider "
                         "splitting it")
    return notes


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)
