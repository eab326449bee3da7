"""What can be told from a take's samples alone: silence, clipping, a cut-off end, and a
duration far outside the time its text plausibly takes to say.

Thresholds are set on Piper's bundled voice (peaks normalized to 1.0, about 15 characters a
second, each segment ending in silence) and kept wide, so a sound take is never flagged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from polyvox.audio import Audio

#: Peak below which a take counts as silent (-40 dBFS).
SILENT_PEAK = 0.01
#: A run of this many samples at the take's peak (>= 0.99) is clipping; this many such samples flag it.
CLIP_RUN = 3
CLIP_SAMPLES = 8
#: Frame length for the energy checks, and how loud (against the 90th percentile frame) the
#: last frames may be before the take counts as cut off mid-sound.
FRAME_SECONDS = 0.02
CUT_OFF_RATIO = 0.15
#: Plausible speaking rate, characters a second, and the slack allowed either way.
CHARS_PER_SECOND = 15.0
TOO_SHORT = 0.4
TOO_LONG = 2.5
LONG_SLACK_SECONDS = 2.0


#: A kana, kanji or hangul letter is a mora or two, about as long as 2.5 Latin letters (about
#: six of them a second against fifteen).
SYLLABIC_WEIGHT = 2.5
_SYLLABIC = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def spoken_length(words: Sequence[str]) -> int:
    """What `words` weigh in `flags`' rate: their letters and the spaces between them, a
    Japanese, Chinese or Korean letter as `SYLLABIC_WEIGHT` of them."""
    text = "".join(words)
    syllabic = len(_SYLLABIC.findall(text))
    return round(len(text) - syllabic + SYLLABIC_WEIGHT * syllabic) + len(words)


def flags(audio: Audio, spoken_chars: int) -> list[str]:
    """The audio flags of a take whose text has `spoken_chars` characters (numbers spelled out)."""
    x = np.asarray(audio.samples, dtype=np.float32)
    if x.size == 0 or float(np.max(np.abs(x))) < SILENT_PEAK:
        return ["silent"]
    out = []
    if clipped_samples(x) >= CLIP_SAMPLES:
        out.append("clipped")
    if cut_off(x, audio.sample_rate):
        out.append("cut-off")
    expected = spoken_chars / CHARS_PER_SECOND
    if spoken_chars >= 20 and audio.duration < TOO_SHORT * expected:
        out.append("too-short")
    if audio.duration > TOO_LONG * expected + LONG_SLACK_SECONDS:
        out.append("too-long")
    return out


def clipped_samples(x: np.ndarray) -> int:
    """Samples in runs of at least `CLIP_RUN` at full scale (|x| >= 0.99): the flat tops of clipping."""
    hot = np.abs(x) >= 0.99
    if not hot.any():
        return 0
    edges = np.diff(np.concatenate(([0], hot.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    runs = ends - starts
    return int(runs[runs >= CLIP_RUN].sum())


def cut_off(x: np.ndarray, sample_rate: int) -> bool:
    """Whether the take stops mid-sound: its last two frames are as loud as speech."""
    frame = max(1, round(FRAME_SECONDS * sample_rate))
    count = len(x) // frame
    if count < 4:
        return False
    energy = np.sqrt(np.mean(x[len(x) - count * frame:].reshape(count, frame) ** 2, axis=1))
    loud = float(np.percentile(energy, 90))
    return bool(loud > 0 and np.all(energy[-2:] > CUT_OFF_RATIO * loud))
