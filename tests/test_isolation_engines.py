"""ChatterBox and F5-TTS, each in its own worker, in one render from a kernel without torch.

The two engine environments are layered over the project's engines environment
(`.venv-engines`: torch 2.6, numpy<2; built by scripts/engines-env), so nothing is downloaded,
while the kernel running this test is `.venv` (numpy 2, no torch). Tiny random-weight models,
built with the engines' own test helpers. Slow (minutes on a CPU): `make test-engines` runs it;
elsewhere it is skipped unless POLYVOX_TEST_ISOLATED_ENGINES=1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from isolation_kit import uv_env

import polyvox
from polyvox import Segment
from polyvox.isolation import envs

ROOT = Path(__file__).resolve().parents[1]
ENGINES_PY = ROOT / ".venv-engines" / "bin" / "python"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not os.environ.get("POLYVOX_TEST_ISOLATED_ENGINES") or not ENGINES_PY.exists(),
    reason="needs .venv-engines (scripts/engines-env) and POLYVOX_TEST_ISOLATED_ENGINES=1")]

#: Run with the engines' Python: tiny ChatterBox and F5-TTS checkpoints and a reference voice.
BUILD = """
import importlib.util, os, sys
from importlib.resources import files
from pathlib import Path
import soundfile as sf
root, plugins = Path(sys.argv[1]), Path(sys.argv[2])
spec = importlib.util.spec_from_file_location("chatterbox_tiny", plugins / "chatterbox/tests/tiny.py")
cb = importlib.util.module_from_spec(spec); spec.loader.exec_module(cb)
cb.build(root / "chatterbox")
sys.path.insert(0, str(plugins / "f5tts/tests"))
import f5tiny
vocab = Path(str(files("f5_tts").joinpath("infer/examples/vocab.txt")))
f5tiny.build_model(root / "f5tts/F5TTS_v1_Base/model_1250000.safetensors", vocab, seed=0)
f5tiny.build_vocoder(root / "f5tts/vocos")
f5tiny.write_arch_config(root / "f5config/tiny.yaml")
(root / "f5config/f5tts.toml").write_text('[models.F5TTS_v1_Base]\\nconfig = "tiny.yaml"\\n')
sf.write(root / "ann.wav", f5tiny.speechlike(1.6, 24000, 140.0, seed=1), 24000)
"""


def test_chatterbox_and_f5tts_render_one_script_from_their_own_workers(tmp_path, monkeypatch):
    offline = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"),
               "PKUSEG_HOME": str(tmp_path / "pkuseg")}
    for key, value in offline.items():
        monkeypatch.setenv(key, value)
    subprocess.run([str(ENGINES_PY), "-c", BUILD, str(tmp_path), str(ROOT / "plugins")], check=True, timeout=1200)
    monkeypatch.setenv("POLYVOX_CHATTERBOX_DIR", str(tmp_path / "chatterbox"))
    monkeypatch.setenv("POLYVOX_F5TTS_DIR", str(tmp_path / "f5tts"))
    monkeypatch.setenv("POLYVOX_F5TTS_CONFIG", str(tmp_path / "f5config" / "f5tts.toml"))
    records = {name: envs.create(name, str(ROOT / "plugins" / name), directory=tmp_path / "envs",
                                 base=str(ENGINES_PY), offline=True, no_deps=True, env=uv_env(tmp_path))
               for name in ("chatterbox", "f5tts")}
    assert records["chatterbox"].versions["numpy"].startswith("1.")  # the engines' numpy ...
    assert int(np.__version__.split(".")[0]) >= 2 and "torch" not in sys.modules  # ... not the kernel's
    monkeypatch.setenv("POLYVOX_ENVS_DIR", str(tmp_path / "envs"))
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    try:
        for name, record in records.items():
            assert kernel.runs_in(name) == record.describe()
        ann = polyvox.Voice(name="ann", audio=tmp_path / "ann.wav", reference_text="Some words spoken slowly.")
        script = [Segment(text="Hello from the first engine.", character="ann", engine="chatterbox",
                          params={"max_new_tokens": 10, "flow_steps": 1}),
                  Segment(text="And hello from the second.", character="ann", engine="f5tts",
                          params={"nfe_step": 4})]
        result = kernel.render(script, voices={"ann": ann})
        assert [s.engine for s in result.segments] == ["chatterbox", "f5tts"]
        assert result.stats.synthesized == 2 and result.audio.duration > 0.2
        assert np.all(np.isfinite(result.audio.samples)) and np.abs(result.audio.samples).max() > 0
        again = kernel.render(script, voices={"ann": ann})  # one cache, in the kernel
        assert again.stats.cached == 2 and np.array_equal(again.audio.samples, result.audio.samples)
    finally:
        for name in records:
            kernel.plugins.pm.get_plugin(kernel.plugin_of(name)).host.close()
