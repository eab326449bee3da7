"""The contract between the kernel and engine plugins.

Every hook takes and returns plain data (text, numbers, paths, numpy arrays, attrs records)
except the two engine-owned handles: the loaded `model` and the voice `conditioning`, which
only ever travel back into the engine that made them. That keeps the door open for engines
that run in another process or on another machine.

Hooks that answer for one engine receive the engine's name first and return None when the
engine is not theirs; `polyvox.Engine` writes those checks for you.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

from polyvox.audio import Audio
from polyvox.listen.heard import Heard, ListenerSpec
from polyvox.plugin.spec import EngineSpec
from polyvox.text.segment import Request
from polyvox.voices.voice import Voice
from polyvox.weights.sources import Files, ModelWeights

hookspec = pluggy.HookspecMarker("polyvox")
hookimpl = pluggy.HookimplMarker("polyvox")


@hookspec
def register_engines(register: Callable[[EngineSpec], None]) -> None:
    """Declare engines by calling ``register(EngineSpec(...))`` once for each.

    Called once when the kernel starts. Must be cheap: import no model code here.
    """


@hookspec
def find_voices(directory: str) -> list[Voice]:
    """Return the voices of yours found in `directory` (not recursing; the kernel walks sub-folders).

    For engines whose voices are model files (a Piper ``name.onnx`` + ``name.onnx.json``):
    return ``Voice(name=<character>, model=<path>, engine=<your engine>)`` for each. Cloning
    engines need not implement it: reference audio files are found by the kernel.
    """


@hookspec(firstresult=True)
def map_language(engine: str, language: str) -> str | None:
    """Return the model id that speaks `language` (a normalized code such as ``de``) for `engine`.

    Any plugin may answer for any engine, so a "language pack" plugin can add a German
    checkpoint to an existing engine. Return None to let other plugins answer; the kernel
    falls back to the engine's default model for a language the engine declares.
    """


@hookspec(firstresult=True)
def model_files(engine: str, model: str) -> list[str] | None:
    """Return the local files that make up `model` (checkpoints, configs, vocab), without loading it.

    The kernel fingerprints their content for the cache key, so a changed checkpoint
    under the same name never serves stale audio. Return [] when the model has no local
    files yet (it would be downloaded), or None when the engine is not yours.
    """


@hookspec(firstresult=True)
def model_weights(engine: str, model: str) -> ModelWeights | None:
    """Declare the files `model` needs and where they come from, without touching the network.

    Return ``ModelWeights([HubFiles(repo, filenames, ...), UrlFile(url, sha256), ...],
    license=...)``; ``LocalFiles`` for files bundled with your package. The kernel lists,
    fetches (asking the user first), verifies and removes them, and hands their local paths to
    `load_model` as `files`. Return None when the engine is not yours, or for a model whose
    files the engine finds itself (a checkpoint folder the user named).
    """


@hookspec(firstresult=True)
def load_model(engine: str, model: str, device: str, files: Files | None) -> Any:
    """Load `model` of `engine` on `device` (``cpu``, ``cuda``, ``cuda:1``, ``mps`` or ``auto``) and return it.

    `files`: the local paths of what `model_weights` declared, all present (None when the
    engine declared nothing for this model). The kernel's model manager calls this once per
    (engine, model, device) and shares the result between every render, thread and API call;
    never cache models yourself. Raise a `ModelError` naming the missing files when the
    weights are not there.
    """


@hookspec(firstresult=True)
def model_size(engine: str, model: Any) -> int | None:
    """Return the memory a loaded model holds, in bytes, if the engine can tell.

    Used for the model manager's memory budget; None means unknown.
    """


@hookspec(firstresult=True)
def prepare_voice(engine: str, model: Any, voice: Voice, params: dict[str, Any]) -> Any:
    """Compute the per-voice conditioning (speaker embedding, reference features) for `voice`.

    The kernel calls this once per (model, voice content, parameters marked
    ``affects_voice``) and hands the result to every synthesis call for that voice. Return
    a new object; never store it on the shared model. Engines with nothing to prepare need
    not implement it.
    """


@hookspec(firstresult=True)
def synthesize_segment(engine: str, model: Any, request: Request, conditioning: Any) -> Audio | None:
    """Synthesize `request.text` with a loaded `model` and return mono `Audio`.

    `request.params` holds every declared parameter with defaults applied; `request.seed`
    is the seed this segment's audio must depend on. A call must leave no state on the
    shared model that would change another call's result. Raise a `PolyvoxError` (or any
    exception; the kernel wraps it) on failure.
    """


@hookspec(firstresult=True)
def synthesize_batch(
    engine: str, model: Any, requests: list[Request], conditioning: Any
) -> list[Audio] | None:
    """Synthesize several requests that share a model and a voice in one call.

    Only called for engines that declare ``Capabilities(batch=True)``. Return one `Audio`
    per request, in order; each must equal (up to numerical noise) what
    `synthesize_segment` returns for the same request.
    """


@hookspec
def normalization_rules(language: str) -> Any:
    """Return normalization rules for `language` (a code such as ``de`` or ``en-us``), or None.

    A mapping of `polyvox.text.normalize.Rules` fields (``{"abbreviations": {"Bsp.": "Beispiel"}}``)
    is laid over the built-in table, entry by entry; a whole `Rules` adds a language polyvox
    has no table for (``Rules(language="cy", number_language="cy", ...)``). Every plugin's
    answer counts, in load order. Called once per language and kernel; keep it cheap.
    """


# -- listeners (hook API 1.1) ------------------------------------------------------------------
# A listener turns audio into timed words (speech recognition), so the kernel can hear what an
# engine said (`render --verify`, `polyvox check`). It is declared like an engine and shares the
# model hooks above under its own name: `model_weights`, `load_model`, `model_size` and
# `model_files` are called with ``engine=<listener name>``. `polyvox.Listener` writes all of them.


@hookspec
def register_listeners(register: Callable[[ListenerSpec], None]) -> None:
    """Declare listeners by calling ``register(ListenerSpec(...))`` once for each.

    Called once when the kernel starts. Must be cheap: import no model code here. A listener's
    name must differ from every engine's (the model hooks are shared).
    """


@hookspec(firstresult=True)
def hear(listener: str, model: Any, audio: Audio, language: str | None) -> Heard | None:
    """Hear mono `audio` (at the listener's declared `sample_rate`) with a loaded `model` and
    return what was said as `Heard`: each word with its start and end in seconds, the text, and
    the language heard with its probability where the model can tell.

    `language`: the language the audio should be in (a hint; None: the model tells, where it can).
    Silence gives no words. A call must leave no state on the shared model. Return None when
    `listener` is not yours.
    """
