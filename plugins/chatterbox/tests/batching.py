"""Helpers of the batch tests (test_batch.py, test_turbo.py): mixed requests, batch against
single calls, a stop-token bias that makes random weights stop early, and S3Gen against
upstream's own single-item inference."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np
import torch

import polyvox
from polyvox_chatterbox import conditioning, decoding
from polyvox_chatterbox.seeding import Streams

from .conftest import FAST, loaded

TEXTS = ("Hi.", "This sentence is a little longer than the first one.", "A mid-sized line.", "Fourth one here.")
#: Batch against single: same tokens; audio differs only by float noise of padded shapes.
AUDIO_TOLERANCE = 1e-4


def mixed_requests(kernel: polyvox.Kernel, model: str, voice: polyvox.Voice | None = None,
                   language: str = "en", texts: tuple[str, ...] = TEXTS) -> list[polyvox.Request]:
    """The kernel's requests for `texts`, each with its own seed and settings."""
    jobs = kernel.plan([polyvox.Segment(text=t) for t in texts], engine="chatterbox", model=model, voice=voice,
                       language=language, params=FAST)
    settings = [{"temperature": 0.8}, {"temperature": 1.3, "top_p": 0.8, "max_new_tokens": 14},
                {"temperature": 0.6, "repetition_penalty": 1.5, "max_new_tokens": 6}, {"top_k": 50, "min_p": 0.1}]
    return [attrs.evolve(j.request, seed=100 + n, params={**j.request.params, **settings[n % len(settings)]})
            for n, j in enumerate(jobs)]


def single_and_batch(kernel: polyvox.Kernel, requests: list[polyvox.Request]) -> tuple[list, list]:
    model = loaded(kernel, requests[0].model)
    conds = conditioning.prepare(model, requests[0].voice, requests[0].params["exaggeration"])
    hook = kernel.plugins.hook
    single = [hook.synthesize_segment(engine="chatterbox", model=model, request=r, conditioning=conds)
              for r in requests]
    batch = hook.synthesize_batch(engine="chatterbox", model=model, requests=requests, conditioning=conds)
    return single, batch


def assert_items_equal(single: list[polyvox.Audio], batch: list[polyvox.Audio]) -> None:
    assert len(batch) == len(single)
    for n, (a, b) in enumerate(zip(single, batch, strict=True)):
        assert len(a) == len(b), f"item {n}: {len(b)} samples batched, {len(a)} alone"
        diff = float(np.max(np.abs(a.samples - b.samples)))
        assert diff <= AUDIO_TOLERANCE, f"item {n}: batched differs from alone by {diff}"


@contextlib.contextmanager
def stop_bias(t3: Any, bias: float) -> Iterator[None]:
    """Raise the stop token's logit so random weights stop after a handful of tokens."""
    head = t3.speech_head
    original = head.bias.detach().clone() if head.bias is not None else None
    if head.bias is None:
        head.bias = torch.nn.Parameter(torch.zeros(head.out_features))
    with torch.no_grad():
        head.bias[t3.hp.stop_speech_token] += bias
    try:
        yield
    finally:
        head.bias = torch.nn.Parameter(original) if original is not None else None


def decoder_equals_upstream(model: Any, steps: int) -> None:
    rows = [torch.randint(0, 6561, (n,), generator=torch.Generator().manual_seed(n)) for n in (9, 30, 4)]
    seeds = [5, 6, 7]
    ref = conditioning.for_call(model.builtin).gen
    with torch.random.fork_rng(), torch.inference_mode():
        upstream = []
        for row, seed in zip(rows, seeds, strict=True):
            torch.manual_seed(seed)
            upstream.append(model.s3gen.inference(speech_tokens=row, ref_dict=dict(ref), n_cfm_timesteps=steps)[0])
        batch = decoding.waveforms(model.s3gen, rows, dict(ref), steps, Streams(seeds, "cpu"), [0, 1, 2])
    for n, (a, b) in enumerate(zip(upstream, batch, strict=True)):
        assert a.shape == b.shape, f"row {n}: {tuple(b.shape)} batched, {tuple(a.shape)} upstream"
        assert float((a - b).abs().max()) <= 1e-5, f"row {n} differs from upstream by {float((a - b).abs().max())}"
