"""The contract kit catches what it promises to catch: each broken engine fails its check."""

from __future__ import annotations

import time
from typing import Any

import attrs
import numpy as np
import pytest
from polyvox_template import Template

import polyvox
from polyvox.testing import EngineContract, reference_voice


class Broken(Template):
    """The template engine under another name, with one fault switched on. It declares German
    too, spoken (when healthy) two semitones higher with the same model."""

    def __init__(self, fault: str):
        self.fault = fault
        self.name = f"broken-{fault}"
        self.last_f0: float | None = None
        self.working: tuple[int, Any] | None = None

    def spec(self) -> polyvox.EngineSpec:
        return attrs.evolve(super().spec(), name=self.name, description="", languages=("en", "de"))

    def language_model(self, language: str) -> str | None:
        return "template-base" if language in ("en", "de") else None

    def synthesize(self, model: Any, request: polyvox.Request, conditioning: Any) -> polyvox.Audio:
        if request.language == "de" and self.fault != "monolingual":  # the language ignored
            request = attrs.evolve(request, params={**request.params, "pitch": request.params["pitch"] + 2.0})
        if self.fault == "racy":  # the job's seed and voice kept on the shared engine while it works
            self.working = (request.seed, conditioning)
            time.sleep(0.005)
            seed, conditioning = self.working
            request = attrs.evolve(request, seed=seed)
        if self.fault == "seed-ignored":  # declares seeded, but one fixed seed
            request = attrs.evolve(request, seed=0)
        if self.fault == "length-only":  # reads the text's length, not its words
            request = attrs.evolve(request, text="a" * len(request.text))
        if self.fault == "textless":  # the same second of seeded noise for every sentence
            rng = np.random.default_rng(request.seed)
            return polyvox.Audio((0.3 * rng.standard_normal(16000)).astype(np.float32), 16000)
        if self.fault == "leaky":  # state left on the shared engine: the previous voice bleeds in
            blended = conditioning.f0 if self.last_f0 is None else (conditioning.f0 + self.last_f0) / 2
            self.last_f0 = conditioning.f0
            conditioning = attrs.evolve(conditioning, f0=blended)
        if self.fault == "unseeded":  # the global random state instead of request.seed
            request = attrs.evolve(request, seed=int(np.random.randint(0, 1000)))
        audio = super().synthesize(model, request, conditioning)
        if self.fault == "rate":
            return polyvox.Audio(audio.samples, 22050)
        if self.fault == "nan":
            return polyvox.Audio(np.full(len(audio), np.nan), audio.sample_rate)
        if self.fault == "capped":  # follows the text, but never past 1.5 s
            return polyvox.Audio(audio.samples[: 24000], audio.sample_rate)
        return audio

    def synthesize_many(self, model: Any, requests: list[polyvox.Request], conditioning: Any) -> list[polyvox.Audio]:
        if self.fault == "batch-first":  # the first request's seed and parameters for every item
            first = requests[0]
            requests = [attrs.evolve(r, seed=first.seed, params=first.params) for r in requests]
        out = super().synthesize_many(model, requests, conditioning)
        return out[::-1] if self.fault == "batch-order" else out

    def load(self, model: str, device: str) -> Any:
        if self.fault == "raw-error" and model != "template-base":
            raise FileNotFoundError(model)  # not a PolyvoxError
        return super().load(model, device)


@pytest.fixture(scope="module")
def voices(tmp_path_factory) -> list[polyvox.Voice]:
    folder = tmp_path_factory.mktemp("voices")
    return [reference_voice(folder, "low", 110.0), reference_voice(folder, "high", 220.0)]


def run_check(check: str, fault: str, voices: list[polyvox.Voice], tmp_path) -> None:
    engine = Broken(fault)
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", load_entry_points=False)
    kernel.register(engine)
    contract = type("Contract", (EngineContract,), {"engine": engine.name})()
    getattr(contract, check)(kernel, kernel.engine(engine.name), voices, "en")


@pytest.mark.parametrize(("check", "fault"), [
    ("test_two_voices_interleaved_equal_each_alone", "leaky"),
    ("test_same_seed_same_audio", "unseeded"),
    ("test_synthesize_returns_finite_audio_at_declared_rate", "rate"),
    ("test_synthesize_returns_finite_audio_at_declared_rate", "nan"),
    ("test_batch_as_declared", "batch-order"),
    ("test_errors_are_polyvox_errors", "raw-error"),
    ("test_text_changes_audio", "textless"),
    ("test_text_changes_audio", "capped"),
    ("test_text_changes_audio", "length-only"),
    ("test_languages_change_speech", "monolingual"),
    ("test_same_seed_same_audio", "seed-ignored"),
    ("test_thread_safety_as_declared", "racy"),
    ("test_batch_as_declared", "batch-first"),
])
def test_each_fault_fails_its_check(check: str, fault: str, voices, tmp_path) -> None:
    run_check(check, "none", voices, tmp_path / "healthy")  # the same check passes without the fault
    with pytest.raises((AssertionError, pytest.fail.Exception, polyvox.PolyvoxError)):
        run_check(check, fault, voices, tmp_path / "broken")
