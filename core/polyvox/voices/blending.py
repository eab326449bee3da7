"""Voice blends: ``jf_alpha:0.7+jm_kumo:0.3``, a weighted mix of an engine's voices, for engines
whose voices are vectors that mix (`Capabilities.blends`, Kokoro's style tables).

A blend is a voice id like any other: accepted wherever a voice name is (``--narrator``, an
alias line, the server's ``voice``, ``--model``), resolved here to the engine whose voices hold
every part, and handed to that engine as its model id in one canonical spelling (parts sorted,
weights scaled to add up to 1), so the same mix is the same cache entry however it is written.
The engine reads the weights back with `parse_blend`. Bad blends are one-line `VoiceError`s.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from polyvox.errors import VoiceError

_PART = re.compile(r"^\s*([A-Za-z0-9][\w.-]*)\s*(?::\s*(\S+?)\s*)?$")


def is_blend(name: str) -> bool:
    """Whether `name` is written as a blend (a ``+`` or a ``:weight``), valid or not."""
    return isinstance(name, str) and ("+" in name or ":" in name) and "/" not in name and "\\" not in name


def tag_blend(character: str) -> bool:
    """Whether a script's character is a blend written in its tag (``[jf_alpha:0.7+jm_kumo:0.3]``,
    `polyvox.text.tags`): a blend with its weights, as no character name of a tag has a ``:``."""
    return is_blend(character) and ":" in character and "+" in character


def parse_blend(name: str) -> dict[str, float]:
    """The parts of a blend and their weights, as written (a bare part weighs 1; a part named
    twice adds up). A plain voice id is one part of weight 1. `VoiceError` when it is not a
    blend of voice names with finite weights of 0 or more that add up to more than 0."""
    parts: dict[str, float] = {}
    for piece in name.split("+"):
        found = _PART.match(piece)
        if not found:
            raise VoiceError(f"voice {name!r} is not a blend: write parts as VOICE:WEIGHT joined by '+', "
                             "e.g. jf_alpha:0.7+jm_kumo:0.3")
        voice, text = found[1], found[2]
        try:
            weight = 1.0 if text is None else float(text)
        except ValueError:
            raise VoiceError(f"voice {name!r}: weight {text!r} of {voice!r} is not a number") from None
        if not math.isfinite(weight) or weight < 0:
            raise VoiceError(f"voice {name!r}: weight {text!r} of {voice!r} is not allowed: weights are 0 or more")
        parts[voice] = parts.get(voice, 0.0) + weight
    if not sum(parts.values()) > 0:
        raise VoiceError(f"voice {name!r}: the weights add up to 0: give at least one part a positive weight")
    return parts


def canonical(parts: Mapping[str, float]) -> str:
    """The one spelling of a blend: parts with weight, sorted, weights scaled to add up to 1
    (four significant digits); a single part is just its voice id."""
    total = sum(parts.values())
    kept = {v: w / total for v, w in sorted(parts.items()) if w > 0}
    if len(kept) == 1:
        return next(iter(kept))
    return "+".join(f"{v}:{w:.4g}" for v, w in kept.items())


def model_id(name: str) -> str:
    """`name` as a model id: a blend in its canonical spelling, anything else as it is."""
    return canonical(parse_blend(name)) if is_blend(name) else name


def resolve_voice(name: str, specs: Iterable[Any]) -> tuple[str, str] | None:
    """(engine, model id) for a voice id or a blend among `specs` (in rank order); None when no
    engine has a voice of that name and it is not written as a blend. A blend goes to the first
    engine that blends and has every part (among its voices or its fetchable models)."""
    specs = list(specs)
    if not is_blend(name):
        return next(((s.name, name) for s in specs if name in s.voices), None)
    parts = parse_blend(name)
    blending = [s for s in specs if s.capabilities.blends]
    if not blending:
        raise VoiceError(f"voice {name!r} is a blend, and no installed engine blends voices (Kokoro does: "
                         "`polyvox install kokoro`)")
    for spec in blending:
        if all(p in spec.voices or p in spec.models for p in parts):
            return spec.name, canonical(parts)
    spec = blending[0]
    unknown = next(p for p in parts if p not in spec.voices and p not in spec.models)
    raise VoiceError(f"voice {name!r}: {spec.name!r} has no voice {unknown!r}; its voices: "
                     f"{', '.join(spec.voices) or 'none'}")


class EngineVoices(Mapping[str, str]):
    """Voice id -> engine for every engine's built-in voices, and blends: the lookup the voice
    library gives alias targets (a bad blend raises its `VoiceError` on lookup)."""

    def __init__(self, specs: Iterable[Any]):
        self.specs = list(specs)
        self._plain = {v: s.name for s in reversed(self.specs) for v in s.voices}

    def __getitem__(self, name: str) -> str:
        if name in self._plain:
            return self._plain[name]
        found = resolve_voice(name, self.specs) if is_blend(name) else None
        if found is None:
            raise KeyError(name)
        return found[0]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._plain or is_blend(name))

    def __iter__(self) -> Iterator[str]:
        return iter(self._plain)

    def __len__(self) -> int:
        return len(self._plain)
