"""The CLI on scripts, subtitles and voices folders, and the progress view on a terminal."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from rich.console import Console

from polyvox import Audio
from polyvox.cli import cli
from polyvox.cli.options import RenderConsole
from polyvox.cli.progress import RenderView, excerpt
from polyvox.events import ModelLoaded, ModelLoading, RenderStarted, SegmentFinished, SegmentStarted, Warning

SRT = (
    "1\r\n00:00:00,500 --> 00:00:02,000\r\n<i>Hello</i> there.\r\n\r\n"
    "2\r\n00:00:02,500 --> 00:00:03,000\r\n[Alice] A line far too long for its very short cue.\r\n\r\n"
    "3\r\n00:00:04,000 --> 00:00:05,500\r\nThe end.\r\n"
)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYVOX_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "config.toml").touch()  # POLYVOX_CONFIG must name a file that exists
    monkeypatch.setenv("POLYVOX_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("POLYVOX_PLUGINS", "piper")  # the same engine whatever else is installed
    for name in ("POLYVOX_VOICES", "POLYVOX_TIMING_MODE", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def run_json(*args: str, input: str | None = None) -> dict:
    result = CliRunner().invoke(cli, [*args, "--json"], input=input)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_srt_file_writes_audio_report_and_adjusted_srt(tmp_path):
    (tmp_path / "talk.srt").write_bytes(SRT.encode("cp1252"))
    data = run_json("render", "talk.srt", "-o", "talk.wav", "--timing-mode", "pad_with_silence")
    assert data["outputs"] == {"audio": "talk.wav", "srt": "talk.adjusted.srt", "timing": "talk.timing.json"}
    assert data["stats"]["speech_segments"] == 3
    report = json.loads((tmp_path / "talk.timing.json").read_text())
    assert [cue["index"] for cue in report] == [1, 2, 3]
    assert {"target_start", "start", "action", "stretch"} <= set(report[0])
    assert sum(data["timing_actions"].values()) == 3
    samples, rate = sf.read(tmp_path / "talk.wav")
    assert rate == 22050 and len(samples) / rate >= 5.0
    assert np.abs(samples[: int(0.45 * rate)]).max() < 0.01  # silent until the first cue
    assert "-->" in (tmp_path / "talk.adjusted.srt").read_text()
    assert (tmp_path / "talk.srt").read_bytes() == SRT.encode("cp1252")  # the input is never overwritten


def test_other_timing_mode_synthesizes_nothing_again(tmp_path):
    (tmp_path / "talk.srt").write_text(SRT, encoding="utf-8")
    run_json("render", "talk.srt", "-o", "a.wav", "--timing-mode", "smart_natural")
    again = run_json("render", "talk.srt", "-o", "b.wav", "--timing-mode", "concatenate")
    assert again["stats"]["synthesized"] == 0 and again["stats"]["cached"] == 3


def test_srt_content_under_another_name_is_subtitles(tmp_path):
    (tmp_path / "talk.txt").write_text(SRT, encoding="utf-8")
    data = run_json("render", "talk.txt", "--timing-mode", "concatenate")
    assert data["outputs"]["timing"] == "out/talk.timing.json"


def test_srt_from_stdin_is_recognized():
    data = run_json("render", "-", "-o", "piped.wav", input=SRT)
    assert data["outputs"]["timing"] == "piped.timing.json"


def test_stream_renders_subtitles_cue_by_cue_with_their_side_files(tmp_path):
    (tmp_path / "talk.srt").write_text(SRT, encoding="utf-8")
    streamed = CliRunner().invoke(cli, ["render", "talk.srt", "--stream", "-o", "s.wav", "--json"])
    assert streamed.exit_code == 0, streamed.output
    whole = CliRunner().invoke(cli, ["render", "talk.srt", "-o", "w.wav", "--json"])
    s, w = json.loads(streamed.stdout), json.loads(whole.stdout)
    assert s["outputs"]["srt"].endswith("s.adjusted.srt") and Path(s["outputs"]["timing"]).is_file()
    assert s["timing_actions"] == w["timing_actions"] and s["duration"] == w["duration"]
    assert Audio.read("s.wav") == Audio.read("w.wav")


def test_demo_srt(tmp_path):
    data = run_json("demo", "--srt")
    assert data["subtitles"]["outputs"]["audio"] == "out/demo-subtitles.wav"
    assert (tmp_path / "out" / "demo-subtitles.adjusted.srt").is_file()
    assert (tmp_path / "out" / "demo-subtitles.timing.json").is_file()
    assert data["script"]["stats"]["speech_segments"] > 3


@pytest.fixture
def voices_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "voices"
    (folder / "sub").mkdir(parents=True)
    t = np.arange(24000) / 24000
    sf.write(folder / "Alice.wav", 0.2 * np.sin(2 * np.pi * 220 * t), 24000)
    (folder / "Alice.reference.txt").write_text("Hello, I am Alice.")
    sf.write(folder / "sub" / "Bob.flac", 0.2 * np.sin(2 * np.pi * 180 * t[:12000]), 24000)
    (folder / "Broken.wav").write_bytes(b"not audio at all")
    (folder / "#character_alias_map.txt").write_text(
        "Narrator = Alice\nDave = en_US-joe-medium | length_scale:1.1\n")
    return folder


def test_voices_lists_characters_and_problems(voices_dir):
    data = run_json("voices", "--voices", str(voices_dir))
    rows = {row["character"]: row for row in data["voices"]}
    assert rows["Alice"]["reference_text"] is True and rows["Alice"]["duration"] == pytest.approx(1.0)
    assert rows["Alice"]["sample_rate"] == 24000 and rows["Alice"]["problems"] == []
    assert rows["Bob"]["reference_text"] is False and rows["Bob"]["duration"] == pytest.approx(0.5)
    assert rows["Broken"]["problems"] and "unreadable" in rows["Broken"]["problems"][0]
    assert rows["Narrator"]["alias_of"] == "Alice"
    assert rows["Dave"]["model"] == "en_US-joe-medium" and rows["Dave"]["params"] == {"length_scale": 1.1}
    table = CliRunner().invoke(cli, ["voices", "--voices", str(voices_dir)])
    assert table.exit_code == 0 and "Broken: unreadable audio" in table.stdout


def test_a_blend_is_shown_whole_as_what_a_character_borrows():
    from polyvox import Voice
    from polyvox.cli.voices import _alias_of

    assert _alias_of(Voice(name="Mix", model="jf_alpha:0.5+jm_kumo:0.5")) == "jf_alpha:0.5+jm_kumo:0.5"  # not ...:0
    assert _alias_of(Voice(name="Dave", model="/v/en_US-joe-medium.onnx")) == "en_US-joe-medium"
    assert _alias_of(Voice(name="heart", model="heart")) is None


def test_voices_folder_from_environment(voices_dir, monkeypatch):
    monkeypatch.setenv("POLYVOX_VOICES", str(voices_dir))
    assert "Alice" in {row["character"] for row in run_json("voices")["voices"]}


def test_render_with_voices_folder(voices_dir):
    data = run_json("render", "-", "-o", "v.wav", "--voices", str(voices_dir),
                    input="[Dave] I am Dave.\n[Nobody] Who am I?\n")
    by_character = {s["character"]: s for s in data["segments"]}
    assert by_character["Dave"]["model"] == "en_US-joe-medium"
    assert any("Nobody" in w for w in data["warnings"])


# -- the progress view -------------------------------------------------------------------
def _events() -> list:
    return [
        RenderStarted(4, 3, 60),
        Warning("unknown character 'Zed': using the narrator's voice", "unknown-character"),
        SegmentFinished(0, None, "en", "x" * 20, "piper", True, 0.0, 1.0),
        ModelLoading("piper", "en_US-joe-medium", "cpu"),
        ModelLoaded("piper", "en_US-joe-medium", "cpu", 0.5),
        SegmentStarted(2, "Alice", "en", "[bold]not markup[/bold] " + "y" * 10, "piper"),
        SegmentFinished(2, "Alice", "en", "y" * 20, "piper", False, 0.4, 1.5),
        SegmentStarted(3, "Bob", "de", "z" * 20, "piper"),
        SegmentFinished(3, "Bob", "de", "z" * 20, "piper", False, 0.4, 1.5),
    ]


def test_view_counts_on_a_terminal():
    buffer = io.StringIO()
    view = RenderView(RenderConsole(Console(file=buffer, force_terminal=True, width=100)))
    with view:
        for event in _events():
            view(event)
    assert (view.cached, view.synthesized, view.model_loads) == (1, 2, 1)
    assert view.done_chars == view.total_chars == 60
    assert view.eta() == 0.0
    assert view.warnings == ["unknown character 'Zed': using the narrator's voice"]
    assert "loaded piper model en_US-joe-medium on cpu in 0.50 s" in buffer.getvalue()


def test_view_plain_lines_off_a_terminal():
    buffer = io.StringIO()
    view = RenderView(RenderConsole(Console(file=buffer, force_terminal=False, width=100)))
    with view:
        for event in _events():
            view(event)
    lines = buffer.getvalue().splitlines()
    assert "[1/3]  cached  narrator (en): " + "x" * 20 in lines
    assert any(line.startswith("[3/3]  0.40 s  Bob (de)") for line in lines)
    assert "\x1b[" not in buffer.getvalue()


def test_view_off_a_terminal_writes_the_same_plain_lines_without_rich(capsys, monkeypatch):
    """A render's stderr off a terminal (a pipe, a log) gets the same lines with no rich console
    made for them: rich is left for the live display and the tables."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    console = RenderConsole()
    view = RenderView(console)
    with view:
        for event in _events():
            view(event)
    lines = capsys.readouterr().err.splitlines()
    assert "[1/3]  cached  narrator (en): " + "x" * 20 in lines
    assert any(line.startswith("[3/3]  0.40 s  Bob (de)") for line in lines)
    assert "loaded piper model en_US-joe-medium on cpu in 0.50 s" in lines
    assert not view.live and console._rich is None


def test_view_draws_nothing_when_quiet():
    view = RenderView(None)
    with view:
        for event in _events():
            view(event)
    assert view.synthesized == 2


def test_excerpt_cuts_at_a_word():
    assert excerpt("one two three four", 12) == "one two…"
    assert excerpt("short") == "short"
