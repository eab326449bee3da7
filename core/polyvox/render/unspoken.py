"""What to say when no installed engine speaks a render's language: what is there (language
packs included) and what to install."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from polyvox.errors import PolyvoxError
from polyvox.plugin.spec import EngineSpec
from polyvox.text import languages


def no_engine_message(language: str, specs: Mapping[str, EngineSpec],
                      model_for: Callable[[str, str], str | None]) -> str:
    """What to say when no engine speaks `language`: what is there, including languages that
    language packs add (found by asking `map_language` for every known code), and what to install."""
    declared = sorted({code for spec in specs.values() for code in spec.languages})
    added = []
    for code in languages.known_codes():
        for engine in specs:
            if code not in specs[engine].languages and _maps(model_for, engine, code):
                added.append(f"{code} ({engine})")
    speak = ", ".join(declared) or "nothing (no engine is loaded; POLYVOX_PLUGINS may leave Piper out)"
    packs = f"; language packs add: {', '.join(added)}" if added else ""
    piper = ("; or give Piper a voice for it: a NAME.onnx with its NAME.onnx.json in a folder named by "
             "POLYVOX_PIPER_VOICES (see docs/piper.md)") if "piper" in specs else ""
    return (f"no installed engine speaks {language!r}; installed engines speak: {speak}{packs}. Install an "
            f"engine or language pack that speaks it with `polyvox install NAME` (pip install polyvox-NAME){piper}")


def _maps(model_for: Callable[[str, str], str | None], engine: str, code: str) -> bool:
    try:
        return bool(model_for(engine, code))
    except PolyvoxError:  # a plugin that fails here must not hide the real message
        return False
