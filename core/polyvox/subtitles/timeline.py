"""The subtitle timeline: fitted clips (see `timing`) mixed into one output that is handed
on as soon as no later clip can reach back into it, so memory does not grow with the length
of the film; `place` does the same for clips that are all there at once. Where cues overlap,
their sum is limited to the louder one's peak (two voices at once clipped at full scale)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import attrs
import numpy as np

from polyvox.audio import Audio
from polyvox.mastering.loudness import limit
from polyvox.subtitles.srt import Cue
from polyvox.subtitles.timing import CueTiming, TimingConfig, fit


class Timeline:
    """Fitted clips mixed into one output that is handed on as soon as no later clip can
    reach back into it, so memory does not grow with the length of the film."""

    def __init__(self, cues: Sequence[Cue], rate: int, config: TimingConfig):
        self.cues = list(cues)
        self.rate = rate
        self.concatenate = config.mode == "concatenate"
        self.overlap = config.crossfade_ms / 1000 if config.gap == 0 else 0.0
        # The few milliseconds kept before the speech go just before its start, so the
        # speech itself begins on the cue.
        self.lead = config.keep_ms / 1000
        self.report: list[CueTiming] = []
        # earliest[n]: the earliest start of cue n or any later one (cues may come unsorted)
        self._earliest = [float("inf")] * (len(self.cues) + 1)
        for n in range(len(self.cues) - 1, -1, -1):
            self._earliest[n] = min(self.cues[n].start, self._earliest[n + 1])
        self._buffer = np.zeros(0, np.float32)
        self._offset = 0  # output sample index of _buffer[0]

    def add(self, timing: CueTiming, clip: Audio | None) -> Iterator[Audio]:
        """Mix one cue's fitted clip in; yields the output that is now final."""
        self.report.append(timing)
        if clip is not None and len(clip):
            at = round(max(0.0, timing.start - self.lead) * self.rate)
            self._mix(at, clip.samples)
        # no later clip is placed before its cue's start (nor, when concatenating, earlier than
        # this one's start less the crossfade)
        safe = timing.start - self.overlap if self.concatenate else self._earliest[len(self.report)]
        if safe != float("inf"):
            yield from self._release(round(max(0.0, safe - self.lead) * self.rate))

    def finish(self) -> Iterator[Audio]:
        """The rest of the output, up to the last cue's end or the last clip's, whichever is later."""
        ends = [t.end for t in self.report] + [0.0]
        if not self.concatenate:
            ends += [c.end for c in self.cues]
        total = round(max(ends) * self.rate)
        if total > self._offset + len(self._buffer):
            self._buffer = np.concatenate(
                [self._buffer, np.zeros(total - self._offset - len(self._buffer), np.float32)])
        yield from self._release(total)
        self._buffer = np.zeros(0, np.float32)

    def adjusted(self) -> list[Cue]:
        """The cues at the times their speech now has (for the adjusted SRT). A cue with
        nothing spoken (``[DOOR SLAMS]``, ``♪♪``) keeps its own times, so the file still shows
        it, save when concatenating: then it has no time of its own, and sits where it falls."""
        cues = []
        for cue, timing in zip(self.cues, self.report, strict=True):
            if timing.action == "empty" and not self.concatenate:
                cues.append(cue)
            else:
                cues.append(attrs.evolve(cue, start=timing.start, end=max(timing.end, timing.start)))
        return cues

    def _mix(self, at: int, samples: np.ndarray) -> None:
        if at < self._offset:  # cannot happen by the rule in `add`; never write into the past
            samples, at = samples[self._offset - at :], self._offset
        end = at + len(samples) - self._offset
        if end > len(self._buffer):
            self._buffer = np.concatenate([self._buffer, np.zeros(end - len(self._buffer), np.float32)])
        region = self._buffer[at - self._offset : end]
        if np.any(region) and len(samples):  # overlapping cues: two lines at once peak over either alone
            ceiling = max(float(np.max(np.abs(region))), float(np.max(np.abs(samples))))
            region[:] = limit(region + samples, ceiling, self.rate)
        else:
            region += samples

    def _release(self, upto: int) -> Iterator[Audio]:
        n = min(max(0, upto - self._offset), len(self._buffer))
        if n:
            out = np.clip(self._buffer[:n], -1.0, 1.0)
            self._buffer = self._buffer[n:].copy()
            self._offset += n
            yield Audio(out, self.rate)


def place(cues: Sequence[Cue], clips: Sequence[Audio | None], rate: int,
          config: TimingConfig = TimingConfig()) -> tuple[Audio, list[CueTiming], list[Cue], list[str]]:
    """Fit trimmed `clips` (one per cue, None for a cue with nothing to say) to `cues`, all at
    once. Returns the audio, the per-cue report, the adjusted cues and notes for the user."""
    notes: list[str] = []
    timeline = Timeline(cues, rate, config)
    chunks = [chunk for timing, clip in fit(cues, clips, rate, config, notes) for chunk in timeline.add(timing, clip)]
    chunks += list(timeline.finish())
    return Audio.concatenate(chunks, rate), timeline.report, timeline.adjusted(), notes
