"""`polyvox install` / `uninstall`: name resolution, what is reported, and a real round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from polyvox.cli import cli
from polyvox.plugin import installer
from polyvox.plugin.installer import Conflict, InstallError, resolve
from polyvox.plugin.scaffold import new_plugin
from polyvox.testing import Sandbox

CHECKOUT_PLUGINS = Path(__file__).resolve().parents[1] / "plugins"


def test_a_short_name_is_the_checkout_folder_when_there_is_one() -> None:
    target = resolve("template")
    assert target.requirement == str(CHECKOUT_PLUGINS / "template")
    assert "source checkout" in target.note and target.is_path and target.editable
    assert installer.pip_command([target])[-2:] == ["-e", str(CHECKOUT_PLUGINS / "template")]


@pytest.mark.parametrize(("given", "requirement"), [
    ("kokoro", "polyvox-kokoro"),
    ("polyvox-kokoro", "polyvox-kokoro"),
    ("kokoro>=1.2", "polyvox-kokoro>=1.2"),
    ("kokoro[gpu]==2.0", "polyvox-kokoro[gpu]==2.0"),
    ("template==0.1", "polyvox-template==0.1"),  # a version asks for the published distribution
])
def test_a_short_name_is_the_polyvox_distribution(given: str, requirement: str, tmp_path) -> None:
    assert resolve(given, plugins_dir=tmp_path).requirement == requirement
    assert resolve(given, plugins_dir=tmp_path).note == ""


@pytest.mark.parametrize("given", ["piper", "polyvox-piper", "piper>=0.1"])
def test_the_built_in_engine_is_not_installed_again(given: str, tmp_path) -> None:
    with pytest.raises(InstallError, match="'piper' is built into polyvox: nothing to install"):
        resolve(given, plugins_dir=tmp_path)


def test_paths_must_be_plugin_folders(tmp_path) -> None:
    with pytest.raises(InstallError, match="no pyproject.toml"):
        resolve(str(tmp_path))
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert resolve(str(tmp_path)).requirement == str(tmp_path)


def test_editable_needs_a_folder(tmp_path) -> None:
    with pytest.raises(InstallError, match="-e needs a plugin folder"):
        installer.pip_command([resolve("kokoro", plugins_dir=tmp_path)], editable=True)
    command = installer.pip_command([resolve("template")], editable=True, upgrade=True)
    assert command[-4:] == ["install", "--upgrade", "-e", str(CHECKOUT_PLUGINS / "template")]


class FakePip:
    """Answers the commands installer runs: engines before/after, pip itself, pip check."""

    def __init__(self, before: str, after: str, pip: tuple[int, str] = (0, "Successfully installed"),
                 check: tuple[int, str] = (0, "No broken requirements found.")):
        self.listings = [before, after]
        self.pip = pip
        self.check = check
        self.commands: list[list[str]] = []

    def __call__(self, command):
        self.commands.append(list(command))
        if "--dry-run" in command:  # the resolve before the install: nothing the kernel has changes
            Path(command[command.index("--report") + 1]).write_text('{"install": []}')
            return 0, ""
        if command[1] == "-c":
            return 0, self.listings.pop(0)
        return self.check if command[-1] == "check" else self.pip


def test_install_reports_new_engines_and_named_conflicts() -> None:
    fake = FakePip('{"engines": {"piper": "piper"}, "failures": []}',
                   '{"engines": {"piper": "piper", "styletts": "styletts"}, "failures": []}',
                   check=(1, "polyvox-styletts 1.0 has requirement torch>=2.5, but you have torch 2.1.\n"
                             "piper-tts 1.8.0 requires onnxruntime, which is not installed.\n"))
    outcome = installer.install(["styletts"], runner=fake)
    assert fake.commands[0][3:5] == ["install", "--dry-run"] and fake.commands[0][-1] == "polyvox-styletts"
    assert fake.commands[2][-2:] == ["install", "polyvox-styletts"]
    assert outcome.added == {"styletts": "styletts"} and outcome.removed == {}
    assert [c.package for c in outcome.conflicts] == ["polyvox-styletts", "piper-tts"]


def test_pip_failure_is_one_polyvox_error() -> None:
    fake = FakePip('{"engines": {}, "failures": []}', "", pip=(1, "Collecting polyvox-nope\n"
                   "ERROR: No matching distribution found for polyvox-nope\n"))
    with pytest.raises(InstallError, match="pip install failed for nope: ERROR: No matching distribution"):
        installer.install(["nope"], runner=fake)


def test_uninstall_refuses_polyvox_and_what_is_not_installed() -> None:
    with pytest.raises(InstallError, match="remove polyvox itself with pip"):
        installer.uninstall(["polyvox"])
    fake = FakePip('{"engines": {}, "failures": []}', "",
                   pip=(0, "WARNING: Skipping polyvox-ghost as it is not installed.\n"))
    with pytest.raises(InstallError, match="polyvox-ghost is not installed"):
        installer.uninstall(["ghost"], runner=fake)


def test_cli_shows_the_checkout_folder_and_warns_on_conflicts(monkeypatch) -> None:
    outcome = installer.Outcome((), "", {"template": "template"}, {}, {"template": "template"}, (),
                                (Conflict("numba", "numba 0.60 has requirement numpy<2.1, but you have numpy 2.4."),))
    monkeypatch.setattr(installer, "install", lambda names, **kw: outcome)
    monkeypatch.setattr("polyvox.installing.install", installer.install)  # the CLI's face
    result = CliRunner().invoke(cli, ["install", "template"])
    assert result.exit_code == 0, result.output
    folder = CHECKOUT_PLUGINS / "template"
    assert f"template: using {folder} from the polyvox source checkout (editable)" in result.output
    assert "New engine: template (plugin template)" in result.output
    assert "dependency conflicts in this environment (numba)" in result.output


@pytest.mark.slow
def test_install_and_uninstall_round_trip(tmp_path_factory: pytest.TempPathFactory,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # No package index: the build uses the setuptools already installed, the dependencies are there.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    sandbox = Sandbox(tmp_path_factory.mktemp("sandbox") / "env")
    plugin = new_plugin("roundtrip", tmp_path_factory.mktemp("src") / "roundtrip").directory
    installed = sandbox.polyvox("install", plugin, "-e", "--no-build-isolation")
    assert "New engine: roundtrip (plugin roundtrip)" in installed.stdout, installed.stdout + installed.stderr
    assert "roundtrip" in sandbox.polyvox("engines").stdout
    removed = sandbox.polyvox("uninstall", "roundtrip", "--yes")
    assert "Removed engine: roundtrip" in removed.stdout
    assert "roundtrip" not in sandbox.polyvox("engines").stdout

    # A plugin whose dependency is missing: pip check names it, and so does polyvox install.
    broken = new_plugin("needy", tmp_path_factory.mktemp("src") / "needy").directory
    pyproject = broken / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"numpy",', '"numpy",\n    "polyvox-missing-dependency",'))
    sandbox.run("-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", broken)
    conflicts = installer.pip_check(python=str(sandbox.python))
    assert [c.package for c in conflicts] == ["polyvox-needy"]
    assert "polyvox-missing-dependency" in conflicts[0].message


def test_a_plugins_source_folder_is_not_taken_for_what_is_installed(tmp_path, monkeypatch) -> None:
    """Run in a plugin's own folder (where its egg-info lies after an editable build), `polyvox
    install`/`uninstall` list the environment's engines, not the folder's."""
    (tmp_path / "ghostplug.egg-info").mkdir()
    (tmp_path / "ghostplug.egg-info" / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: ghostplug\nVersion: 1.0\n")
    (tmp_path / "ghostplug.egg-info" / "entry_points.txt").write_text("[polyvox]\nghost = ghostmod\n")
    (tmp_path / "ghostmod.py").write_text(
        "import polyvox\n\n@polyvox.hookimpl\ndef register_engines(register):\n"
        "    register(polyvox.EngineSpec(name='ghost', sample_rate=16000, languages=('en',), default_model='g'))\n")
    monkeypatch.chdir(tmp_path)
    found, failures = installer.engines()
    assert "ghost" not in found and not [f for f in failures if f[0] == "ghost"]
    assert "piper" in found


def test_an_environment_without_pip_is_told_how_to_get_it() -> None:
    def no_pip(command):
        return 1, "/venv/bin/python: No module named pip\n"

    with pytest.raises(InstallError, match=r"has no pip .*uv pip install --python .* pip"):
        installer.install(["styletts"], runner=no_pip)
