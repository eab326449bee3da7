"""ChatterBox Turbo (GPT-2 backbone, distilled decoder) from ``DIR/turbo``, alone and batched."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import polyvox
from polyvox.testing import differ
from polyvox_chatterbox import conditioning, sampling, synthesis
from polyvox_chatterbox.seeding import Streams

from . import tiny
from .batching import TEXTS, assert_items_equal, decoder_equals_upstream, mixed_requests, single_and_batch, stop_bias
from .conftest import FAST, loaded

TURBO = {**FAST, "model": "turbo"}


@pytest.fixture(scope="module")
def turbo(kernel: polyvox.Kernel, request: pytest.FixtureRequest) -> polyvox.Kernel:
    # S3Gen is full size in every tiny checkpoint: free the other two models before building
    # and loading Turbo's (peak memory).
    kernel.unload_all()
    request.getfixturevalue("turbo_dir")
    return kernel


@pytest.fixture(scope="module")
def long_voice(tmp_path_factory: pytest.TempPathFactory) -> polyvox.Voice:
    path = tmp_path_factory.mktemp("turbo-voice") / "long.wav"
    return polyvox.Voice(name="long", audio=tiny.write_voice(path, 130.0, 16000, seconds=5.5))


def test_turbo_speaks_with_its_builtin_voice_and_is_seeded(turbo: polyvox.Kernel,
                                                           capfd: pytest.CaptureFixture) -> None:
    first = turbo.synthesize("Turbo speaking.", engine="chatterbox", seed=5, use_cache=False, **TURBO)
    assert first.sample_rate == 24000 and first.duration > 0
    assert turbo.synthesize("Turbo speaking.", engine="chatterbox", seed=5, use_cache=False, **TURBO) == first
    assert turbo.synthesize("Turbo speaking.", engine="chatterbox", seed=6, use_cache=False, **TURBO) != first
    assert capfd.readouterr().out == "", "upstream's prints must not reach stdout (audio may be streamed there)"


def test_turbo_reference_voice(turbo: polyvox.Kernel, long_voice: polyvox.Voice) -> None:
    audio = turbo.synthesize("Cloned.", engine="chatterbox", voice=long_voice, seed=5, use_cache=False, **TURBO)
    builtin = turbo.synthesize("Cloned.", engine="chatterbox", seed=5, use_cache=False, **TURBO)
    assert audio.duration >= 0.1 and audio.rms > 1e-3
    assert differ(audio, builtin), "Turbo gave the same audio with and without the reference voice"


def test_turbo_refuses_short_references_and_other_languages(turbo: polyvox.Kernel,
                                                            voices: list[polyvox.Voice]) -> None:
    with pytest.raises(polyvox.SegmentError, match="more than 5 s"):
        turbo.synthesize("Too short.", engine="chatterbox", voice=voices[0], **TURBO)
    with pytest.raises(polyvox.SegmentError, match="English only"):
        turbo.synthesize("Guten Tag.", engine="chatterbox", language="de", **TURBO)


# -- batches ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def turbo_model(turbo: polyvox.Kernel) -> Any:
    return loaded(turbo, "turbo")


def _turbo_ids(model: Any, texts: tuple[str, ...]) -> list[Any]:
    return [model.tokenizer(synthesis.normalize(t, model), return_tensors="pt").input_ids for t in texts]


TURBO_SETTINGS = [{"temperature": 0.8, "top_k": 1000, "top_p": 0.95, "repetition_penalty": 1.2, "max_new_tokens": 40},
                  {"temperature": 1.2, "top_k": 30, "top_p": 1.0, "repetition_penalty": 1.0, "max_new_tokens": 40},
                  {"temperature": 0.5, "top_k": 0, "top_p": 0.7, "repetition_penalty": 1.6, "max_new_tokens": 5},
                  {"temperature": 1.0, "top_k": 200, "top_p": 0.9, "repetition_penalty": 1.2, "max_new_tokens": 40}]


def test_turbo_sampler_alone_equals_upstream_inference_turbo(turbo_model: Any) -> None:
    m = turbo_model
    cond = conditioning.for_call(m.builtin).t3
    for n, ids in enumerate(_turbo_ids(m, TEXTS[:3])):
        p = TURBO_SETTINGS[n]
        with torch.random.fork_rng(), torch.inference_mode():
            torch.manual_seed(7 + n)
            upstream = m.t3.inference_turbo(
                t3_cond=conditioning.for_call(m.builtin).t3, text_tokens=ids, temperature=p["temperature"],
                top_k=p["top_k"], top_p=p["top_p"], repetition_penalty=p["repetition_penalty"],
                max_gen_len=p["max_new_tokens"])[0]
            ours = sampling.turbo(m.t3, cond, [ids], [p], Streams([7 + n], "cpu"))[0]
        assert ours.tolist() == upstream.tolist()


def test_turbo_rows_equal_alone_and_stop_on_their_own(turbo_model: Any) -> None:
    m = turbo_model
    ids = _turbo_ids(m, TEXTS)
    seeds = [3, 1, 4, 1]
    with stop_bias(m.t3, 6.0), torch.random.fork_rng(), torch.inference_mode():
        alone = [sampling.turbo(m.t3, conditioning.for_call(m.builtin).t3, [i], [p], Streams([s], "cpu"))[0]
                 for i, p, s in zip(ids, TURBO_SETTINGS, seeds, strict=True)]
        batch = sampling.turbo(m.t3, conditioning.for_call(m.builtin).t3, ids, TURBO_SETTINGS,
                               Streams(seeds, "cpu"))
    assert [b.tolist() for b in batch] == [a.tolist() for a in alone]
    lengths = [len(a) for a in alone]
    # the test means something only if rows stopped at different steps, some by EOS before their budget
    assert len(set(lengths)) > 2, lengths
    assert any(n < p["max_new_tokens"] for n, p in zip(lengths, TURBO_SETTINGS, strict=True)), lengths


def test_turbo_batch_audio_equals_single_calls(turbo: polyvox.Kernel, turbo_model: Any) -> None:
    requests = mixed_requests(turbo, "turbo", texts=TEXTS[:3])
    single, batch = single_and_batch(turbo, requests)
    assert_items_equal(single, batch)
    assert len({len(a) for a in single}) == 3, "rows of different lengths"
    conds = conditioning.prepare(turbo_model, requests[0].voice, 0.5)
    assert synthesis.synthesize_many(turbo_model, requests[1:2], conds) == [single[1]]  # a batch of one: a single call


def test_batched_meanflow_decoder_equals_upstream_inference(turbo_model: Any) -> None:
    m = turbo_model
    decoder_equals_upstream(m, steps=2)
