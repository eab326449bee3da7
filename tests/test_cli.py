"""The console runner through click's CliRunner: commands, --json schema, errors, settings."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from polyvox.cli import cli

RENDER_KEYS = {"schema", "input", "outputs", "sample_rate", "duration", "cancelled", "stats", "warnings",
               "timing_actions", "segments", "cast"}
STATS_KEYS = {"segments", "speech_segments", "synthesized", "cached", "audio_seconds", "wall_seconds",
              "model_loads", "voice_preparations", "real_time_factor"}


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A private cache and no user config file in every test; work inside tmp_path."""
    monkeypatch.setenv("POLYVOX_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "config.toml").touch()  # POLYVOX_CONFIG must name a file that exists
    monkeypatch.setenv("POLYVOX_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("POLYVOX_PLUGINS", "piper")  # the same engine whatever else is installed
    for name in ("POLYVOX_ENGINE", "POLYVOX_SEED", "POLYVOX_VOICES", "POLYVOX_DEBUG", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def run(*args: str, input: str | bytes | None = None) -> object:
    return CliRunner().invoke(cli, list(args), input=input)


def run_json(*args: str, input: str | None = None) -> dict:
    result = run(*args, "--json", input=input)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def assert_speech(path: Path, rate: int = 22050, min_seconds: float = 0.5) -> None:
    samples, sr = sf.read(path, dtype="float32")
    assert sr == rate
    assert len(samples) / sr >= min_seconds
    assert np.sqrt(np.mean(samples**2)) > 0.005  # not silence


def test_help_lists_every_command():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("render", "say", "demo", "engines", "voices", "cache", "plugins", "config"):
        assert f"  {command} " in result.stdout


def test_demo_twice_second_run_all_from_cache(tmp_path):
    first = run_json("demo")
    assert first["script"]["stats"]["synthesized"] == first["script"]["stats"]["speech_segments"] > 3
    out = tmp_path / "out" / "demo.wav"
    assert first["script"]["outputs"]["audio"] == "out/demo.wav"
    assert_speech(out, min_seconds=5)
    second = run_json("demo")
    stats = second["script"]["stats"]
    assert stats["synthesized"] == 0 and stats["cached"] == stats["speech_segments"]
    assert stats["model_loads"] == 0
    assert sf.info(out).duration == pytest.approx(second["script"]["duration"], abs=0.01)


def test_demo_prints_where_and_a_summary(tmp_path):
    result = run("demo", "-o", "elsewhere/d.flac")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "elsewhere/d.flac"
    assert "Real-time factor" in result.stderr and "Segments" in result.stderr
    assert sf.info(tmp_path / "elsewhere" / "d.flac").format == "FLAC"


def test_render_stdin_json_schema(tmp_path):
    data = run_json("render", "-", "-o", "story.wav", input="Hello there.\n[pause:0.5s]\nA second line.\n")
    assert RENDER_KEYS <= set(data)
    assert STATS_KEYS <= set(data["stats"])
    assert data["input"] == "-" and data["outputs"]["audio"] == "story.wav" and data["cancelled"] is False
    assert data["stats"]["speech_segments"] == 2 and data["stats"]["segments"] == 3
    assert data["sample_rate"] == 22050
    pause = [s for s in data["segments"] if s["pause"]]
    assert len(pause) == 1 and pause[0]["duration"] == pytest.approx(0.5, abs=0.01)
    assert {"index", "character", "language", "engine", "model", "voice", "cached", "start", "duration",
            "text"} <= set(data["segments"][0])
    assert_speech(tmp_path / "story.wav")


def test_render_file_default_output_and_format(tmp_path):
    (tmp_path / "story.txt").write_text("[Alice] Hello Bob.\n", encoding="utf-8")
    result = run("render", "story.txt", "--format", "ogg")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "out/story.ogg"
    assert sf.info(tmp_path / "out" / "story.ogg").format == "OGG"


def test_an_output_folder_gets_the_file_named_after_the_input(tmp_path):
    (tmp_path / "story.txt").write_text("Hello Bob.\n", encoding="utf-8")
    (tmp_path / "takes").mkdir()
    for folder in ("takes", "new-folder/"):
        result = run("render", "story.txt", "-o", folder)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.strip() == f"{folder.rstrip('/')}/story.wav"
        assert sf.info(tmp_path / folder / "story.wav").samplerate > 0


def test_render_to_stdout_is_a_wav():
    result = CliRunner().invoke(cli, ["say", "Piped audio.", "-o", "-", "-q"])
    assert result.exit_code == 0, result.stderr
    samples, rate = sf.read(io.BytesIO(result.stdout_bytes))
    assert rate == 22050 and len(samples) > rate // 4


def test_format_applies_to_stdout():
    result = CliRunner().invoke(cli, ["say", "Flac to a pipe.", "-o", "-", "--format", "flac", "-q"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes[:4] == b"fLaC"


def test_say_to_a_pipe_writes_its_first_sentence_before_making_the_rest(monkeypatch):
    """`say -o -` streams: a line of three segments (pauses between) has its later segments made
    after the first one's audio is out (a render would make all three first), and the bytes
    are what a file gets."""
    import sys

    import polyvox
    from polyvox.audiofile import pcm16
    from polyvox.builtins import piper

    written_before: list[int] = []  # bytes on stdout when each sentence was made
    speak = piper._speak

    def counting(voice, request):
        if hasattr(sys.stdout.buffer, "getvalue"):  # inside CliRunner
            written_before.append(len(sys.stdout.buffer.getvalue()))
        return speak(voice, request)

    monkeypatch.setattr(piper, "_speak", counting)
    text = "[Ann] The first sentence. [pause:0.2] [Bob] Then a second one. [pause:0.2] And a third."
    quiet = ["--set", "noise_scale=0", "--set", "noise_w_scale=0"]  # deterministic: comparable audio
    piped = CliRunner().invoke(cli, ["say", text, "-o", "-", "--format", "pcm", "-q", *quiet])
    assert piped.exit_code == 0, piped.stderr
    assert len(written_before) == 3 and written_before[0] == 0 < written_before[1] <= written_before[2]
    rendered = polyvox.Kernel(cache=False).render(text, params={"noise_scale": 0, "noise_w_scale": 0}).audio
    assert piped.stdout_bytes == pcm16(rendered.samples) and len(rendered) > 22050


@pytest.mark.parametrize("fmt", ["flac", "ogg", "mp3"])
def test_a_writer_given_no_samples_still_writes_a_file_players_open(tmp_path, fmt):
    """Punctuation only gives Piper no samples; libsndfile would write no bytes at all for
    these formats, to a file or a pipe. A few milliseconds of silence stand in (what the
    server streams for such text; the CLI refuses it: tests/test_first_hour.py)."""
    import polyvox

    piped = io.BytesIO()
    for target in (tmp_path / f"empty.{fmt}", piped):
        with polyvox.AudioWriter(target, 22050, fmt) as out:
            out.write(polyvox.Audio.silence(0, 22050))
    for data in ((tmp_path / f"empty.{fmt}").read_bytes(), piped.getvalue()):
        samples, rate = sf.read(io.BytesIO(data))
        assert rate == 22050 and 0 < len(samples) <= 0.03 * rate and not np.abs(samples).max() > 1e-3


def test_stream_to_stdout_is_a_playable_wav():
    result = CliRunner().invoke(cli, ["render", "-", "--stream", "-o", "-", "-q"], input="One.\n[pause:0.2]\nTwo.\n")
    assert result.exit_code == 0, result.stderr
    raw = result.stdout_bytes
    assert raw[:4] == b"RIFF" and raw[8:16] == b"WAVEfmt "
    samples = np.frombuffer(raw[44:], dtype="<i2")
    assert len(samples) > 22050 * 0.5 and np.abs(samples).max() > 1000


def test_stream_writes_the_same_audio_as_render(tmp_path):
    text = "One sentence first.\n[pause:0.3]\nThen another one.\n"
    run_json("render", "-", "-o", "a.wav", input=text)
    streamed = run_json("render", "-", "--stream", "-o", "b.wav", input=text)
    assert streamed["stats"]["synthesized"] == 0 and streamed["stats"]["cached"] == 2
    a, _ = sf.read(tmp_path / "a.wav")
    b, _ = sf.read(tmp_path / "b.wav")
    assert np.array_equal(a, b)


def test_quiet_prints_nothing(tmp_path):
    result = run("say", "Quiet please.", "-o", "q.wav", "--quiet")
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""
    assert_speech(tmp_path / "q.wav")


def test_no_cache_synthesizes_again():
    run_json("say", "Again and again.", "-o", "x.wav")
    assert run_json("say", "Again and again.", "-o", "x.wav")["stats"]["cached"] == 1
    assert run_json("say", "Again and again.", "-o", "x.wav", "--no-cache")["stats"]["synthesized"] == 1


def test_set_and_seed_reach_the_engine():
    slow = run_json("say", "Slowly now.", "-o", "s.wav", "--set", "length_scale=1.6", "--seed", "7")
    fast = run_json("say", "Slowly now.", "-o", "f.wav", "--set", "length_scale=0.7")
    assert slow["duration"] > fast["duration"] * 1.5


BAD = [
    (["render", "missing.txt"], "no such file"),
    (["render", "-", "--engine", "nope"], "`polyvox install nope` (pip install polyvox-nope)"),
    (["render", "-", "--set", "bogus=1"], "no parameter 'bogus'"),
    (["render", "-", "--set", "length_scale=99"], "out of range"),
    (["render", "-", "--set", "nokeyvalue"], "is not key=value"),
    (["render", "-", "--language", "klingon"], "klingon"),
    (["render", "-", "-o", "x.wav", "--format", "mp3"], "does not match"),
    (["render", "-", "-o", "x.aiff"], "unknown audio format '.aiff'"),
    (["render", "-", "-o", ""], "-o/--output is empty"),
    (["render", "-", "-o", "/dev/null/x.wav"], "a part of its path is a file, not a folder"),
    (["render", "-", "-o", "-", "--json"], "--json"),
    (["render", "-", "--voices", "no-such-folder"], "no-such-folder"),
    (["render", "-", "--seed", "x"], "'--seed': 'x' is not a valid integer"),
    (["engines", "nope"], "engine 'nope' is not installed"),
    (["nonsense"], "No such command"),
    (["render", "--bogus-option", "-"], "No such option"),
    (["render", "-", "-o", "/proc/no-such-dir/x.wav"], "cannot write audio to '/proc/no-such-dir/x.wav'"),
]


@pytest.mark.parametrize(("args", "needle"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_errors_are_one_line_without_traceback(args, needle):
    result = run(*args, input="Hello.\n")
    assert result.exit_code not in (0, None)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.stderr
    if needle:
        assert needle in lines[0]


def test_empty_script_is_an_error():
    result = run("render", "-", input="\n   \n")
    assert result.exit_code == 1 and result.stderr.startswith("Error: nothing to speak")


def test_debug_shows_the_traceback():
    result = run("--debug", "render", "-", "--engine", "nope", input="Hi.\n")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "UnknownEngineError" in result.stderr


def test_bad_environment_and_config_values_are_one_line(tmp_path, monkeypatch):
    for bad in ("abc", "-4"):  # a seed out of range named no source: "seed -4 is not valid"
        monkeypatch.setenv("POLYVOX_SEED", bad)
        result = run("say", "Hi.")
        assert result.exit_code == 1 and "POLYVOX_SEED" in result.stderr and len(result.stderr.splitlines()) == 1
    monkeypatch.delenv("POLYVOX_SEED")
    (tmp_path / "config.toml").write_text("seed = -3\n")
    result = run("config")
    assert result.exit_code == 1 and "config.toml: seed = -3" in result.stderr
    (tmp_path / "config.toml").write_text("engine = [unclosed\n")
    result = run("say", "Hi.")
    assert result.exit_code == 1 and "not valid TOML" in result.stderr and len(result.stderr.splitlines()) == 1
    (tmp_path / "config.toml").write_text('colour = "blue"\n')
    result = run("config")
    assert result.exit_code == 1 and "unknown setting 'colour'" in result.stderr


def test_config_shows_value_and_source(tmp_path, monkeypatch):
    (tmp_path / "config.toml").write_text('engine = "piper"\nseed = 7\ncache_size_limit = "1GB"\n')
    monkeypatch.setenv("POLYVOX_SEED", "9")
    data = run_json("config")
    settings = data["settings"]
    assert data["config_file"] == str(tmp_path / "config.toml") and data["config_file_exists"]
    assert settings["engine"] == {"value": "piper", "source": f"config {tmp_path / 'config.toml'}"}
    assert settings["seed"] == {"value": 9, "source": "env POLYVOX_SEED"}
    assert settings["cache_size_limit"]["value"] == 1024**3
    assert settings["cache_dir"] == {"value": str(tmp_path / "cache"), "source": "env POLYVOX_CACHE_DIR"}
    assert settings["timing_mode"]["source"] == "default"
    table = run("config")
    assert table.exit_code == 0 and "POLYVOX_SEED" in table.stdout and "piper" in table.stdout


def test_engines_table_and_detail():
    table = run("engines")
    assert table.exit_code == 0 and "piper" in table.stdout and "22050" in table.stdout
    listing = run_json("engines")
    assert [e["name"] for e in listing] == ["piper"] or "piper" in [e["name"] for e in listing]
    detail = run_json("engines", "piper")
    params = {p["name"]: p for p in detail["parameters"]}
    assert params["length_scale"]["min"] == 0.25 and params["length_scale"]["max"] == 4
    assert detail["models_by_language"]["en"] == detail["default_model"]
    assert {"needs_reference_audio", "thread_safe", "batch"} <= set(detail["capabilities"])
    text = run("engines", "piper")
    assert "length_scale" in text.stdout and "Models by language" in text.stdout


def test_plugins_json():
    data = run_json("plugins")
    names = {p["name"] for p in data["plugins"]}
    assert "piper" in names and isinstance(data["failures"], list)
    piper = next(p for p in data["plugins"] if p["name"] == "piper")
    assert "piper" in piper["engines"] and "synthesize_segment" in piper["hooks"]


def test_cache_stats_path_clear(tmp_path):
    run_json("say", "Fill the cache.", "-o", "x.wav")
    stats = run_json("cache", "stats")
    assert stats["entries"] >= 1 and stats["size_bytes"] > 0 and stats["directory"] == str(tmp_path / "cache")
    assert stats["last_render"] == {"hits": 0, "misses": 1, "hit_rate": 0.0}
    path = run("cache", "path")
    assert path.stdout.strip() == str(tmp_path / "cache")
    cleared = run_json("cache", "clear", "--yes")
    assert cleared["removed"] >= 1
    assert run_json("cache", "stats")["entries"] == 0
    assert "Entries" in run("cache", "stats").stdout


def test_cache_dir_option_wins_over_environment(tmp_path):
    result = run("--cache-dir", str(tmp_path / "other"), "cache", "path")
    assert result.stdout.strip() == str(tmp_path / "other")


def test_engine_failure_is_one_line_and_finished_segments_stay_cached(monkeypatch):
    """A segment the engine fails on names the segment; a re-run reuses what was finished."""
    from conftest import ToneEngine

    import polyvox.config

    engine = ToneEngine(fail_on="boom")
    original = polyvox.config.Settings.kernel

    def kernel_with_tone(self, **overrides):
        kernel = original(self, **overrides)
        kernel.register(engine)
        return kernel

    monkeypatch.setattr(polyvox.config.Settings, "kernel", kernel_with_tone)
    script = "First line.\nSecond line.\nThen boom here.\n"
    failed = run("render", "-", "--engine", "tone", "-o", "t.wav", input=script)
    assert failed.exit_code == 1
    lines = failed.stderr.strip().splitlines()  # progress lines, then the error
    assert [n for n, line in enumerate(lines) if line.startswith("Error")] == [len(lines) - 1]
    assert "Traceback" not in failed.stderr
    assert lines[-1].startswith("Error: segment 2") and "boom" in lines[-1]
    engine.fail_on = None
    again = run_json("render", "-", "--engine", "tone", "-o", "t.wav", input=script)
    assert again["stats"]["cached"] == 2 and again["stats"]["synthesized"] == 1


def test_settings_precedence_and_sizes(tmp_path):
    from polyvox.config import load_settings

    config = tmp_path / "settings.toml"
    config.write_text('engine = "piper"\nlanguage = "de"\ncache_size_limit = "500MB"\nworkers = 2\n')
    env = {"POLYVOX_LANGUAGE": "fr", "POLYVOX_WORKERS": "3"}
    settings = load_settings({"workers": 4, "engine": None}, environ=env, path=config)
    assert (settings["engine"].value, settings["engine"].source) == ("piper", f"config {config}")
    assert (settings["language"].value, settings["language"].source) == ("fr", "env POLYVOX_LANGUAGE")
    assert (settings["workers"].value, settings["workers"].source) == (4, "option")
    assert settings.value("cache_size_limit") == 500 * 1024**2
    assert settings["seed"].source == "default" and settings.value("seed") == 42
    two_gib = load_settings({"cache_size_limit": "2 GiB"}, environ={}, path=config)
    assert two_gib.value("cache_size_limit") == 2 * 1024**3
    assert load_settings({}, environ={}, path=tmp_path / "absent.toml").file_found is False


def test_json_segments_show_ssml_as_written(tmp_path):
    """A <sub>'s or <phoneme>'s segment text in --json is as the document writes it: the markers
    that carry the alias to the engine are no text a reader or a caption editor may see."""
    doc = ('<speak>Visit <sub alias="World Wide Web">WWW</sub> today. '
           '<phoneme alphabet="ipa" ph="təˈmɑːtoʊ">tomato</phoneme> soup.</speak>')
    summary = run_json("say", doc, "-o", str(tmp_path / "x.wav"))
    texts = " ".join(s["text"] for s in summary["segments"] if not s["pause"])
    assert texts == "Visit WWW today. tomato soup."


def test_ctrl_c_with_a_cache_it_could_not_use_says_nothing_was_kept(tmp_path, monkeypatch):
    """Stopped with a cache path that is a file: exit 130 and say the cache kept nothing (it
    failed with the cache's own error instead, exit 1, and no --json cancelled object)."""
    import polyvox

    (tmp_path / "afile").write_text("x")

    def stopped(self, *args, **kwargs):
        raise polyvox.Cancelled("cancelled after 2 of 40 segments", finished=2, total=40)

    monkeypatch.setattr(polyvox.Kernel, "render", stopped)
    result = run("--cache-dir", str(tmp_path / "afile"), "say", "Hello there.", "-o", "x.wav")
    assert result.exit_code == 130, result.output
    assert "stopped after 2 of 40 segments; the cache could not be used" in result.stderr
    summary = run("--cache-dir", str(tmp_path / "afile"), "say", "Hello there.", "-o", "x.wav", "--json")
    assert summary.exit_code == 130 and json.loads(summary.stdout)["cancelled"] is True
