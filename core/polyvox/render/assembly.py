"""Joining segment audio into one stream: pauses, silence after sentences, crossfades after
clause splits. Render and stream both go through `Assembler`, so they give the same audio."""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import numpy as np

from polyvox.audio import Audio
from polyvox.errors import ParameterError
from polyvox.names import JOIN_METHODS


@attrs.frozen
class JoinConfig:
    """How chunks of one long text are joined.

    ``auto``: `sentence_gap_ms` of silence after a sentence end, a `crossfade_ms` crossfade
    after a clause or word split. ``silence``/``crossfade``: always that. ``none``: butt-join.
    """

    method: str = attrs.field(default="auto")
    sentence_gap_ms: float = attrs.field(default=150.0, converter=float)
    crossfade_ms: float = attrs.field(default=20.0, converter=float)

    @sentence_gap_ms.validator
    @crossfade_ms.validator
    def _milliseconds(self, attribute: attrs.Attribute, value: float) -> None:
        if not 0 <= value <= 10_000:
            raise ParameterError(f"{attribute.name}={value!r} is out of range: expected 0..10000 ms")

    @method.validator
    def _check(self, attribute: attrs.Attribute, value: str) -> None:
        if value not in JOIN_METHODS:
            raise ParameterError(f"join method {value!r} is not known: use one of {', '.join(JOIN_METHODS)}")

    def action(self, join: str) -> str:
        """'silence', 'crossfade' or 'none' for a segment joined to its predecessor by `join`."""
        if join == "none" or self.method == "none":
            return "none"
        if self.method == "auto":
            return "silence" if join == "sentence" else "crossfade"
        return self.method


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
        out = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        if len(out):
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
