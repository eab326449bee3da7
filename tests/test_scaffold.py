"""`polyvox new-plugin`: a scaffolded plugin installs, is found, speaks and passes its own tests."""

from __future__ import annotations

import sys

import pytest

import polyvox
from polyvox.plugin.scaffold import Names, ScaffoldError, hook_api_range, new_plugin, template_dir
from polyvox.testing import Sandbox


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """A throwaway environment over .venv: installs there never change .venv."""
    return Sandbox(tmp_path_factory.mktemp("sandbox") / "env")


@pytest.mark.slow
def test_scaffolded_plugin_installs_speaks_and_passes_its_tests(sandbox: Sandbox, tmp_path) -> None:
    target = tmp_path / "plugins" / "my-voice"
    made = sandbox.polyvox("new-plugin", "my-voice", "--dir", target, "--author", "Ada Lovelace")
    assert "engine 'my-voice'" in made.stdout
    assert 'name = "Ada Lovelace"' in (target / "pyproject.toml").read_text()

    sandbox.pip_install_editable(target)

    engines = sandbox.polyvox("engines").stdout
    assert "my-voice" in engines and "16000" in engines
    plugins = sandbox.polyvox("plugins").stdout
    assert "polyvox-my-voice" in plugins

    script = tmp_path / "story.txt"
    script.write_text("Hello there. [pause:0.3s]\n[Bob] A second line, for Bob.\n")
    out = tmp_path / "story.wav"
    sandbox.polyvox("--cache-dir", tmp_path / "cache", "render", script, "-o", out, "--engine", "my-voice")
    audio = polyvox.Audio.read(out)
    assert audio.sample_rate == 16000 and audio.duration > 2.0 and audio.rms > 0.01

    tests = sandbox.run("-m", "pytest", "-q", "-p", "no:cacheprovider", target / "tests", cwd=target)
    assert " passed" in tests.stdout and "failed" not in tests.stdout and "error" not in tests.stdout.lower()


def test_the_running_environment_is_untouched() -> None:
    """The sandbox installs above never reach the environment the tests run in."""
    from importlib.metadata import PackageNotFoundError, version

    with pytest.raises(PackageNotFoundError):
        version("polyvox-my-voice")


def test_every_name_is_derived_from_one() -> None:
    n = Names.from_name("my-voice")
    assert (n.distribution, n.package, n.engine, n.class_name, n.constant) == (
        "polyvox-my-voice", "polyvox_my_voice", "my-voice", "MyVoice", "MY_VOICE")
    assert Names.from_name("polyvox-kokoro", engine="kokoro82m").engine == "kokoro82m"
    assert n.rename("polyvox_template.Template TEMPLATE template polyvox-template") == (
        "polyvox_my_voice.MyVoice MY_VOICE my-voice polyvox-my-voice")
    assert n.rename("tests/test_template_contract.py", path=True) == "tests/test_my_voice_contract.py"


@pytest.mark.parametrize("bad", ["", "My Voice", "1voice", "my--voice", "voice!", "template", "my-template", "é"])
def test_bad_names_are_refused(bad: str, tmp_path) -> None:
    with pytest.raises(ScaffoldError, match="not valid"):
        new_plugin(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_bad_engine_name_is_refused(tmp_path) -> None:
    with pytest.raises(ScaffoldError, match="engine name 'My Engine' is not valid"):
        new_plugin("mine", tmp_path / "out", engine="My Engine")


def test_an_existing_directory_is_never_overwritten(tmp_path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(ScaffoldError, match="already exists"):
        new_plugin("fresh", target)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_the_scaffold_keeps_no_trace_of_the_template(tmp_path) -> None:
    made = new_plugin("kokoro", tmp_path / "kokoro")
    assert {p.relative_to(made.directory).as_posix() for p in made.files} >= {
        "pyproject.toml", "README.md", "polyvox_kokoro/__init__.py", "tests/test_kokoro_contract.py"}
    for path in made.files:
        assert "template" not in path.read_text().lower(), path
    assert not any("egg-info" in str(p) or "__pycache__" in str(p) for p in made.files)
    source = (template_dir() / "polyvox_template" / "__init__.py").read_text()
    # the template's code, with the hook API range of this kernel (the scaffold writes it, whatever the template says)
    expected = Names.from_name("kokoro").rename(source).replace('polyvox_hook_api = ">=1.0,<2"',
                                                                f'polyvox_hook_api = "{hook_api_range()}"')
    assert (made.directory / "polyvox_kokoro" / "__init__.py").read_text() == expected


def test_the_scaffold_declares_the_hook_api_and_what_publishing_needs(tmp_path) -> None:
    """A new plugin is loadable by this kernel (its hook API range contains polyvox.HOOK_API), and
    its pyproject declares a licence, the kernel range and URLs, so it publishes as it is."""
    import tomllib

    from packaging.specifiers import SpecifierSet

    from polyvox.plugin.compat import declared_range, hook_api_version, incompatibility

    made = new_plugin("kokoro", tmp_path / "kokoro", author="Ada Lovelace")
    namespace: dict[str, object] = {}
    for line in (made.directory / "polyvox_kokoro" / "__init__.py").read_text().splitlines():
        if line.startswith("polyvox_hook_api"):
            exec(line, namespace)
    declared = namespace["polyvox_hook_api"]
    assert declared == ">=1.1,<2" and hook_api_version() in SpecifierSet(declared)
    module = type(sys)("polyvox_kokoro_probe")
    module.polyvox_hook_api = declared
    assert declared_range(module) == declared and incompatibility(module) is None
    project = tomllib.loads((made.directory / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and (made.directory / "LICENSE").is_file()
    assert "Ada Lovelace" in (made.directory / "LICENSE").read_text()
    assert any(d.replace(" ", "").startswith("polyvox>=0.2,<1") for d in project["dependencies"])
    assert {"Homepage", "Source"} <= set(project["urls"]) and project["requires-python"] == ">=3.11"


def test_a_missing_template_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ScaffoldError, match="is not the plugin template"):
        new_plugin("fresh", tmp_path / "out", template=tmp_path)
    assert not (tmp_path / "out").exists()


def test_the_cli_prints_a_one_line_error(tmp_path) -> None:
    from click.testing import CliRunner

    from polyvox.cli import cli

    result = CliRunner().invoke(cli, ["new-plugin", "Bad Name", "--dir", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "plugin name 'Bad Name' is not valid" in result.output
