"""The smaller plugin surface: an engine's name is declared once, cloning is declared, and
`polyvox voices` lists what the installed engines speak with."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import ToneEngine

import polyvox
from polyvox.cli import cli


class Misnamed(ToneEngine):
    def spec(self) -> polyvox.EngineSpec:
        import attrs

        return attrs.evolve(super().spec(), name="other")


def test_an_engine_named_twice_differently_is_refused_naming_both() -> None:
    kernel = polyvox.Kernel(cache=False, load_entry_points=False)
    kernel.register(Misnamed(), name="misnamed")
    assert "other" not in {s.name for s in kernel.engines()}
    (failure,) = [f for f in kernel.failures if f.name == "misnamed"]
    assert "'tone'" in failure.error and "'other'" in failure.error


def test_an_engine_may_name_itself_in_its_spec_only() -> None:
    class Solo(polyvox.Engine):  # no `name`: the spec's is the engine's
        def spec(self) -> polyvox.EngineSpec:
            return polyvox.EngineSpec(name="solo", sample_rate=8000, languages=("en",), default_model="m")

        def load(self, model: str, device: str) -> str:
            return model

        def synthesize(self, model: str, request: polyvox.Request, conditioning: object) -> polyvox.Audio:
            return polyvox.Audio([0.1] * 800, 8000)

    kernel = polyvox.Kernel(cache=False, load_entry_points=False)
    kernel.register(Solo())
    assert kernel.synthesize("Hello.", engine="solo").duration == 0.1


def test_a_cloning_engine_is_not_said_to_ignore_reference_audio(tmp_path) -> None:
    from polyvox.testing import reference_voice

    kernel = polyvox.Kernel(cache=False, load_entry_points=False)

    class Cloner(ToneEngine):
        def spec(self) -> polyvox.EngineSpec:
            import attrs

            return attrs.evolve(super().spec(), capabilities=polyvox.Capabilities(clones=True, seeded=True))

    kernel.register(Cloner())
    voices = {"Low": reference_voice(tmp_path, "Low", 110.0), "High": reference_voice(tmp_path, "High", 220.0)}
    result = kernel.render("[Low] Hello.\n[High] Hello.", engine="tone", voices=voices)
    assert not [w for w in result.warnings if "does not clone" in w or "sound the same" in w]
    plain = polyvox.Kernel(cache=False, load_entry_points=False)
    plain.register(ToneEngine())
    warned = plain.render("[Low] Hello.\n[High] Hello.", engine="tone", voices=voices).warnings
    assert any("does not clone" in w for w in warned)


def test_voices_without_a_folder_lists_the_engines_own_voices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYVOX_PLUGINS", "piper,template")
    monkeypatch.delenv("POLYVOX_VOICES", raising=False)
    result = CliRunner().invoke(cli, ["voices", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["engine_voices"]
    assert {"voice": "en_US-joe-medium", "engine": "piper", "language": "en-us", "clones": False} in rows
    assert {"voice": None, "engine": "template", "language": "en", "clones": True} in rows
    shown = CliRunner().invoke(cli, ["voices"])
    assert shown.exit_code == 0 and "en_US-joe-medium" in shown.stdout and "--voices DIR" in shown.stdout
