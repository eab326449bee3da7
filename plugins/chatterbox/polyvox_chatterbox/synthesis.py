"""One segment: text -> speech tokens (T3) -> waveform (S3Gen) -> watermark, with upstream's
parts and none of the state upstream's ``generate`` keeps between calls.

- Seeds: upstream samples from torch's global generator. A call seeds it with the segment's
  own seed inside `torch.random.fork_rng` (the caller's RNG state is restored afterwards),
  under one process-wide lock, so a segment's audio depends on its seed alone.
- The multilingual T3 attaches an alignment analyzer per call by registering forward hooks it
  never removes; `_hooks_removed` takes them off again, so hook counts and memory stay flat.
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

from . import conditioning
from .loader import Model
from .params import ENGLISH, SAMPLE_RATE, TURBO, resolved

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
    import torch

    base = request.language.split("-")[0].lower()
    # Upstream's English-only models refuse other languages; a finetune (a checkpoint directory a
    # language pack chose for this language) is trusted to speak it.
    if request.model in (ENGLISH, TURBO) and base != "en":
        raise UnsupportedLanguageError(f"the ChatterBox {model.name} model speaks English only, not "
                                       f"{request.language!r}: use the multilingual model")
    params = resolved(model.name, dict(request.params))
    devices = [torch.device(model.device).index or 0] if model.device.startswith("cuda") else []
    with RNG_LOCK, quiet_stdout(), torch.random.fork_rng(devices=devices), torch.inference_mode():
        torch.manual_seed(request.seed)
        tokens = speech_tokens(model, request.text, request.language, conds, params)
        wav = decode(model, tokens, conds, params["flow_steps"])
        wav = model.watermarker.apply_watermark(wav, sample_rate=SAMPLE_RATE)
    return Audio(np.clip(np.asarray(wav, dtype=np.float32), -1.0, 1.0), SAMPLE_RATE)


def speech_tokens(model: Model, text: str, language: str, conds: Any, params: dict[str, Any]) -> Any:
    """T3's speech tokens for `text` in `language` (1-D, valid ids only)."""
    import torch
    import torch.nn.functional as F  # noqa: N812 - torch's convention

    text = normalize(text, model)
    if model.turbo:
        return _turbo_tokens(model, text, conds, params)
    if model.multilingual:
        ids = model.tokenizer.text_to_tokens(text, language_id=language.split("-")[0].lower())
    else:
        ids = model.tokenizer.text_to_tokens(text)
    ids = ids.to(model.device)
    # T3's sampler always runs a batch of two (conditional, unconditional); with cfg_weight 0
    # the second row is simply unused. Upstream's English path sends one row then and fails.
    ids = torch.cat([ids, ids], dim=0)
    ids = F.pad(ids, (1, 0), value=model.t3.hp.start_text_token)
    ids = F.pad(ids, (0, 1), value=model.t3.hp.stop_text_token)
    with _hooks_removed(model.t3):
        out = model.t3.inference(
            t3_cond=conditioning.for_call(conds).t3, text_tokens=ids, max_new_tokens=params["max_new_tokens"],
            temperature=params["temperature"], cfg_weight=params["cfg_weight"],
            repetition_penalty=params["repetition_penalty"], min_p=params["min_p"], top_p=params["top_p"],
        )
    tokens = out[0]
    from chatterbox.models.s3tokenizer import drop_invalid_tokens

    tokens = drop_invalid_tokens(tokens)
    return tokens[tokens < SPEECH_VOCAB]


def _turbo_tokens(model: Model, text: str, conds: Any, params: dict[str, Any]) -> Any:
    """Turbo's T3 (GPT-2, no guidance): its own sampler, then S3Gen's silence appended as upstream."""
    import torch

    ids = model.tokenizer(text, return_tensors="pt", padding=True, truncation=True).input_ids.to(model.device)
    tokens = model.t3.inference_turbo(
        t3_cond=conditioning.for_call(conds).t3, text_tokens=ids, temperature=params["temperature"],
        top_k=params["top_k"], top_p=params["top_p"], repetition_penalty=params["repetition_penalty"],
        max_gen_len=params["max_new_tokens"],
    )
    tokens = tokens[tokens < SPEECH_VOCAB]
    silence = torch.full((3,), SILENCE_TOKEN, dtype=torch.long, device=tokens.device)
    return torch.cat([tokens.long(), silence])


def decode(model: Model, tokens: Any, conds: Any, flow_steps: int) -> np.ndarray:
    """S3Gen's waveform for `tokens`, in the voice of `conds`."""
    import torch

    if tokens.numel() < MIN_SPEECH_TOKENS:
        pad = torch.full((MIN_SPEECH_TOKENS - tokens.numel(),), SILENCE_TOKEN, dtype=torch.long)
        tokens = torch.cat([tokens.long().cpu(), pad])
    wav, _ = model.s3gen.inference(speech_tokens=tokens.to(model.device), ref_dict=conditioning.for_call(conds).gen,
                                   n_cfm_timesteps=flow_steps)
    return wav.squeeze(0).detach().float().cpu().numpy()


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
