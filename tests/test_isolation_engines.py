"""ChatterBox and F5-TTS, each in its own environment and worker, driven by a kernel without torch.

The two engines' pins conflict (chatterbox-tts 0.1.7: numpy<2, gradio 6.8; f5-tts 1.1.22:
numpy 2, gradio 6.31), so each runs in the environment scripts/engine-env builds from its lock
(`.venv-chatterbox`, `.venv-f5tts`); the isolated environments made here are layered over those
(`envs.create(..., base=...)`), so nothing is downloaded. The kernel running this test is `.venv`
(numpy 2, no torch). The contract kit runs against both isolated engines, and one script whose two
lines use the two engines renders in one call with one cache. Tiny random-weight models, built
with the engines' own test helpers. Slow (minutes on a CPU): `make test-engines` runs it;
elsewhere it is skipped unless POLYVOX_TEST_ISOLATED_ENGINES=1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from isolation_kit import uv_env

import polyvox
from polyvox import Segment, testing
from polyvox.isolation import envs

ROOT = Path(__file__).resolve().parents[1]
PYTHONS = {name: ROOT / f".venv-{name}" / "bin" / "python" for name in ("chatterbox", "f5tts")}
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not os.environ.get("POLYVOX_TEST_ISOLATED_ENGINES") or not all(p.exists() for p in PYTHONS.values()),
    reason="needs .venv-chatterbox and .venv-f5tts (scripts/engine-env) and POLYVOX_TEST_ISOLATED_ENGINES=1")]

#: The plugins' own fast settings (their tests' conftest.py).
CHATTERBOX_FAST = {"max_new_tokens": 10, "flow_steps": 1}
F5TTS_FAST = {"nfe_step": 4}

#: Run with chatterbox's Python: a tiny checkpoint and two reference recordings (as its conftest).
BUILD_CHATTERBOX = """
import importlib.util, sys
from pathlib import Path
root, plugins = Path(sys.argv[1]), Path(sys.argv[2])
spec = importlib.util.spec_from_file_location("chatterbox_tiny", plugins / "chatterbox/tests/tiny.py")
cb = importlib.util.module_from_spec(spec); spec.loader.exec_module(cb)
cb.build(root / "chatterbox")
cb.write_voice(root / "low.wav", 110.0, 22050, seconds=1.0)
cb.write_voice(root / "high.flac", 260.0, 44100, seconds=1.0)
"""

#: Run with f5tts's Python: tiny default and German models (so the kit's language check runs
#: through the worker's language routing), the vocoder and config, two speech-like voices.
BUILD_F5TTS = """
CONFIG = '''
[models.F5TTS_v1_Base]
config = "tiny.yaml"

[models.tiny-de]
languages = ["de"]
checkpoint = "de/model.safetensors"
vocab = "de/vocab.txt"
config = "tiny.yaml"
license = "test weights"
'''
import sys
from importlib.resources import files
from pathlib import Path
import soundfile as sf
root, plugins = Path(sys.argv[1]), Path(sys.argv[2])
sys.path.insert(0, str(plugins / "f5tts/tests"))
import f5tiny
vocab = Path(str(files("f5_tts").joinpath("infer/examples/vocab.txt")))
f5tiny.build_model(root / "f5tts/F5TTS_v1_Base/model_1250000.safetensors", vocab, seed=0)
f5tiny.build_vocoder(root / "f5tts/vocos")
f5tiny.write_arch_config(root / "f5config/tiny.yaml")
f5tiny.build_model(root / "f5config/de/model.safetensors", f5tiny.write_vocab(root / "f5config/de/vocab.txt"), seed=1)
(root / "f5config/f5tts.toml").write_text(CONFIG)
sf.write(root / "ann.wav", f5tiny.speechlike(1.6, 24000, 140.0, seed=1), 24000)
sf.write(root / "bob.wav", f5tiny.speechlike(1.8, 24000, 210.0, seed=2), 24000)
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Both engines installed isolated, and one kernel (in this torch-free process) over them."""
    root = tmp_path_factory.mktemp("engines")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(root / "hf"),
                           "HF_HUB_CACHE": str(root / "hf" / "hub"), "PKUSEG_HOME": str(root / "pkuseg"),
                           "XDG_CONFIG_HOME": str(root / "config"),
                           # the workers: one torch thread each, as the plugins' own suites run
                           "OMP_NUM_THREADS": "1"}.items():
            mp.setenv(key, value)
        for name, build in (("chatterbox", BUILD_CHATTERBOX), ("f5tts", BUILD_F5TTS)):
            subprocess.run([str(PYTHONS[name]), "-c", build, str(root), str(ROOT / "plugins")], check=True,
                           timeout=1200)
        mp.setenv("POLYVOX_CHATTERBOX_DIR", str(root / "chatterbox"))
        mp.setenv("POLYVOX_F5TTS_DIR", str(root / "f5tts"))
        mp.setenv("POLYVOX_F5TTS_CONFIG", str(root / "f5config" / "f5tts.toml"))
        records = {name: envs.create(name, str(ROOT / "plugins" / name), directory=root / "envs",
                                     base=str(python), offline=True, no_deps=True, env=uv_env(root))
                   for name, python in PYTHONS.items()}
        mp.setenv("POLYVOX_ENVS_DIR", str(root / "envs"))
        kernel = polyvox.Kernel(cache_dir=root / "cache")
        try:
            yield {"root": root, "records": records, "kernel": kernel}
        finally:
            for name in records:
                kernel.plugins.pm.get_plugin(kernel.plugin_of(name)).host.close()


class _WorldKernel:
    """The contract suites below run against the one kernel of `world`, both engines isolated."""

    @pytest.fixture(scope="class")
    @classmethod
    def kernel(cls, world: dict[str, Any]) -> polyvox.Kernel:
        return world["kernel"]


class TestIsolatedChatterBoxContract(_WorldKernel, testing.EngineContract):
    """The kit's checks, each call crossing into chatterbox's worker (settings as the plugin's own contract)."""

    engine = "chatterbox"
    params = CHATTERBOX_FAST
    text = "The quick brown fox."
    longer_text_factor = 0.0  # 10 speech tokens at most: random weights always reach the cap
    batch_tolerance = 1e-4

    @pytest.fixture(scope="class")
    @classmethod
    def voices(cls, world: dict[str, Any]) -> list[polyvox.Voice]:
        return [polyvox.Voice(name="low", audio=world["root"] / "low.wav"),
                polyvox.Voice(name="high", audio=world["root"] / "high.flac")]


class TestIsolatedF5TTSContract(_WorldKernel, testing.EngineContract):
    """The same against f5tts's worker, f5-tts 1.1.22 and numpy 2 there."""

    engine = "f5tts"
    params = F5TTS_FAST
    batch_tolerance = 1e-3
    text_difference = 1e-6  # the tiny random-weight model hears its text faintly (plugins/f5tts/tests)

    @pytest.fixture(scope="class")
    @classmethod
    def voices(cls, world: dict[str, Any]) -> list[polyvox.Voice]:
        return [polyvox.Voice(name="ann", audio=world["root"] / "ann.wav", reference_text="This is how I sound today."),
                polyvox.Voice(name="bob", audio=world["root"] / "bob.wav",
                              reference_text="And this is my own voice, Bob.")]


def test_chatterbox_and_f5tts_render_one_script_from_their_own_workers(world):
    kernel, records = world["kernel"], world["records"]
    # each worker runs its own lock's packages, which could not share one environment ...
    assert records["chatterbox"].versions["chatterbox-tts"] == "0.1.7"
    assert records["chatterbox"].versions["numpy"].startswith("1.")
    assert records["f5tts"].versions["f5-tts"] == "1.1.22" and records["f5tts"].versions["numpy"].startswith("2.")
    # ... and the kernel has neither's torch
    assert int(np.__version__.split(".")[0]) >= 2 and "torch" not in sys.modules
    for name, record in records.items():
        assert kernel.runs_in(name) == record.describe(), kernel.failures
    ann = polyvox.Voice(name="ann", audio=world["root"] / "ann.wav", reference_text="Some words spoken slowly.")
    script = [Segment(text="Hello from the first engine.", character="ann", engine="chatterbox",
                      params=CHATTERBOX_FAST),
              Segment(text="And hello from the second.", character="ann", engine="f5tts", params=F5TTS_FAST)]
    result = kernel.render(script, voices={"ann": ann})
    assert [s.engine for s in result.segments] == ["chatterbox", "f5tts"]
    assert result.stats.synthesized == 2 and result.audio.duration > 0.2
    assert np.all(np.isfinite(result.audio.samples)) and np.abs(result.audio.samples).max() > 0
    again = kernel.render(script, voices={"ann": ann})  # one cache, in the kernel
    assert again.stats.cached == 2 and np.array_equal(again.audio.samples, result.audio.samples)
    assert "torch" not in sys.modules


def test_a_new_plugin_that_needs_numpy_1_runs_isolated_beside_a_numpy_2_kernel(world, tmp_path, monkeypatch):
    """A plugin author's path: `polyvox new-plugin`, a requirement the kernel's environment
    cannot meet (numpy<2), the isolated entry point; its environment (over chatterbox's locked
    packages, so nothing is downloaded) runs it with numpy 1 while this kernel keeps numpy 2."""
    from polyvox.plugin.scaffold import new_plugin

    made = new_plugin("oldnum", tmp_path / "polyvox-oldnum")
    pyproject = made.directory / "pyproject.toml"
    text = pyproject.read_text().replace('    "numpy",\n', '    "numpy<2",\n', 1)
    assert '"numpy<2"' in text
    pyproject.write_text(text + '\n[project.entry-points."polyvox.isolated"]\n'
                                f'oldnum = "{made.names.package}:plugin"\n')
    assert envs.declares_isolation(made.directory)  # what makes `polyvox install DIR` isolate it
    record = envs.create("oldnum", str(made.directory), directory=tmp_path / "envs", base=str(PYTHONS["chatterbox"]),
                         offline=True, no_deps=True, env=uv_env(tmp_path))
    assert record.versions["numpy"].startswith("1.") and int(np.__version__.split(".")[0]) >= 2
    monkeypatch.setenv("POLYVOX_ENVS_DIR", str(tmp_path / "envs"))
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    try:
        assert kernel.runs_in(made.names.engine) == record.describe(), kernel.failures
        isolated = kernel.render("One line from the old numpy.", engine=made.names.engine, seed=1)
    finally:
        kernel.plugins.pm.get_plugin(kernel.plugin_of(made.names.engine)).host.close()
    local = polyvox.Kernel(cache=False, load_entry_points=False)
    local.register(_load_in_process(made.directory, made.names.package))
    alone = local.render("One line from the old numpy.", engine=made.names.engine, seed=1)
    assert isolated.audio.duration > 0.3 and np.abs(isolated.audio.samples).max() > 0.01
    np.testing.assert_allclose(isolated.audio.samples, alone.audio.samples, atol=1e-6)


def _load_in_process(folder: Path, package: str) -> Any:
    """The scaffolded plugin imported here (numpy 2), to compare its audio with the worker's."""
    sys.path.insert(0, str(folder))
    try:
        return __import__(package).plugin
    finally:
        sys.path.remove(str(folder))
