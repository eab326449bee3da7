"""Runs in the engines' environment (.venv-engines): the kernel and Piper work under the GPU
engines' pins (numpy<2, torch 2.6), and every engine plugin there is discovered."""

from __future__ import annotations

from importlib.metadata import entry_points, version

import numpy as np
import pytest

import polyvox

pytestmark = pytest.mark.skipif(
    not any(ep.name in ("chatterbox", "f5tts") for ep in entry_points(group="polyvox")),
    reason="only meaningful where the GPU engine plugins are installed (make test-engines)",
)


def test_pins_hold():
    assert int(np.__version__.split(".")[0]) < 2
    assert version("torch").startswith("2.6.")


def test_piper_speaks_beside_the_gpu_engines(tmp_path):
    kernel = polyvox.Kernel(cache_dir=tmp_path)
    names = {e.name for e in kernel.engines()}
    assert {"piper", "chatterbox", "f5tts"} <= names, kernel.failures
    assert not kernel.failures
    audio = kernel.synthesize("Piper still speaks here.")
    assert audio.sample_rate == 22050 and audio.duration > 0.8 and audio.rms > 0.02
    # with no engine named, English still goes to Piper (the GPU engines need weights)
    assert kernel.plan("Hello.")[0].engine == "piper"
