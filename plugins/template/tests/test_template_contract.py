"""The Template engine against the engine contract kit: every check of polyvox.testing."""

from __future__ import annotations

import numpy as np
import pytest

import polyvox
from polyvox.testing import EngineContract


def reference_voice(folder, name: str, f0: float) -> polyvox.Voice:
    """A voice whose reference audio is one second of a harmonic tone at `f0` Hz."""
    t = np.arange(16000) / 16000
    tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    path = folder / f"{name}.wav"
    polyvox.Audio(0.5 * tone / np.max(np.abs(tone)), 16000).write(path)
    return polyvox.Voice(name=name, audio=path)


class TestTemplateContract(EngineContract):
    engine = "template"

    @pytest.fixture(scope="class")
    @classmethod
    def kernel(cls, tmp_path_factory: pytest.TempPathFactory) -> polyvox.Kernel:
        # Only this plugin, found through its installed entry point, with a private cache.
        return polyvox.Kernel(cache_dir=tmp_path_factory.mktemp("cache"), plugins=["template"])

    @pytest.fixture(scope="class")
    @classmethod
    def voices(cls, tmp_path_factory: pytest.TempPathFactory) -> list[polyvox.Voice]:
        folder = tmp_path_factory.mktemp("voices")
        return [reference_voice(folder, "low", 110.0), reference_voice(folder, "high", 220.0)]
