"""How the chunks of one long text are joined: `JoinConfig`.

The chunker records how each chunk joins the one before it (`Segment.join`: after a sentence,
a clause or a word); a `JoinConfig` says what goes between them -- silence, a crossfade or
nothing. The render's assembler (polyvox.render.assembly) applies it; an engine may declare
its own (`EngineSpec.join`). Light on purpose: the plugin contract imports it.
"""

from __future__ import annotations

import attrs

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
