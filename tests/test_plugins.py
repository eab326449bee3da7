"""Plugin discovery: entry points, the built-in plugin, broken plugins, POLYVOX_PLUGINS."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import polyvox
from polyvox.plugin.registry import Plugins


def make_distribution(root: Path, dist: str, module: str, source: str) -> None:
    """A real installed distribution on sys.path: dist-info with an entry point, and its module."""
    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"  # wheel naming: '-' separates the version
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[polyvox]\n{module} = {module}\n")
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


def test_piper_is_discovered_through_its_entry_point():
    plugins = Plugins()
    info = {p.name: p for p in plugins.info()}
    assert info["piper"].distribution == "polyvox-piper"
    assert info["piper"].engines == ("piper",)
    assert "synthesize_segment" in info["piper"].hooks
    assert info["builtin"].distribution == "polyvox"  # registered through the same path


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


def test_help_imports_no_heavy_module():
    heavy = "('torch', 'onnxruntime', 'piper', 'soundfile')"
    code = f"import sys; from polyvox.cli import cli; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    help_run = subprocess.run([sys.executable, "-m", "polyvox", "--help"], capture_output=True, text=True)
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
