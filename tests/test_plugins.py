"""Plugin discovery: entry points, the built-in plugin, broken plugins, POLYVOX_PLUGINS."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import polyvox
from polyvox.plugin.registry import Plugins


def make_distribution(root: Path, dist: str, module: str, source: str, entry: str | None = None) -> None:
    """A real installed distribution on sys.path: dist-info with an entry point, and its module."""
    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"  # wheel naming: '-' separates the version
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[polyvox]\n{entry or module} = {module}\n")
    (root / f"{module}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def broken_plugins(tmp_path, monkeypatch):
    make_distribution(tmp_path, "polyvox-broken-import", "broken_import", "import does_not_exist\n")
    make_distribution(tmp_path, "polyvox-broken-hook", "broken_hook", """
        import polyvox

        @polyvox.hookimpl
        def register_engines(register):
            raise RuntimeError("cannot declare")
    """)
    make_distribution(tmp_path, "polyvox-bad-spec", "bad_spec", """
        import polyvox

        @polyvox.hookimpl
        def register_engines(register):
            register("not a spec")
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("broken_import", "broken_hook", "bad_spec"):
        sys.modules.pop(name, None)


def test_piper_is_built_in_and_loaded_through_the_plugin_path():
    plugins = Plugins()
    info = {p.name: p for p in plugins.info()}
    assert (info["piper"].distribution, info["piper"].version) == ("polyvox", polyvox.__version__)
    assert info["piper"].engines == ("piper",)
    assert "synthesize_segment" in info["piper"].hooks
    assert info["builtin"].distribution == "polyvox"  # registered through the same path
    assert Plugins(plugins=["template"]).specs.keys() == {"template"}  # selected like any other
    assert "piper" not in Plugins(load_entry_points=False).specs


INCOMPATIBLE = """
    import polyvox

    polyvox_hook_api = ">=2,<3"

    class Future(polyvox.Engine):
        name = "future"

        def spec(self):
            return polyvox.EngineSpec(name="future", sample_rate=16000, languages=("en",), default_model="m")

    plugin = Future()
"""


@pytest.fixture
def incompatible_plugins(tmp_path, monkeypatch):
    make_distribution(tmp_path, "polyvox-future", "future_plugin", INCOMPATIBLE)
    make_distribution(tmp_path, "polyvox-garbled", "garbled_plugin", "polyvox_hook_api = 'one'\n")
    make_distribution(tmp_path, "polyvox-current", "current_plugin", "polyvox_hook_api = '>=1.0,<2'\n"
                      "import polyvox\n\n@polyvox.hookimpl\ndef map_language(engine, language):\n    return None\n")
    make_distribution(tmp_path, "polyvox-piper", "old_piper", "raise RuntimeError('never imported')\n",
                      entry="piper")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("future_plugin", "garbled_plugin", "current_plugin", "old_piper"):
        sys.modules.pop(name, None)


def test_a_plugin_for_another_hook_api_is_refused_and_the_rest_speak(incompatible_plugins, tmp_path):
    kernel = polyvox.Kernel(cache_dir=tmp_path / "c")
    failures = {f.name: f for f in kernel.failures}
    future = failures["future_plugin"]
    assert future.kind == "incompatible" and future.distribution == "polyvox-future"
    assert future.error.startswith("written for hook API >=2,<3, and this polyvox has hook API 1.1")
    assert "\n" not in future.error
    assert "future" not in [e.name for e in kernel.engines()]
    assert "declares polyvox_hook_api = 'one', which is not a version range" in failures["garbled_plugin"].error
    assert "current_plugin" not in failures  # >=1.0,<2 contains 1.1
    assert "current_plugin" in [p.name for p in kernel.plugin_info()]
    # An old polyvox-piper is skipped (never imported): the built-in Piper speaks.
    assert failures["piper"].kind == "shadowed" and "pip uninstall polyvox-piper" in failures["piper"].error
    assert kernel.plugins.owner["piper"] == "piper" and kernel.plugin_info()
    audio = kernel.synthesize("Still speaking.", engine="piper")
    assert audio.duration > 0.5 and audio.rms > 0.02


def test_plugins_command_lists_the_incompatible_plugin_with_its_reason(incompatible_plugins, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "COLUMNS": "300"}
    env.pop("POLYVOX_PLUGINS", None)
    out = subprocess.run([sys.executable, "-m", "polyvox", "plugins"], capture_output=True, text=True, env=env,
                         timeout=120).stdout
    lines = [line for line in out.splitlines() if "future_plugin" in line]
    assert len(lines) == 1 and lines[0].startswith("INCOMPATIBLE future_plugin (polyvox-future): written for "
                                                   "hook API >=2,<3"), out
    assert "Plugins (hook API 1.1)" in out and "SKIPPED piper (polyvox-piper)" in out


def test_a_host_object_for_another_hook_api_is_refused():
    class Future:
        polyvox_hook_api = ">=2"

    with pytest.raises(polyvox.PluginError, match="written for hook API >=2"):
        polyvox.Kernel(cache=False, plugins=[]).register(Future())
    assert polyvox.HOOK_API == (1, 1)


def test_no_engine_for_a_language_says_what_to_install(kernel):
    with pytest.raises(polyvox.UnsupportedLanguageError) as caught:
        kernel.synthesize("Bonjour.", language="fr")
    message = str(caught.value)
    assert "no installed engine speaks 'fr'" in message and "\n" not in message
    assert "installed engines speak: en, " in message and "en-us" in message  # (and ja with Kokoro)
    assert "language packs add: cy (template)" in message  # plugins/langpack-welsh, installed in .venv
    assert "`polyvox install NAME`" in message and "POLYVOX_PIPER_VOICES" in message
    with pytest.raises(polyvox.UnsupportedLanguageError, match=r"speak: nothing \(no engine is loaded"):
        polyvox.Kernel(cache=False, plugins=[]).synthesize("Bonjour.", language="fr")


def test_broken_plugins_are_recorded_and_the_rest_keeps_working(broken_plugins, tmp_path):
    kernel = polyvox.Kernel(cache_dir=tmp_path / "c")
    failures = {f.name: f for f in kernel.failures}
    assert "ModuleNotFoundError" in failures["broken_import"].error
    assert "cannot declare" in failures["broken_hook"].error
    assert "EngineSpec" in failures["bad_spec"].error
    assert failures["broken_import"].distribution == "polyvox-broken-import"
    assert "piper" in [e.name for e in kernel.engines()]
    assert kernel.synthesize("Still speaking.").duration > 0.3


def test_polyvox_plugins_selects(monkeypatch, tmp_path):
    monkeypatch.setenv("POLYVOX_PLUGINS", "")
    assert polyvox.Kernel(cache=False).engines() == []
    monkeypatch.setenv("POLYVOX_PLUGINS", "piper")
    assert [e.name for e in polyvox.Kernel(cache=False).engines()] == ["piper"]
    with pytest.raises(polyvox.UnknownEngineError, match="not installed"):
        polyvox.Kernel(cache=False, plugins=[]).synthesize("hi", engine="piper")


def test_host_registers_plugin_objects(tone_kernel, tone):
    assert "tone" in [e.name for e in tone_kernel.engines()]
    assert tone_kernel.synthesize("abc", engine="tone").sample_rate == 16000


def test_engine_declared_twice_is_a_failure_not_a_crash(tmp_path):
    from conftest import ToneEngine

    kernel = polyvox.Kernel(cache=False)
    kernel.register(ToneEngine())
    kernel.register(ToneEngine())
    assert any("already declared" in f.error for f in kernel.failures)
    assert kernel.engine("tone").name == "tone"


def test_a_later_plugin_cannot_take_an_engine_name_already_declared(tmp_path):
    """The second to declare a name is refused (docs/writing-plugins.md), not the first: a host's
    or an installed plugin's engine named like a built-in leaves the built-in in place."""
    from conftest import ToneEngine

    kernel = polyvox.Kernel(cache=False, plugins=["piper"])
    kernel.register(ToneEngine(name="piper"), name="impostor")
    assert kernel.engine("piper").sample_rate == 22050  # Piper's own, not the tone's 16 kHz
    assert kernel.plugins.owner["piper"] == "piper"
    failed = {f.name: f.error for f in kernel.failures}
    assert "engine 'piper' is already declared by plugin 'piper'" in failed["impostor"]


def test_help_imports_no_heavy_module():
    heavy = "('torch', 'onnxruntime', 'piper', 'soundfile')"
    code = f"import sys; from polyvox.cli import cli; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    assert out.strip() == "[]"
    help_run = subprocess.run([sys.executable, "-m", "polyvox", "--help"], capture_output=True, text=True,
                              timeout=120)
    assert help_run.returncode == 0 and "say" in help_run.stdout


def test_language_mapping_order_engine_then_packs_then_fallback():
    """The engine's own mapping beats the built-in fallback, and a language pack beats both,
    whatever order the plugins were registered in."""

    class Multi(polyvox.Engine):
        name = "multi"

        def spec(self):
            return polyvox.EngineSpec(name="multi", sample_rate=16000, languages=("en", "de"), default_model="base")

        def language_model(self, language):
            return "german" if language == "de" else None

    class Pack:
        @polyvox.hookimpl
        def map_language(self, engine, language):
            return "finetuned-en" if (engine, language) == ("multi", "en") else None

    for order in ((Multi(), Pack()), (Pack(), Multi())):
        kernel = polyvox.Kernel(cache=False, plugins=[])
        for plugin in order:
            kernel.register(plugin)
        assert kernel.planner.model_for("multi", "de") == "german"
        assert kernel.planner.model_for("multi", "en") == "finetuned-en"
        assert kernel.planner.model_for("multi", "fr") is None


def test_engine_may_declare_its_preferred_join():
    """An engine's preferred join travels in its spec (the assembler uses it when the caller gives none);
    anything but a JoinConfig is refused when the plugin registers."""
    base = dict(name="fader", sample_rate=24000, languages=("en",), default_model="base")
    assert polyvox.EngineSpec(**base).join is None
    fade = polyvox.JoinConfig(method="crossfade", crossfade_ms=150)
    spec = polyvox.EngineSpec(**base, join=fade)
    assert spec.join == fade and spec.join.action("sentence") == "crossfade"
    with pytest.raises(polyvox.PluginError) as err:
        polyvox.EngineSpec(**base, join="crossfade")
    assert str(err.value) == "engine 'fader' declares join='crossfade': expected a polyvox.JoinConfig or None"
