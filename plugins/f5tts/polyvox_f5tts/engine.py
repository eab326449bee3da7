"""The `f5tts` engine: the hooks, written as one `polyvox.Engine` subclass over the modules that
do the work (registry, weights, loader, reference, sampling)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

import polyvox
from polyvox import Audio, Capabilities, EngineSpec, Files, JoinConfig, ModelWeights, Request, Voice
from polyvox.errors import PluginError

from .params import CROSSFADE_SECONDS, PARAMS, TYPICAL_MAX_CHARS
from .reference import SAMPLE_RATE
from .registry import DEFAULT_MODEL, Registry
from .weights import Locator


@attrs.frozen
class Settings:
    """Where models come from; read again whenever a kernel starts (so environment changes apply)."""

    registry: Registry
    locator: Locator


class F5TTS(polyvox.Engine):
    """F5-TTS through its upstream package, with named models and language finetunes from a registry.

    Options (each else from the environment, else from the config file):
    `weights_dirs` (``POLYVOX_F5TTS_DIR``), `vocoder_dir` (``POLYVOX_F5TTS_VOCODER``), `config`
    (``POLYVOX_F5TTS_CONFIG``, the TOML file with user models and settings).
    """

    name = "f5tts"

    def __init__(self, weights_dirs: Sequence[str | os.PathLike] | str | None = None,
                 vocoder_dir: str | os.PathLike | None = None, config: str | os.PathLike | None = None):
        self.options = (weights_dirs, vocoder_dir, Path(config).expanduser() if config else None)
        self._settings: Settings | None = None

    def reload(self) -> Settings:
        """Read the registry and folders again (the kernel does this through `spec` when it starts)."""
        weights_dirs, vocoder_dir, config = self.options
        registry = Registry.load(config)
        self._settings = Settings(registry, Locator.from_settings(registry, weights_dirs, vocoder_dir))
        return self._settings

    @property
    def settings(self) -> Settings:
        return self._settings or self.reload()

    # -- declaration ---------------------------------------------------------------------
    def spec(self) -> EngineSpec:
        registry = self.reload().registry
        # Chunks of upstream's size, joined as upstream joins its passes: crossfaded, also at sentence ends.
        return EngineSpec(
            name=self.name, sample_rate=SAMPLE_RATE, languages=registry.languages(), default_model=DEFAULT_MODEL,
            models=registry.names(), params=PARAMS, max_chars=TYPICAL_MAX_CHARS,
            join=JoinConfig(method="crossfade", crossfade_ms=CROSSFADE_SECONDS * 1000),
            capabilities=Capabilities(needs_reference_audio=True, needs_reference_text=True, thread_safe=False,
                                      batch=True, seeded=True),
            priority=20,
            description="F5-TTS (flow matching, DiT): voice cloning from reference audio + transcript; "
                        "language finetunes",
        )

    def language_model(self, language: str) -> str | None:
        """The registry's model for `language`; None for a language no model speaks (never English)."""
        entry = self.settings.registry.for_language(language)
        return entry.name if entry is not None else None

    def files(self, model: str) -> list[str]:
        return [str(p) for p in self.settings.locator.files(model)]

    def weights(self, model: str) -> ModelWeights | None:
        return self.settings.locator.declare(model)

    # -- models --------------------------------------------------------------------------
    def load(self, model: str, device: str, files: Files | None = None) -> Any:
        from . import loader

        locator = self.settings.locator
        return loader.load(locator.find(model) if files is None else locator.from_files(model, files), device)

    def size(self, model: Any) -> int | None:
        from . import loader

        return loader.size(model)

    # -- voices and synthesis -------------------------------------------------------------
    def prepare(self, model: Any, voice: Voice, params: dict[str, Any]) -> Any:
        from . import reference

        return reference.prepare(_loaded(model).model, voice, float(params.get("target_rms", 0.1)))

    def synthesize(self, model: Any, request: Request, conditioning: Any) -> Audio:
        (audio,) = self.synthesize_many(model, [request], conditioning)
        return audio

    def synthesize_many(self, model: Any, requests: list[Request], conditioning: Any) -> list[Audio]:
        from . import sampling

        if conditioning is None:
            raise PluginError("f5tts was called without voice conditioning (prepare_voice did not run)")
        return sampling.synthesize(_loaded(model), requests, conditioning)


def _loaded(model: Any) -> Any:
    from .loader import Loaded

    if not isinstance(model, Loaded):
        raise PluginError(f"f5tts was handed a {type(model).__name__}, not a model it loaded")
    return model
