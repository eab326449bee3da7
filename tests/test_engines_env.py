"""The GPU engines' environments (scripts/engine-env), checked from the kernel's torch-free .venv.

Each engine plugin has its own: `.venv-<name>` in the checkout, layered over a shared environment
built from `plugins/<name>/requirements.lock`. These tests hold that each one has exactly its
lock's versions and no broken requirement, that the kernel (with Piper) works there beside the
engine's pins, that the two environments share torch's files on disk, and that the kernel's
own environment has no torch. `make test-engines` runs them (POLYVOX_TEST_ISOLATED_ENGINES=1).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("chatterbox", "f5tts")
pytestmark = pytest.mark.skipif(not os.environ.get("POLYVOX_TEST_ISOLATED_ENGINES"),
                                reason="needs the engines' environments: make test-engines")

_INSTALLED = ("import importlib.metadata as m, json\n"
              "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))")
_SPEAK = """
import json, sys
import polyvox
kernel = polyvox.Kernel(cache_dir=sys.argv[1])
audio = kernel.synthesize("Piper still speaks here.")
print(json.dumps({"engines": sorted(e.name for e in kernel.engines()), "failures": [str(f) for f in kernel.failures],
                  "rate": audio.sample_rate, "duration": audio.duration, "rms": audio.rms,
                  "default": kernel.plan("Hello.")[0].engine, "polyvox": polyvox.__file__}))
"""


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _python(name: str) -> Path:
    python = ROOT / f".venv-{name}" / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: scripts/engine-env {name} builds it")
    return python


def _run(command: list[str], timeout: float = 300) -> str:
    proc = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{command[0]} {command[1:3]}: {proc.stderr[-2000:]}"
    return proc.stdout


def _lock(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / "plugins" / name / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            package, version = line.split(";")[0].strip().split("==")
            pins[_norm(package)] = version
    return pins


def _shared_site(name: str) -> Path:
    """The shared layer's site-packages, as the overlay's .pth file names it."""
    (pth,) = (ROOT / f".venv-{name}").glob("lib/python*/site-packages/_polyvox_engines_shared.pth")
    return Path(pth.read_text().strip())


@pytest.mark.parametrize("name", ENGINES)
def test_environment_holds_exactly_its_lock_and_this_checkout(name):
    installed = {_norm(k): v for k, v in json.loads(_run([_python(name), "-c", _INSTALLED])).items()}
    pins = _lock(name)
    wrong = {p: (v, installed.get(p)) for p, v in pins.items() if installed.get(p) != v}
    assert not wrong, f"{name}: lock pin vs installed: {wrong}"
    extra = set(installed) - set(pins) - {"polyvox", f"polyvox-{name}"}
    assert not extra, f"{name}: installed but not in its lock: {sorted(extra)}"
    assert installed["polyvox"] and installed[f"polyvox-{name}"]


def test_the_two_engines_keep_their_own_pins():
    """What made one shared environment impossible: each lock has its engine's conflicting pins."""
    chatterbox, f5tts = _lock("chatterbox"), _lock("f5tts")
    assert chatterbox["chatterbox-tts"] == "0.1.7" and chatterbox["numpy"].startswith("1.")
    assert chatterbox["gradio"] == "6.8.0" and "f5-tts" not in chatterbox
    assert f5tts["f5-tts"] == "1.1.22" and f5tts["numpy"].startswith("2.") and "chatterbox-tts" not in f5tts
    assert chatterbox["torch"] == f5tts["torch"] == "2.6.0"  # one torch in uv's cache for both


@pytest.mark.parametrize("name", ENGINES)
def test_no_broken_requirements(name):
    """pip check, run by the kernel's pip against the engine's interpreter (which has no pip),
    sees both layers: the overlay's kernel and plugin and the shared packages under them."""
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(_python(name)), "check"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No broken requirements found" in proc.stdout


@pytest.mark.parametrize("name", ENGINES)
def test_kernel_and_piper_work_beside_the_engine(name, tmp_path):
    """The checkout's kernel, under the engine's pins, finds the engine and still speaks with Piper."""
    found = json.loads(_run([_python(name), "-c", _SPEAK, tmp_path], timeout=600).splitlines()[-1])
    assert found["polyvox"].startswith(str(ROOT / "core")), found["polyvox"]  # this checkout, editable
    assert {"piper", name} <= set(found["engines"]) and not found["failures"], found
    assert found["rate"] == 22050 and found["duration"] > 0.8 and found["rms"] > 0.02
    assert found["default"] == "piper"  # with no engine named, English goes to Piper (the GPU engines need weights)


def test_the_environments_share_torch_on_disk():
    """uv links identical wheels from its cache: torch's largest library is one file (one inode)
    in both engines' environments, so the second environment costs no second torch."""
    libs = [next((_shared_site(name) / "torch" / "lib").glob("libtorch_cpu.so*")) for name in ENGINES]
    first, second = (os.stat(lib) for lib in libs)
    if first.st_dev != second.st_dev:
        pytest.skip("the two environments are on different filesystems")
    assert libs[0] != libs[1] and first.st_ino == second.st_ino and first.st_nlink >= 2, libs


def test_the_kernel_environment_has_no_torch():
    assert importlib.util.find_spec("torch") is None, "torch is installed in the kernel's environment"
    assert "torch" not in sys.modules
