"""The `chatterbox` engine: declarations and the hooks, delegating to the modules that do the work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polyvox
from polyvox import Audio, Capabilities, EngineSpec, Request, Voice

from .params import ENGINE, ENGLISH, LANGUAGES, MAX_CHARS, MODELS, MULTILINGUAL, PARAMS, SAMPLE_RATE
from .weights import Weights


class ChatterBox(polyvox.Engine):
    """Resemble AI's ChatterBox on the upstream ``chatterbox-tts`` package.

    `directory`: where the weights are (default ``$POLYVOX_CHATTERBOX_DIR``, then the Hugging
    Face cache); `download`: allow fetching missing weights from the hub (default
    ``$POLYVOX_CHATTERBOX_DOWNLOAD``; never when ``HF_HUB_OFFLINE`` is set).
    """

    name = ENGINE

    def __init__(self, directory: str | Path | None = None, *, download: bool | None = None):
        self.weights = Weights(directory, download)

    def spec(self) -> EngineSpec:
        return EngineSpec(
            name=self.name, sample_rate=SAMPLE_RATE, languages=LANGUAGES, default_model=ENGLISH, models=MODELS,
            params=PARAMS, max_chars=MAX_CHARS,
            capabilities=Capabilities(needs_reference_audio=False, thread_safe=False, batch=True, seeded=True),
            description="Resemble AI ChatterBox: zero-shot voice cloning, emotion control, 23 languages",
            priority=20,
        )

    def language_model(self, language: str) -> str | None:
        base = language.split("-")[0]
        if base == "en":
            return ENGLISH
        return MULTILINGUAL if base in LANGUAGES else None

    def files(self, model: str) -> list[str]:
        return self.weights.files(model)

    def load(self, model: str, device: str) -> Any:
        from .loader import load
        from .synthesis import RNG_LOCK, quiet_stdout

        directory = self.weights.require(model)
        with RNG_LOCK, quiet_stdout():
            return load(self.weights.kind(model), directory, self.weights.layout(model), device,
                        may_download=self.weights.may_download())

    def size(self, model: Any) -> int | None:
        return model.parameters()

    def prepare(self, model: Any, voice: Voice, params: dict[str, Any]) -> Any:
        from .conditioning import prepare
        from .synthesis import RNG_LOCK, quiet_stdout

        with RNG_LOCK, quiet_stdout():  # the model's parts are not used by two threads at once
            return prepare(model, voice, params["exaggeration"])

    def synthesize(self, model: Any, request: Request, conditioning: Any) -> Audio:
        from .synthesis import synthesize

        if conditioning is None:  # a host calling the hook without preparing the voice
            conditioning = self.prepare(model, request.voice, dict(request.params))
        return synthesize(model, request, conditioning)

    def synthesize_many(self, model: Any, requests: list[Request], conditioning: Any) -> list[Audio]:
        from .synthesis import synthesize_many

        if conditioning is None:
            conditioning = self.prepare(model, requests[0].voice, dict(requests[0].params))
        return synthesize_many(model, requests, conditioning)
