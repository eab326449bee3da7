"""Placing subtitle clips on the timeline: the four TTS Audio Suite timing modes.

- ``pad_with_silence``: every clip starts at its cue start; silence fills the rest. A clip
  longer than its cue runs on (and is mixed over the next one if they meet).
- ``stretch_to_fit``: every clip is time-stretched (Rubber Band, pitch kept) to its cue.
- ``smart_natural``: a clip that is too long first uses the gap after its cue, then pushes
  the next cue later by up to `tolerance`, then is sped up down to `min_ratio` of its
  length, then truncated. Overlapping cues fall back to ``pad_with_silence`` with a note.
- ``concatenate``: clips back to back with `gap` seconds between; new times are written.

Every clip's leading and trailing silence is trimmed first (keeping `keep_ms`), so speech
starts when its subtitle appears. Each mode returns the audio, one `CueTiming` per cue and
the cues as they now are (for the adjusted SRT).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from polyvox.audio import Audio
from polyvox.errors import ParameterError
from polyvox.subtitles.srt import Cue

TIMING_MODES = ("pad_with_silence", "stretch_to_fit", "smart_natural", "concatenate")
#: Stretch ratios beyond these are refused by stretch_to_fit (it pads or truncates instead).
_RATIO_LIMITS = (0.1, 10.0)


def _check_mode(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if value not in TIMING_MODES:
        raise ParameterError(f"timing mode {value!r} is not known: use one of {', '.join(TIMING_MODES)}")


def _positive_ratio(instance: Any, attribute: attrs.Attribute, value: float) -> None:
    if not 0.1 <= value <= 10.0:
        raise ParameterError(f"{attribute.name}={value!r} is out of range: expected 0.1..10")


@attrs.frozen
class TimingConfig:
    """How subtitle clips are fitted to their cues."""

    mode: str = attrs.field(default="smart_natural", validator=_check_mode)
    #: smart_natural: how much later (s) the next cue may start to make room.
    tolerance: float = attrs.field(default=1.0, converter=float, validator=attrs.validators.ge(0))
    #: smart_natural: shortest a clip may be stretched to, as a fraction of its length.
    min_ratio: float = attrs.field(default=0.8, converter=float, validator=_positive_ratio)
    #: smart_natural: longest a short clip may be slowed to (1.0: never slowed).
    max_ratio: float = attrs.field(default=1.0, converter=float, validator=_positive_ratio)
    #: concatenate: silence between clips, in seconds.
    gap: float = attrs.field(default=0.3, converter=float, validator=attrs.validators.ge(0))
    #: Silence kept before and after trimmed speech, in milliseconds.
    keep_ms: float = attrs.field(default=5.0, converter=float, validator=attrs.validators.ge(0))
    #: Level below the clip's peak that counts as silence when trimming, in dB.
    silence_db: float = attrs.field(default=-40.0, converter=float, validator=attrs.validators.lt(0))

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
    return Audio(samples[first:last], audio.sample_rate)


def time_stretch(audio: Audio, ratio: float) -> Audio:
    """`audio` made `ratio` times as long, pitch kept (Rubber Band via pedalboard)."""
    if abs(ratio - 1.0) < 1e-6 or not len(audio):
        return audio
    import pedalboard

    out = pedalboard.time_stretch(audio.samples[None, :], float(audio.sample_rate), stretch_factor=1.0 / ratio,
                                  high_quality=True)[0]
    return Audio(_fit(out, round(len(audio) * ratio)), audio.sample_rate)


def place(cues: Sequence[Cue], clips: Sequence[Audio | None], rate: int,
          config: TimingConfig = TimingConfig()) -> tuple[Audio, list[CueTiming], list[Cue], list[str]]:
    """Fit trimmed `clips` (one per cue, None for a cue with nothing to say) to `cues`.

    Returns the audio, the per-cue report, the adjusted cues and notes for the user.
    """
    clips = [None if c is None or not len(c) else c.resample(rate) for c in clips]
    notes: list[str] = []
    mode = config.mode
    if mode == "smart_natural" and _overlapping(cues):
        notes.append("smart_natural: the subtitles have overlapping cues, so they were placed with "
                     "pad_with_silence instead")
        mode = "pad_with_silence"
    placer = {"pad_with_silence": _pad, "stretch_to_fit": _stretch, "smart_natural": _smart,
              "concatenate": _concatenate}[mode]
    placed = placer(cues, clips, config)
    # what reading the file did to a cue (an end before its start) is told and reported
    notes.extend(f"subtitle {c.index}: {c.note}" for c in cues if c.note)
    placed = [(attrs.evolve(t, note=_join(c.note, t.note)) if c.note else t, a)
              for c, (t, a) in zip(cues, placed, strict=True)]
    if mode != config.mode:
        placed = [(attrs.evolve(t, note=_join(t.note, "overlapping cues: padded instead of smart_natural")), a)
                  for t, a in placed]
    report = [t for t, _ in placed]
    total = max([c.end for c in cues] * (mode != "concatenate") + [t.end for t in report] + [0.0])
    out = np.zeros(round(total * rate) + 1, np.float32)
    lead = config.keep_ms / 1000
    for timing, clip in placed:
        if clip is not None and len(clip):
            # The few milliseconds kept before the speech go just before its start, so the
            # speech itself begins on the cue.
            at = round(max(0.0, timing.start - lead) * rate)
            out[at : at + len(clip)] += clip.samples[: len(out) - at]
    np.clip(out, -1.0, 1.0, out=out)
    adjusted = [attrs.evolve(c, start=t.start, end=max(t.end, t.start)) for c, t in zip(cues, report, strict=True)]
    return Audio(out[: round(total * rate)], rate), report, adjusted, notes


# -- modes ---------------------------------------------------------------------------------
Placed = list[tuple[CueTiming, "Audio | None"]]


def _pad(cues: Sequence[Cue], clips: Sequence[Audio | None], config: TimingConfig) -> Placed:
    out: Placed = []
    for n, (cue, clip) in enumerate(zip(cues, clips, strict=True)):
        if clip is None:
            out.append((_empty(cue), None))
            continue
        d = clip.duration
        note = ""
        following = cues[n + 1].start if n + 1 < len(cues) else None
        if following is not None and cue.start + d > following + 1e-3:
            note = f"speech runs {cue.start + d - following:.2f} s into cue {cue.index + 1}"
        action = "padded" if d <= cue.duration + 1e-3 else "overran"
        out.append((CueTiming(cue.index, cue.text, cue.start, cue.end, cue.start, cue.start + d, d, action,
                              note=note), clip))
    return out


def _stretch(cues: Sequence[Cue], clips: Sequence[Audio | None], config: TimingConfig) -> Placed:
    out: Placed = []
    lo, hi = _RATIO_LIMITS
    for cue, clip in zip(cues, clips, strict=True):
        if clip is None:
            out.append((_empty(cue), None))
            continue
        d = clip.duration
        if cue.duration <= 0:
            out.append((CueTiming(cue.index, cue.text, cue.start, cue.end, cue.start, cue.start + d, d, "overran",
                                  note="zero-length cue: not stretched"), clip))
            continue
        wanted = cue.duration / d
        ratio = min(max(wanted, lo), hi)
        stretched = Audio(_fit(time_stretch(clip, ratio).samples, round(cue.duration * clip.sample_rate)),
                          clip.sample_rate)
        note = "" if ratio == wanted else f"a stretch of {wanted:.2f} is beyond {lo}..{hi}: {ratio:.2f} used"
        action = "truncated" if ratio > wanted else "stretched"
        out.append((CueTiming(cue.index, cue.text, cue.start, cue.end, cue.start, cue.end, d, action, ratio,
                              note=note), stretched))
    return out


def _smart(cues: Sequence[Cue], clips: Sequence[Audio | None], config: TimingConfig) -> Placed:
    out: Placed = []
    cursor = 0.0  # where the previous clip ended
    for n, (cue, clip) in enumerate(zip(cues, clips, strict=True)):
        start = max(cue.start, cursor)
        shift = start - cue.start
        if clip is None:
            out.append((attrs.evolve(_empty(cue), start=start, end=start, shift=shift), None))
            continue
        d = clip.duration
        following = cues[n + 1].start if n + 1 < len(cues) else None
        own = cue.end - start
        if following is None:
            action, final, ratio = ("fits" if d <= own + 1e-3 else "overran"), clip, 1.0
        elif d <= own + 1e-3:
            action, final, ratio = "fits", clip, 1.0
            if config.max_ratio > 1.0 and own > 0:
                ratio = min(config.max_ratio, own / d)
                final = time_stretch(clip, ratio) if ratio > 1.0 + 1e-3 else clip
                action = "stretched" if final is not clip else "fits"
                ratio = ratio if final is not clip else 1.0
        elif d <= following - start + 1e-3:
            action, final, ratio = "used_gap", clip, 1.0
        elif d <= following + config.tolerance - start + 1e-3:
            action, final, ratio = "shifted_next", clip, 1.0
        else:
            window = max(following + config.tolerance - start, 0.0)
            ratio = window / d
            if ratio >= config.min_ratio:
                action, final = "stretched", time_stretch(clip, ratio)
            else:
                ratio = config.min_ratio
                action = "truncated"
                final = _fade_out(Audio(_fit(time_stretch(clip, ratio).samples, round(window * clip.sample_rate)),
                                        clip.sample_rate))
        end = start + final.duration
        late = following is not None and end > following + 1e-3
        note = f"cue {cue.index + 1} starts {end - following:.2f} s late" if late else ""
        out.append((CueTiming(cue.index, cue.text, cue.start, cue.end, start, end, d, action, round(ratio, 4),
                              round(shift, 6), note), final))
        cursor = end
    return out


def _concatenate(cues: Sequence[Cue], clips: Sequence[Audio | None], config: TimingConfig) -> Placed:
    out: Placed = []
    cursor = 0.0
    for cue, clip in zip(cues, clips, strict=True):
        if clip is None:
            out.append((attrs.evolve(_empty(cue), start=cursor, end=cursor, shift=cursor - cue.start), None))
            continue
        if out and any(c is not None for _, c in out):
            cursor += config.gap
        end = cursor + clip.duration
        out.append((CueTiming(cue.index, cue.text, cue.start, cue.end, cursor, end, clip.duration, "concatenated",
                              shift=round(cursor - cue.start, 6)), clip))
        cursor = end
    return out


# -- helpers -------------------------------------------------------------------------------
def _empty(cue: Cue) -> CueTiming:
    return CueTiming(cue.index, cue.text, cue.start, cue.end, cue.start, cue.start, 0.0, "empty",
                     note="nothing to speak")


def _overlapping(cues: Sequence[Cue]) -> bool:
    return any(b.start < a.end - 1e-3 for a, b in zip(cues, cues[1:], strict=False))


def _fit(samples: np.ndarray, length: int) -> np.ndarray:
    """Exactly `length` samples: cut, or padded with silence."""
    samples = np.asarray(samples, np.float32)
    if len(samples) >= length:
        return samples[:length]
    return np.concatenate([samples, np.zeros(length - len(samples), np.float32)])


def _fade_out(audio: Audio, ms: float = 20.0) -> Audio:
    n = min(len(audio), round(ms * audio.sample_rate / 1000))
    samples = audio.samples.copy()
    if n:
        samples[-n:] *= np.linspace(1.0, 0.0, n, dtype=np.float32)
    return Audio(samples, audio.sample_rate)


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)
