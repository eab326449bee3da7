"""Word times estimated from the audio alone, for engines that give none: a simple voice
activity detector on RMS frames finds the speech and the silent gaps in it, and the words are
laid over the speech in proportion to their length, each boundary moved to a silent gap when
one lies near where it is expected. Labelled ``estimated``: good at pauses, rough inside runs
of words said without a gap."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np

from polyvox.words.align import weight
from polyvox.words.timing import WordTime

FRAME_S = 0.01
#: Frames quieter than this (dB below the clip's loudest frame) are silence.
SILENCE_DB = -35.0
#: A gap between words is at least this long.
MIN_GAP_S = 0.06


def voiced(samples: np.ndarray, rate: int) -> np.ndarray:
    """One bool per 10 ms frame: whether it is louder than `SILENCE_DB` below the loudest."""
    hop = max(1, round(FRAME_S * rate))
    n = len(samples) // hop
    if not n:
        return np.zeros(0, bool)
    frames = np.asarray(samples[: n * hop]).reshape(n, hop)
    # each frame's sum of squares, without a copy (float32 sums: a 10 ms frame's is exact to
    # about 1e-5, far finer than the threshold needs)
    rms = np.sqrt(np.einsum("ij,ij->i", frames, frames) / hop)
    top = float(rms.max())
    return rms > max(top * 10 ** (SILENCE_DB / 20), 1e-5) if top > 0 else np.zeros(n, bool)


def onsets(samples: np.ndarray, rate: int) -> list[float]:
    """Seconds where the audio's energy rises out of a silence of at least `MIN_GAP_S` (and its start)."""
    loud = voiced(samples, rate)
    out, quiet = [], MIN_GAP_S / FRAME_S  # the clip's start counts as after silence
    for i, on in enumerate(loud):
        if on and quiet >= MIN_GAP_S / FRAME_S:
            out.append(i * FRAME_S)
        quiet = 0 if on else quiet + 1
    return out


def estimate(words: Sequence[str], samples: np.ndarray, rate: int) -> tuple[WordTime, ...]:
    """`words` laid over the speech in `samples` (see the module's docstring)."""
    loud = voiced(samples, rate)
    where = np.flatnonzero(loud)
    if not len(words):
        return ()
    if not len(where):
        end = len(samples) / rate
        return tuple(WordTime(w, 0.0, end, "estimated") for w in words)
    first, last = int(where[0]), int(where[-1]) + 1
    gaps = _gaps(loud, first, last)  # (start frame, end frame) of each silence inside the speech
    speech = np.cumsum(loud[first:last])  # voiced frames so far: a clock that stops in silences
    total = float(speech[-1])
    weights = np.array([weight(w) for w in words])
    expected = np.cumsum(weights)[:-1] / weights.sum() * total  # voiced frames before each boundary
    bounds: list[tuple[int, int]] = []
    used = -1
    reach = max(10, 0.5 * total / len(words))
    gap_starts = [a for a, _ in gaps]
    for frame in (first + np.searchsorted(speech, expected)).tolist():
        best = _nearest(gap_starts, frame, used + 1, reach)  # the nearest unused gap within half a word
        floor = bounds[-1][1] if bounds else first
        if best is not None:
            used = best
            bounds.append(gaps[best])
        else:
            bounds.append((max(frame, floor), max(frame, floor)))
    starts = [first] + [b for _, b in bounds]
    ends = [a for a, _ in bounds] + [last]
    out = []
    for w, s, e in zip(words, starts, ends, strict=True):
        e = max(s, e)
        out.append(WordTime(w, s * FRAME_S, e * FRAME_S, "estimated"))
    return tuple(out)


def _nearest(starts: list[int], frame: int, lo: int, reach: float) -> int | None:
    """The index from `lo` on of the start in `starts` (ascending) nearest `frame` (the earlier
    of two as near), if it is within `reach`."""
    after = bisect.bisect_right(starts, frame, lo)  # the first from lo that starts past frame
    near = [g for g in (after - 1, after) if lo <= g < len(starts)]
    if not near:
        return None
    best = min(near, key=lambda g: abs(starts[g] - frame))
    return best if abs(starts[best] - frame) <= reach else None


def _gaps(loud: np.ndarray, first: int, last: int) -> list[tuple[int, int]]:
    """(first quiet frame, next loud frame) of each silence of `MIN_GAP_S` or more in first..last."""
    edges = np.diff(loud[first:last].astype(np.int8))
    starts, ends = np.flatnonzero(edges == -1) + 1 + first, np.flatnonzero(edges == 1) + 1 + first
    # the span starts and ends loud, so each silence that starts also ends
    keep = (ends - starts) * FRAME_S >= MIN_GAP_S - 1e-9
    return list(zip(starts[keep].tolist(), ends[keep].tolist(), strict=True))


#: A silence this long inside speech is a pause between words (a stop consonant's is shorter).
PAUSE_S = 0.1


def settled(words: Sequence[WordTime], samples: np.ndarray, rate: int, before: float = 0.05,
            after: float = 0.3) -> tuple[WordTime, ...]:
    """Heard `words` settled on the audio's pauses: a recognizer's word times are rough (whisper
    tiny.en's starts run some 60-80 ms late, more after a pause), but a pause of `PAUSE_S` or more
    is between two words. The first word starts where the speech does; a word heard starting
    from `before` s ahead of a pause to `after` s past its end starts where the pause ends (the
    nearest such word, each pause once, in order), and the word before it ends where the pause
    starts. A word inside a run of speech between two such anchors starts halfway between where
    it was heard and where its letters put it in that run (`_between`): two rough guesses with
    errors of their own, whose mean is closer than either."""
    if not words:
        return ()
    loud = voiced(samples, rate)
    where = np.flatnonzero(loud)
    if not len(where):
        return tuple(words)
    first, last = int(where[0]), int(where[-1]) + 1
    pauses = [(a * FRAME_S, b * FRAME_S) for a, b in _gaps(loud, first, last) if (b - a) * FRAME_S >= PAUSE_S - 1e-9]
    starts = [w.start for w in words]
    ends = [w.end for w in words]
    starts[0] = first * FRAME_S
    anchors, used = [0], -1
    for i in range(1, len(words)):
        near = [g for g, (a, b) in enumerate(pauses) if g > used and a - before <= starts[i] <= b + after]
        if near:
            used = min(near, key=lambda g: abs(pauses[g][1] - starts[i]))
            ends[i - 1], starts[i] = pauses[used]
            anchors.append(i)
    for i, j in zip(anchors, [*anchors[1:], len(words)], strict=True):  # each run of speech
        run_end = ends[j - 1] if j < len(words) else last * FRAME_S
        starts[i:j] = _between([w.word for w in words[i:j]], starts[i:j], run_end)
    out: list[WordTime] = []
    for w, start, end in zip(words, starts, ends, strict=True):
        start = max(start, out[-1].start if out else 0.0)
        if out and out[-1].end > start:
            out[-1] = WordTime(out[-1].word, out[-1].start, start, out[-1].source)
        out.append(WordTime(w.word, start, max(start, end), w.source))
    return tuple(out)


def _between(words: Sequence[str], heard: Sequence[float], end: float) -> list[float]:
    """The starts of a run of `words` said without a pause, from `heard[0]` (settled) to `end`:
    each later word's halfway between its `heard` start and its share of the run by `weight`.
    On 30 sentences of Piper's, whisper tiny.en's starts (settled) were a median 50 ms (p95
    161 ms) from Piper's own alignment, the shares alone 41 / 180 ms, their mean 30 / 127 ms
    (every set of sentences better, any weight from 0.2 to 0.5 as good: docs/benchmarks.md)."""
    weights = np.array([weight(w) for w in words])
    share = heard[0] + (end - heard[0]) * np.concatenate([[0.0], np.cumsum(weights)[:-1]]) / weights.sum()
    return [heard[0]] + [0.5 * (h + float(s)) for h, s in zip(heard[1:], share[1:], strict=True)]
