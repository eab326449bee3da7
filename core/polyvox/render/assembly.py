"""Joining segment audio into one stream: pauses, silence after sentences, crossfades after
clause splits. Render and stream both go through `Assembler`, so they give the same audio."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from polyvox.audio import Audio
from polyvox.text.joins import JoinConfig

__all__ = ["Assembler", "JoinConfig"]  # JoinConfig: declared with the chunks it joins (polyvox.text.joins)


class Assembler:
    """Turns (audio, join) pieces into output chunks at one sample rate, holding back only
    the few milliseconds a crossfade needs."""

    def __init__(self, sample_rate: int, config: JoinConfig = JoinConfig(), hold_ms: float | None = None):
        self.sample_rate = sample_rate
        self.config = config
        self._tail = np.zeros(0, np.float32)  # held back for a possible crossfade
        # as much as the longest crossfade a later piece may ask for (`add`'s own config)
        self._hold = round(max(config.crossfade_ms, hold_ms or 0.0) * sample_rate / 1000)
        self.position = 0  # samples emitted so far plus held back
        self.start = 0.0  # where the last piece added starts in the output, in seconds

    def add(self, audio: Audio, join: str = "none", config: JoinConfig | None = None) -> Iterator[Audio]:
        """Append one piece, joined as `config` (default: the assembler's) says; yields
        whatever is final."""
        config = config or self.config
        samples = audio.resample(self.sample_rate).samples
        action = config.action(join) if self.position else "none"
        pieces: list[np.ndarray] = []
        if action == "silence":
            gap = np.zeros(round(config.sentence_gap_ms * self.sample_rate / 1000), np.float32)
            pieces += [self._tail, gap]
            self.position += len(gap)
            self._tail = np.zeros(0, np.float32)
            self.start = self.position / self.sample_rate
        elif action == "crossfade" and len(self._tail) and len(samples):
            n = min(len(self._tail), len(samples), round(config.crossfade_ms * self.sample_rate / 1000))
            fade = np.linspace(0.0, 1.0, n, dtype=np.float32)
            mixed = self._tail[-n:] * (1 - fade) + samples[:n] * fade
            pieces += [self._tail[:-n], mixed]
            self.position -= n
            self.start = self.position / self.sample_rate
            self.position += n
            samples = samples[n:]
            self._tail = np.zeros(0, np.float32)
        else:
            pieces.append(self._tail)
            self._tail = np.zeros(0, np.float32)
            self.start = self.position / self.sample_rate
        self.position += len(samples)
        keep = min(self._hold, len(samples))
        pieces.append(samples[: len(samples) - keep])
        self._tail = samples[len(samples) - keep :].copy()
        pieces = [p for p in pieces if len(p)]
        out = pieces[0] if len(pieces) == 1 else np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        if len(out):  # one piece (a join with nothing held back or put between) is passed on as it is
            yield Audio(out, self.sample_rate)

    def add_silence(self, seconds: float) -> Iterator[Audio]:
        yield from self.add(Audio.silence(seconds, self.sample_rate), "none")

    def finish(self) -> Iterator[Audio]:
        if len(self._tail):
            yield Audio(self._tail, self.sample_rate)
            self._tail = np.zeros(0, np.float32)

    @property
    def seconds(self) -> float:
        """Where the next piece will start, in seconds of output."""
        return self.position / self.sample_rate
