"""Edge cases found in review: user text that looks like rich markup, files the CLI must not
overwrite, declined prompts, and input the parser must not lose quietly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import polyvox
from polyvox.cli import cli
from polyvox.text import languages

SRT = "1\n00:00:00,500 --> 00:00:02,000\nFirst.\n\n2\n00:00:03,000 -> 00:00:04,000\nSecond is lost.\n\n" \
      "3\n00:00:05,000 --> 00:00:06,000\nThird.\n"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYVOX_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "config.toml").touch()  # POLYVOX_CONFIG must name a file that exists
    monkeypatch.setenv("POLYVOX_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("POLYVOX_PLUGINS", "piper")
    monkeypatch.chdir(tmp_path)


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input)


def test_brackets_in_user_files_print_as_written(tmp_path):
    (tmp_path / "W").mkdir()
    (tmp_path / "W" / "#character_alias_map.txt").write_text("weird [/][/] line\nZed = [red]nothing\n")
    said = run("say", "Hi", "-o", "y.wav", "--voices", "W")
    assert said.exit_code == 0, said.output
    assert "[/][/]" in said.stderr and (tmp_path / "y.wav").is_file()
    listed = run("voices", "--voices", "W")
    assert listed.exit_code == 0 and "[red]nothing" in listed.output


def test_render_refuses_to_overwrite_its_input(tmp_path):
    (tmp_path / "film.adjusted.srt").write_text(SRT)
    result = run("render", "film.adjusted.srt", "-o", "film.wav")
    assert result.exit_code == 2 and "would overwrite film.adjusted.srt" in result.stderr
    assert (tmp_path / "film.adjusted.srt").read_text() == SRT


def test_unreadable_cue_is_a_warning_not_silence(tmp_path):
    (tmp_path / "m.srt").write_text(SRT)
    result = run("render", "m.srt", "-o", "m.wav", "--json", "-q")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["stats"]["speech_segments"] == 2
    assert any("Second is lost." in w for w in data["warnings"])
    assert "Skipped unparseable" not in result.stderr  # nothing printed behind --quiet


def test_declining_cache_clear_is_not_an_interrupt(monkeypatch):
    from polyvox.cli import options

    monkeypatch.setattr(options, "interactive", lambda: True)
    result = run("cache", "clear", input="n\n")
    assert result.exit_code == 0 and "nothing removed" in result.stderr


def test_demo_to_stdout_is_a_usage_error():
    result = run("demo", "-o", "-")
    assert result.exit_code == 2 and "demo writes files" in result.stderr


def test_declared_codes_are_kept_and_unknown_characters_warned_once_whatever_the_case():
    assert languages.normalize("nb", ["nb"]) == "nb" and languages.normalize("nb") == "no"
    result = polyvox.Kernel(cache=False).render("[Zed] a [zed] b [ZED] c")
    assert sum("unknown character" in w for w in result.warnings) == 1


@pytest.mark.parametrize(("toml", "message"), [
    ("engine = true", "engine = True is not valid; expected text"),
    ('voices = ["a", "b"]', "voices = ['a', 'b'] is not valid"),
    ("workers = 0", "workers = 0 is not valid; expected an integer of 1 or more"),
    ("seed = false", "seed = False is not valid"),
])
def test_config_values_of_the_wrong_type_are_errors(tmp_path, toml, message):
    (tmp_path / "config.toml").write_text(toml + "\n")
    result = run("config")
    assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("value", ["nan", "inf", "-100"])
def test_a_loudness_that_is_no_loudness_is_a_usage_error(value):
    """--loudness nan passed click's range (NaN compares false with both ends) and failed later
    with status 1, where inf was a usage error (2)."""
    result = run("render", "-", "-o", "x.wav", "--engine", "template", "--loudness", value, input="Hi.")
    assert result.exit_code == 2 and "--loudness" in result.stderr and "Traceback" not in result.stderr
