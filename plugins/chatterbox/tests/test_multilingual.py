"""The multilingual model: each call's own language, and no growth over many segments."""

from __future__ import annotations

import pytest
import torch

import polyvox
from polyvox import Segment
from polyvox.testing import differ
from polyvox_chatterbox import synthesis
from polyvox_chatterbox.params import resolved
from polyvox_chatterbox.seeding import Streams

from .conftest import FAST, loaded

SCRIPT = [Segment(text="Guten Tag.", language="de"), Segment(text="God dag.", language="no"),
          Segment(text="Good day.", language="en"), Segment(text="Auf Wiedersehen.", language="de")]


def test_each_call_tokenizes_its_own_language(kernel: polyvox.Kernel, voices: list[polyvox.Voice],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    tokenizer = loaded(kernel, "multilingual").tokenizer
    seen: list[tuple[str, str, list[int]]] = []
    real = tokenizer.encode

    def recording(text, language_id=None, **kwargs):  # noqa: ANN001, ANN202
        ids = real(text, language_id=language_id, **kwargs)
        seen.append((text, language_id, ids))
        return ids

    monkeypatch.setattr(tokenizer, "encode", recording)
    result = kernel.render(SCRIPT, engine="chatterbox", model="multilingual", voice=voices[0], params=FAST)
    # The four lines are one batch by default, tokenized in the scheduler's order (by length):
    # match each tokenization to its line by text.
    vocab = tokenizer.tokenizer.get_vocab()
    assert len(seen) == 4
    for seg in SCRIPT:
        ((lang, ids),) = [(lang, ids) for text, lang, ids in seen if seg.text.rstrip(".").lower() in text.lower()]
        assert lang == seg.language and ids[0] == vocab[f"[{seg.language}]"], seg.text
    assert [r.language for r in result.segments] == ["de", "no", "en", "de"]

    # Re-rendering the same script makes no model call at all.
    calls = kernel.scheduler.calls
    again = kernel.render(SCRIPT, engine="chatterbox", model="multilingual", voice=voices[0], params=FAST)
    assert kernel.scheduler.calls == calls and again.stats.cached == 4
    assert len(seen) == 4


def test_the_language_changes_the_speech(kernel: polyvox.Kernel, voices: list[polyvox.Voice]) -> None:
    """One text, one model, one seed: only the language token differs, and so does the audio."""
    def say(language: str) -> polyvox.Audio:
        return kernel.synthesize("Hallo, guten Tag.", engine="chatterbox", model="multilingual", voice=voices[0],
                                 language=language, seed=4, use_cache=False, **FAST)

    german = say("de")
    assert german == say("de")
    assert differ(german, say("nl")) and differ(german, say("sv"))


def test_default_mapping_splits_languages_between_models(kernel: polyvox.Kernel) -> None:
    jobs = kernel.plan(SCRIPT, engine="chatterbox")
    assert [j.model for j in jobs] == ["multilingual", "multilingual", "english", "multilingual"]


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def test_hooks_and_memory_stay_flat_over_many_segments(kernel: polyvox.Kernel,
                                                       voices: list[polyvox.Voice]) -> None:
    """Upstream's alignment analyzer adds three forward hooks per call and never removes them."""
    model = loaded(kernel, "multilingual")
    conds = kernel.plugins.hook.prepare_voice(engine="chatterbox", model=model, voice=voices[0],
                                              params={"exaggeration": 0.5})
    params = resolved("multilingual", {"cfg_weight": 0.5, "temperature": 0.8, "repetition_penalty": None,
                                       "min_p": 0.05, "top_p": 1.0, "max_new_tokens": 4})
    hooks = synthesis.hook_count(model.t3)

    def segment(n: int) -> None:
        with torch.inference_mode():
            synthesis.speech_tokens(model, [f"Satz Nummer {n}."], [("de", "no", "sv")[n % 3]], conds, [params],
                                    Streams([n], "cpu"))

    for n in range(10):  # warm up allocator pools
        segment(n)
    before = _rss_mb()
    for n in range(100):
        segment(n)
    assert synthesis.hook_count(model.t3) == hooks
    assert model.t3.patched_model is None
    assert _rss_mb() - before < 40, "memory grew over 100 segments"
    # And a full call through the engine leaves no hook behind either.
    kernel.synthesize("Noch einer.", engine="chatterbox", language="de", voice=voices[0], use_cache=False, **FAST)
    assert synthesis.hook_count(model.t3) == hooks
