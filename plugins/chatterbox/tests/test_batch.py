"""Batch synthesis on the English and multilingual models: every item equals the same segment
synthesized alone, and a batch of one equals upstream's own single-item code.

Rows are mixed on purpose: different seeds, lengths, budgets, languages and sampling settings
(guidance off for one) in one batch, and, with the stop token's logit raised, rows that stop
early next to rows that go on. For the multilingual model the stop is also gated per row by its
own alignment analyzer, so a row fed another row's attention would stop elsewhere.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F  # noqa: N812 - torch's convention

import polyvox
from polyvox_chatterbox import conditioning, synthesis
from polyvox_chatterbox.params import resolved
from polyvox_chatterbox.seeding import Streams

from .batching import TEXTS, assert_items_equal, decoder_equals_upstream, mixed_requests, single_and_batch, stop_bias
from .conftest import loaded

LANGUAGES = ("en", "de", "no", "en")
SETTINGS = [{"cfg_weight": 0.5, "temperature": 0.8, "min_p": 0.05, "top_p": 1.0, "max_new_tokens": 30},
            {"cfg_weight": 0.0, "temperature": 1.2, "min_p": 0.1, "top_p": 0.9, "max_new_tokens": 40},
            {"cfg_weight": 0.8, "temperature": 0.6, "min_p": 0.0, "top_p": 1.0, "max_new_tokens": 8,
             "repetition_penalty": 1.5},
            {"cfg_weight": 0.3, "temperature": 1.0, "min_p": 0.05, "top_p": 0.95, "max_new_tokens": 40}]


def _params(model: str) -> list[dict[str, Any]]:
    return [resolved(model, {"repetition_penalty": None, **s}) for s in SETTINGS]


def _upstream(model: Any, text: str, language: str, p: dict[str, Any], seed: int) -> list[int]:
    """Upstream's `T3.inference` for one text, as upstream's `generate` calls it, then the
    plugin's clean-up of the tokens."""
    from chatterbox.models.s3tokenizer import drop_invalid_tokens

    text = synthesis.normalize(text, model)
    ids = (model.tokenizer.text_to_tokens(text, language_id=language) if model.multilingual
           else model.tokenizer.text_to_tokens(text))
    ids = torch.cat([ids, ids])
    ids = F.pad(F.pad(ids, (1, 0), value=model.t3.hp.start_text_token), (0, 1), value=model.t3.hp.stop_text_token)
    torch.manual_seed(seed)
    with synthesis._hooks_removed(model.t3):
        out = model.t3.inference(t3_cond=conditioning.for_call(model.builtin).t3, text_tokens=ids,
                                 max_new_tokens=p["max_new_tokens"], temperature=p["temperature"],
                                 cfg_weight=p["cfg_weight"], repetition_penalty=p["repetition_penalty"],
                                 min_p=p["min_p"], top_p=p["top_p"])
    tokens = drop_invalid_tokens(out[0])
    return tokens[tokens < synthesis.SPEECH_VOCAB].tolist()


@pytest.mark.parametrize("name", ["english", "multilingual"])
def test_sampler_alone_equals_upstream_inference(kernel: polyvox.Kernel, name: str) -> None:
    model = loaded(kernel, name)
    params = _params(name)
    with torch.random.fork_rng(), torch.inference_mode():
        for n in range(3):
            upstream = _upstream(model, TEXTS[n], LANGUAGES[n], params[n], seed=20 + n)
            (ours,) = synthesis.speech_tokens(model, [TEXTS[n]], [LANGUAGES[n]], model.builtin, [params[n]],
                                              Streams([20 + n], "cpu"))
            assert ours.tolist() == upstream, f"text {n}"


@pytest.mark.parametrize(("name", "bias"), [("english", 3.0), ("multilingual", 5.0)])
def test_rows_equal_alone_and_stop_on_their_own(kernel: polyvox.Kernel, name: str, bias: float) -> None:
    model = loaded(kernel, name)
    params = _params(name)
    seeds = [3, 1, 4, 1]
    # The bias makes EOS likely enough that rows stop at different steps; the multilingual
    # analyzer vetoes it per row until that row's alignment nears the end of its own text.
    with stop_bias(model.t3, bias), torch.random.fork_rng(), torch.inference_mode():
        alone = [synthesis.speech_tokens(model, [t], [lang], model.builtin, [p], Streams([s], "cpu"))[0].tolist()
                 for t, lang, p, s in zip(TEXTS, LANGUAGES, params, seeds, strict=True)]
        batch = synthesis.speech_tokens(model, list(TEXTS), list(LANGUAGES), model.builtin, params,
                                        Streams(seeds, "cpu"))
    assert [b.tolist() for b in batch] == alone
    # Rows stopped at different steps (so frozen rows sat next to running ones), one by EOS well
    # before its budget (out-of-vocabulary tokens are dropped, so lengths run a little short).
    lengths = [len(a) for a in alone]
    budgets = [p["max_new_tokens"] for p in params]
    assert len(set(lengths)) > 2, lengths
    assert any(n < b / 2 for n, b in zip(lengths, budgets, strict=True)), (lengths, budgets)
    assert any(n > b / 2 for n, b in zip(lengths, budgets, strict=True)), (lengths, budgets)


def test_english_batch_audio_equals_single_calls(kernel: polyvox.Kernel, voices: list[polyvox.Voice]) -> None:
    requests = mixed_requests(kernel, "english", voice=voices[1], texts=TEXTS[:3])
    single, batch = single_and_batch(kernel, requests)
    assert_items_equal(single, batch)
    assert len({len(a) for a in single}) == 3, "rows of different lengths"


def test_batched_decoder_with_guidance_equals_upstream_inference(kernel: polyvox.Kernel) -> None:
    decoder_equals_upstream(loaded(kernel, "english"), steps=1)
