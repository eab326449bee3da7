"""A newcomer's first plugin (issue 30): installing one never changes the packages polyvox runs
on, a plugin that does nothing says so, and `polyvox new-plugin` works from a wheel."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_plugins import make_distribution

import polyvox
from polyvox.cli import cli
from polyvox.plugin import installer
from polyvox.plugin.scaffold import new_plugin
from polyvox.testing import Sandbox

ROOT = Path(__file__).resolve().parents[1]


def fake_wheel(folder: Path, name: str, version: str) -> Path:
    """A minimal, valid wheel of `name` `version` (one empty module): something pip can resolve
    to offline. It is never installed into the test environment."""
    module = f"_{name}_stand_in"
    dist_info = f"{name}-{version}.dist-info"
    files = {f"{module}.py": b"",
             f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
             f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}

    def digest(data: bytes) -> str:
        return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    record = "".join(f"{path},{digest(data)},{len(data)}\n" for path, data in files.items()) + f"{dist_info}/RECORD,,\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        archive.writestr(f"{dist_info}/RECORD", record)
    return wheel


def test_a_plan_that_changes_kernel_packages_is_refused_before_pip_installs(tmp_path: Path) -> None:
    """The dry run's report names numpy 1.26.4 for a numpy 2 environment: refused, naming the
    package, both versions and --isolated; the real `pip install` never runs."""
    commands: list[list[str]] = []
    installed = {"numpy": ("numpy", "2.2.6"), "polyvox": ("polyvox", "0.2.0")}

    def runner(command):
        commands.append(list(command))
        if "--dry-run" in command:
            Path(command[command.index("--report") + 1]).write_text(json.dumps({"install": [
                {"metadata": {"name": "polyvox-old", "version": "0.1"}, "requested": True},
                {"metadata": {"name": "numpy", "version": "1.26.4"}, "requested": False},
                {"metadata": {"name": "tqdm", "version": "4.67.1"}, "requested": False}]}))
            return 0, ""
        if command[1] == "-c" and "importlib.metadata" in command[2]:
            return 0, json.dumps([[name, version] for name, version in installed.values()])
        raise AssertionError(f"ran {command} after the dry run")

    plugin = tmp_path / "polyvox-old"
    plugin.mkdir()
    (plugin / "pyproject.toml").write_text("[project]\nname = 'polyvox-old'\n")
    with pytest.raises(installer.KernelChangeError) as refused:
        installer.install([str(plugin)], runner=runner)
    assert [str(c) for c in refused.value.changes] == ["numpy 2.2.6 -> 1.26.4"]  # tqdm is new: no change
    message = str(refused.value)
    assert "numpy 2.2.6 -> 1.26.4" in message and f"polyvox install {plugin} --isolated" in message
    assert "\n" not in message and not [c for c in commands if "install" in c and "--dry-run" not in c]


@pytest.mark.slow
def test_installing_a_plugin_never_changes_the_kernels_packages(tmp_path_factory: pytest.TempPathFactory,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """For real, in a sandbox over this environment, offline: a plugin requiring numpy<2 (a
    local stand-in wheel satisfies it) is refused in one line and numpy stays as it is; a plugin
    whose entry point names a module without hooks installs with a warning saying so."""
    import numpy

    wheels = tmp_path_factory.mktemp("wheels")
    fake_wheel(wheels, "numpy", "1.26.4")  # what polyvox allows, and numpy<2 too
    # onnx (Piper's word times) needs ml_dtypes, whose 0.7 wants numpy 2: online, pip would take 0.5.4.
    fake_wheel(wheels, "ml_dtypes", "0.5.4")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    sandbox = Sandbox(tmp_path_factory.mktemp("sandbox") / "env")
    old = new_plugin("oldnumpy", tmp_path_factory.mktemp("src") / "oldnumpy").directory
    pyproject = old / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('    "numpy",\n', '    "numpy<2",\n'))
    refused = sandbox.polyvox("install", old, "--no-build-isolation", check=False)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    error = refused.stderr.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("Error: installing") and "--isolated" in error[0], refused.stderr
    assert f"numpy {numpy.__version__} -> 1.26.4" in error[0]
    kept = sandbox.run("-c", "import numpy, importlib.metadata as m; print(numpy.__version__, "
                             "[d.metadata['Name'] for d in m.distributions() if 'oldnumpy' in d.metadata['Name']])")
    assert kept.stdout.split(maxsplit=1) == [numpy.__version__, "[]\n"]

    empty = new_plugin("hollow", tmp_path_factory.mktemp("src") / "hollow").directory
    pyproject = empty / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('hollow = "polyvox_hollow:plugin"', 'hollow = "polyvox_hollow"'))
    installed = sandbox.polyvox("install", empty, "-e", "--no-build-isolation")
    assert "Warning: plugin hollow fails to load: module 'polyvox_hollow' implements no polyvox hook" \
        in installed.stderr, installed.stdout + installed.stderr
    listed = sandbox.polyvox("plugins")
    assert "EMPTY hollow (polyvox-hollow): module 'polyvox_hollow' implements no polyvox hook" in listed.stdout


@pytest.fixture
def hollow_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # the entry point names the module, whose engine object is `plugin` (a bare module)
    make_distribution(tmp_path, "polyvox-bare", "bare_module", """
        import polyvox
        from polyvox_template import Template as Engine

        plugin = Engine()
    """)
    # hooks written without @hookimpl: pluggy sees nothing
    make_distribution(tmp_path, "polyvox-undecorated", "undecorated", """
        def register_engines(register):
            raise AssertionError("never called")

        def map_language(engine, language):
            return None
    """)
    # a language pack: one hook, no engine, and that is fine
    make_distribution(tmp_path, "polyvox-pack", "pack", """
        import polyvox

        @polyvox.hookimpl
        def map_language(engine, language):
            return None
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("POLYVOX_PLUGINS", "piper,bare_module,undecorated,pack")
    yield
    for name in ("bare_module", "undecorated", "pack"):
        sys.modules.pop(name, None)


def test_a_plugin_that_registers_nothing_is_reported(hollow_plugins) -> None:
    kernel = polyvox.Kernel(cache=False)
    failures = {f.name: f for f in kernel.failures}
    assert set(failures) == {"bare_module", "undecorated"}
    assert all(f.kind == "empty" for f in failures.values())
    assert "module 'bare_module' implements no polyvox hook and declares no engine" in failures["bare_module"].error
    assert {p.name for p in kernel.plugin_info()} >= {"pack", "piper"}
    shown = CliRunner().invoke(cli, ["plugins"])
    assert shown.exit_code == 0, shown.output
    assert "EMPTY undecorated (polyvox-undecorated): module 'undecorated' implements no polyvox hook" in shown.stdout
    data = json.loads(CliRunner().invoke(cli, ["plugins", "--json"]).stdout)
    assert {f["name"]: f["kind"] for f in data["failures"]} == {"bare_module": "empty", "undecorated": "empty"}
