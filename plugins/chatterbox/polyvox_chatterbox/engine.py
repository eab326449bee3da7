"""The `chatterbox` engine: declarations and the hooks, delegating to the modules that do the work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polyvox
from polyvox import Audio, Capabilities, EngineSpec, Files, ModelWeights, Request, Voice

from .params import BATCH_SIZES, ENGINE, ENGLISH, LANGUAGES, MAX_CHARS, MODELS, MULTILINGUAL, PARAMS, SAMPLE_RATE
from .weights import SEGMENTER, Weights


class ChatterBox(polyvox.Engine):
    """Resemble AI's ChatterBox on the upstream ``chatterbox-tts`` package.

    `directory`: your own copy of the weights (default ``$POLYVOX_CHATTERBOX_DIR``); without
    one, the kernel fetches upstream's into the Hugging Face cache (``polyvox models pull
    chatterbox[:MODEL]``, or on first use when downloads are allowed).
    """

    name = ENGINE

    def __init__(self, directory: str | Path | None = None):
        self.weights_of = Weights(directory)

    def spec(self) -> EngineSpec:
        return EngineSpec(
            name=self.name, sample_rate=SAMPLE_RATE, languages=LANGUAGES, default_model=ENGLISH, models=MODELS,
            params=PARAMS, max_chars=MAX_CHARS,
            capabilities=Capabilities(clones=True, thread_safe=False, batch=True, seeded=True,
                                      batch_sizes=BATCH_SIZES),
            description="Resemble AI ChatterBox: zero-shot voice cloning, emotion control, 23 languages",
            priority=20,
        )

    def language_model(self, language: str) -> str | None:
        base = language.split("-")[0]
        if base == "en":
            return ENGLISH
        return MULTILINGUAL if base in LANGUAGES else None

    def weights(self, model: str) -> ModelWeights | None:
        return self.weights_of.declare(model)

    def files(self, model: str) -> list[str]:
        return self.weights_of.files(model)

    def load(self, model: str, device: str, files: Files | None = None) -> Any:
        from .loader import load
        from .synthesis import RNG_LOCK, quiet_stdout

        layout = self.weights_of.layout(model)
        # Declared models arrive with their files (all in one folder: a hub snapshot or the
        # user's directory); a checkpoint directory is used as it is.
        directory = files[layout.t3].parent if files is not None else self.weights_of.require(model)
        segmenter = files.get(SEGMENTER.filename) if files is not None else None
        with RNG_LOCK, quiet_stdout():
            return load(self.weights_of.kind(model), directory, layout, device, segmenter=segmenter)

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
