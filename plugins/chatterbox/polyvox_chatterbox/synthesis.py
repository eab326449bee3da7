"""Segments of one voice: text -> speech tokens (T3) -> waveform (S3Gen) -> watermark, with
upstream's parts and none of the state upstream's ``generate`` keeps between calls. A single
segment is a batch of one.

- Seeds: upstream samples from torch's global generator. Each segment draws from its own
  stream seeded with its own seed (`seeding.Streams`), inside `torch.random.fork_rng` (the
  caller's RNG state is restored afterwards), under one process-wide lock, so a segment's
  audio depends on its seed alone, not on the batch it is in.
- Upstream's multilingual alignment analyzer registers forward hooks it never removes;
  `_hooks_removed` takes off every hook added during a call, so hook counts and memory stay flat.
- Out-of-range speech tokens are dropped for every model (upstream's multilingual path does not).
- Very short output (one word, a number) is padded with S3Gen's silence token, as upstream's
  Turbo does, so the decoder never receives a handful of tokens or none.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from polyvox import Audio, Request, UnsupportedLanguageError

from . import conditioning, decoding, sampling
from .loader import Model
from .params import ENGLISH, SAMPLE_RATE, TURBO, resolved
from .seeding import Streams

#: Serializes seeding + sampling across every ChatterBox model in the process: torch's global
#: generator is one per process, and model locks are per model.
RNG_LOCK = threading.RLock()
#: S3Gen's decoder wants at least this many speech tokens; fewer are padded with silence.
MIN_SPEECH_TOKENS = 3
SPEECH_VOCAB = 6561
SILENCE_TOKEN = 4299


def normalize(text: str, model: Model) -> str:
    """Upstream's punctuation clean-up of the model that speaks `text`."""
    if model.multilingual:
        from chatterbox.mtl_tts import punc_norm
    elif model.turbo:
        from chatterbox.tts_turbo import punc_norm
    else:
        from chatterbox.tts import punc_norm
    return punc_norm(text)


def synthesize(model: Model, request: Request, conds: Any) -> Audio:
    """One segment: a batch of one, so that a batch item and a single call share every step."""
    return synthesize_many(model, [request], conds)[0]


def synthesize_many(model: Model, requests: list[Request], conds: Any) -> list[Audio]:
    """Several segments in the voice of `conds`, each equal to the same segment alone.

    Every random draw of item `i` comes from its own stream, seeded with its own seed
    (`seeding.Streams`); T3 samples all rows in one pass per token (`sampling`), S3Gen's flow
    decodes them in one pass per step count (`decoding`).
    """
    import torch

    for request in requests:
        _check_language(model, request)
    params = [resolved(model.name, dict(r.params)) for r in requests]
    devices = [torch.device(model.device).index or 0] if model.device.startswith("cuda") else []
    with RNG_LOCK, quiet_stdout(), torch.random.fork_rng(devices=devices), torch.inference_mode():
        streams = Streams([r.seed for r in requests], model.device)
        tokens = _token_batch(model, requests, conds, params, streams)
        wavs = _decode_batch(model, tokens, conds, [p["flow_steps"] for p in params], streams)
        out = []
        for n, wav in enumerate(wavs):
            with streams.use(n):
                wav = model.watermarker.apply_watermark(wav.squeeze(0).float().cpu().numpy(),
                                                        sample_rate=SAMPLE_RATE)
            out.append(Audio(np.clip(np.asarray(wav, dtype=np.float32), -1.0, 1.0), SAMPLE_RATE))
    return out


def _check_language(model: Model, request: Request) -> None:
    base = request.language.split("-")[0].lower()
    # Upstream's English-only models refuse other languages; a finetune (a checkpoint directory a
    # language pack chose for this language) is trusted to speak it.
    if request.model in (ENGLISH, TURBO) and base != "en":
        raise UnsupportedLanguageError(f"the ChatterBox {model.name} model speaks English only, not "
                                       f"{request.language!r}: use the multilingual model")


def _token_batch(model: Model, requests: list[Request], conds: Any, params: list[dict[str, Any]],
                 streams: Streams) -> list[Any]:
    """Each request's speech tokens, all rows in one batched T3 pass."""
    texts = [r.text for r in requests]
    if model.turbo:
        return turbo_tokens(model, texts, conds, params, streams)
    return speech_tokens(model, texts, [r.language for r in requests], conds, params, streams)


def speech_tokens(model: Model, texts: list[str], languages: list[str], conds: Any, params: list[dict[str, Any]],
                  streams: Streams) -> list[Any]:
    """English / multilingual T3's speech tokens for each text in its language (1-D, valid ids
    only), sampled together with guidance (`sampling.guided`)."""
    import torch.nn.functional as F  # noqa: N812 - torch's convention
    from chatterbox.models.s3tokenizer import drop_invalid_tokens

    rows = []
    for text, language in zip(texts, languages, strict=True):
        text = normalize(text, model)
        if model.multilingual:
            ids = model.tokenizer.text_to_tokens(text, language_id=language.split("-")[0].lower())
        else:
            ids = model.tokenizer.text_to_tokens(text)
        ids = F.pad(ids.view(-1), (1, 0), value=model.t3.hp.start_text_token)
        rows.append(F.pad(ids, (0, 1), value=model.t3.hp.stop_text_token))
    with _hooks_removed(model.t3):
        out = sampling.guided(model.t3, conditioning.for_call(conds).t3, rows, params, streams)
    tokens = [drop_invalid_tokens(row) for row in out]
    return [row[row < SPEECH_VOCAB] for row in tokens]


def turbo_tokens(model: Model, texts: list[str], conds: Any, params: list[dict[str, Any]],
                 streams: Streams) -> list[Any]:
    """Turbo's T3 (GPT-2, no guidance) for all `texts` in one pass, then S3Gen's silence
    appended to each, as upstream does."""
    import torch

    ids = [model.tokenizer(normalize(t, model), return_tensors="pt", padding=True, truncation=True)
           .input_ids.to(model.device) for t in texts]
    rows = sampling.turbo(model.t3, conditioning.for_call(conds).t3, ids, params, streams)
    silence = torch.full((3,), SILENCE_TOKEN, dtype=torch.long, device=model.device)
    return [torch.cat([row[row < SPEECH_VOCAB], silence]) for row in rows]


def _decode_batch(model: Model, tokens: list[Any], conds: Any, flow_steps: list[int], streams: Streams) -> list[Any]:
    """S3Gen's waveform (1, samples) for each token row, in the voice of `conds`: one batched
    flow pass per distinct step count (`decoding`)."""
    import torch

    rows = []
    for row in tokens:
        row = row.long().to(model.device)
        if row.numel() < MIN_SPEECH_TOKENS:
            pad = torch.full((MIN_SPEECH_TOKENS - row.numel(),), SILENCE_TOKEN, dtype=torch.long, device=model.device)
            row = torch.cat([row, pad])
        rows.append(row)
    out: list[Any] = [None] * len(rows)
    for steps in sorted(set(flow_steps)):
        items = [n for n, s in enumerate(flow_steps) if s == steps]
        wavs = decoding.waveforms(model.s3gen, [rows[n] for n in items], conditioning.for_call(conds).gen, steps,
                                  streams, items)
        for n, wav in zip(items, wavs, strict=True):
            out[n] = wav
    return out


def quiet_stdout() -> contextlib.AbstractContextManager:
    """Upstream print()s (the watermarker at load, Turbo's decoder per call): send that to stderr,
    so stdout stays clean for audio (`polyvox render -o -`). Process-wide while it lasts, so
    callers hold `RNG_LOCK`."""
    return contextlib.redirect_stdout(sys.stderr)


def hook_count(t3: Any) -> int:
    """Forward hooks on T3's transformer (for tests and diagnostics)."""
    return sum(len(m._forward_hooks) for m in t3.tfmr.modules())


@contextlib.contextmanager
def _hooks_removed(t3: Any) -> Iterator[None]:
    """Remove the forward hooks registered inside the block, and the per-call backend."""
    modules = list(t3.tfmr.modules())
    before = [set(m._forward_hooks) for m in modules]
    try:
        yield
    finally:
        for module, kept in zip(modules, before, strict=True):
            for hook_id in [h for h in module._forward_hooks if h not in kept]:
                module._forward_hooks.pop(hook_id, None)
                module._forward_hooks_with_kwargs.pop(hook_id, None)
                module._forward_hooks_always_called.pop(hook_id, None)
        t3.patched_model = None  # holds the call's analyzer and its alignment matrix
