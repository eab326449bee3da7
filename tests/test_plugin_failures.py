"""Every way a plugin can break: each is listed by `polyvox plugins` with its error, and the
host keeps speaking with the other engines."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner
from test_plugins import make_distribution

import polyvox
from polyvox.cli import cli

ENGINE = """
    import numpy as np
    import polyvox

    class Flaky(polyvox.Engine):
        name = "flaky"

        def spec(self):
            return polyvox.EngineSpec(name="flaky", sample_rate=16000, languages=("en",), default_model="m",
                                      models=("m",), priority=-100)

        def load(self, model, device):
            return object()

        def synthesize(self, model, request, conditioning):
            {body}

    plugin = Flaky()
"""

#: module name -> (source, what `polyvox plugins` must report)
BROKEN = {
    "raises_runtime": ("raise RuntimeError('no driver for this card')\n", "RuntimeError: no driver for this card"),
    "syntax_error": ("def speak(:\n    pass\n", "SyntaxError"),
    "attribute_error": ("import os\nos.no_such_function()\n", "AttributeError"),
    "register_raises": ("""
        import polyvox

        @polyvox.hookimpl
        def register_engines(register):
            raise RuntimeError("cannot declare")
    """, "RuntimeError: cannot declare"),
    "not_a_spec": ("""
        import polyvox

        @polyvox.hookimpl
        def register_engines(register):
            register("not a spec")
    """, "takes an EngineSpec"),
    "invalid_spec": ("""
        import polyvox

        @polyvox.hookimpl
        def register_engines(register):
            register(polyvox.EngineSpec(name="Not A Name", sample_rate=16000, languages=("en",),
                                        default_model="m"))
    """, "'Not A Name' must be lower-case"),
}


@pytest.fixture
def broken(tmp_path, monkeypatch):
    for module, (source, _) in BROKEN.items():
        make_distribution(tmp_path, f"polyvox-{module.replace('_', '-')}", module, source)
    make_distribution(tmp_path, "polyvox-flaky", "flaky",
                      ENGINE.replace("{body}", "raise RuntimeError('the device went away')"))
    (tmp_path / "polyvox_flaky-0.1.dist-info" / "entry_points.txt").write_text("[polyvox]\nflaky = flaky:plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("POLYVOX_PLUGINS", ",".join(["piper", "flaky", *BROKEN]))
    monkeypatch.setenv("POLYVOX_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "config.toml").touch()  # POLYVOX_CONFIG must name a file that exists
    monkeypatch.setenv("POLYVOX_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.chdir(tmp_path)
    yield
    for name in ("flaky", *BROKEN):
        sys.modules.pop(name, None)


def test_polyvox_plugins_lists_every_broken_plugin_with_its_error(broken):
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    failures = {f["name"]: f for f in data["failures"]}
    assert set(failures) == set(BROKEN), failures
    for module, (_, error) in BROKEN.items():
        assert error in failures[module]["error"], (module, failures[module])
        assert failures[module]["distribution"] == f"polyvox-{module.replace('_', '-')}"
    listed = {p["name"]: p for p in data["plugins"]}
    assert listed["flaky"]["engines"] == ["flaky"] and listed["piper"]["engines"] == ["piper"]
    text = CliRunner().invoke(cli, ["plugins"])
    for module in BROKEN:
        assert f"FAILED {module} (polyvox-{module.replace('_', '-')})" in text.stdout


def test_the_host_still_speaks_with_the_other_engines(broken, tmp_path):
    kernel = polyvox.Kernel()
    assert {e.name for e in kernel.engines()} >= {"piper", "flaky"}
    audio = kernel.synthesize("Still speaking.", engine="piper")
    assert audio.duration > 0.5 and audio.rms > 0.01
    said = CliRunner().invoke(cli, ["say", "Still speaking.", "-o", "out.wav"])
    assert said.exit_code == 0, said.output
    assert polyvox.Audio.read(tmp_path / "out.wav").duration > 0.5


def test_a_hook_raising_at_render_time_fails_that_render_only(broken, tmp_path):
    kernel = polyvox.Kernel()
    with pytest.raises(polyvox.SegmentError, match="flaky.*RuntimeError: the device went away") as caught:
        kernel.render("First line.\nSecond line.", engine="flaky")
    assert "\n" not in str(caught.value)
    assert kernel.synthesize("Still speaking.", engine="piper").duration > 0.5
    said = CliRunner().invoke(cli, ["say", "Hello.", "--engine", "flaky", "-o", "flaky.wav"])
    assert said.exit_code != 0 and "the device went away" in said.stderr and "Traceback" not in said.stderr
