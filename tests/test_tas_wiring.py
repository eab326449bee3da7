"""TTS Audio Suite's meanings reach the render: the alias map's narrator, emotion references
warned about on engines that cannot use them, lenient markup by default and --strict."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import ToneEngine

import polyvox
from polyvox.cli import cli
from polyvox.testing import reference_voice


@pytest.fixture
def tone_only() -> polyvox.Kernel:
    kernel = polyvox.Kernel(cache=False, load_entry_points=False)
    kernel.register(ToneEngine())
    return kernel


def test_the_alias_maps_narrator_speaks_untagged_lines(tone_only: polyvox.Kernel, tmp_path) -> None:
    folder = tmp_path / "voices"
    folder.mkdir()
    reference_voice(folder, "Low", 110.0)
    reference_voice(folder, "Alice", 220.0)
    (folder / "#character_alias_map.txt").write_text("Narrator = Low\n", encoding="utf-8")
    jobs = [j for j in tone_only.plan("Once upon a time.\n[Alice] Hello.", engine="tone", voices=folder)
            if j.request]
    assert jobs[0].request.voice.audio.name == "Low.wav"
    assert jobs[1].request.voice.audio.name == "Alice.wav"
    # a narrator given by the caller still wins over the folder's
    given = tone_only.plan("Once upon a time.", engine="tone", voices=folder, voice="Alice")
    assert given[0].request.voice.audio.name == "Alice.wav"


def test_an_emotion_reference_is_warned_about_once_where_the_engine_takes_none(tone_only: polyvox.Kernel) -> None:
    result = tone_only.render("[Alice:happy_sarah] Hi.\n[Bob:angry_bob] Hello.", engine="tone")
    said = [w for w in result.warnings if "emotion reference" in w]
    assert len(said) == 1 and "'tone'" in said[0]
    assert all(s.segment.emotion for s in result.segments)


def test_strict_turns_markup_warnings_into_errors_in_the_cli(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("POLYVOX_PLUGINS", "template")
    out = tmp_path / "x.wav"
    lenient = CliRunner().invoke(cli, ["say", "Hello [pause:45] there.", "-o", str(out), "--json"])
    assert lenient.exit_code == 0, lenient.output
    import json

    summary = json.loads(lenient.stdout)
    assert any("45" in w for w in summary["warnings"])
    strict = CliRunner().invoke(cli, ["say", "Hello [pause:45] there.", "-o", str(out), "--strict"])
    assert strict.exit_code == 1
    lines = [line for line in strict.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "45" in lines[0]


def test_tags_that_differ_only_in_case_are_one_character_in_the_render(tone_only: polyvox.Kernel, tmp_path) -> None:
    folder = tmp_path / "voices"
    folder.mkdir()
    reference_voice(folder, "Alice", 220.0)
    result = tone_only.render("[Alice] Hi.\n[alice] Hello.\n[ALICE] Hey.", engine="tone", voices=folder)
    assert not any("sound the same" in w for w in result.warnings), result.warnings
    assert sum("reference audio 'Alice.wav' is not used" in w for w in result.warnings) == 1, result.warnings
    assert {s.segment.character for s in result.segments} == {"Alice"}
