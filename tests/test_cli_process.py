"""The console runner as a user meets it: real `polyvox` processes, pipes, signals, exit codes."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import HEAVY_MODULES, imported_modules

POLYVOX = [sys.executable, "-m", "polyvox"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("POLYVOX_") and k != "NO_COLOR"}
    out["POLYVOX_CACHE_DIR"] = str(tmp_path / "cache")
    (tmp_path / "config.toml").touch()  # POLYVOX_CONFIG must name a file that exists
    out["POLYVOX_CONFIG"] = str(tmp_path / "config.toml")
    out["POLYVOX_PLUGINS"] = "piper"  # the same engine whatever else is installed
    return out


def polyvox(*args: str, env: dict[str, str], cwd: Path, input: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*POLYVOX, *args], env=env, cwd=cwd, input=input, capture_output=True, text=True,
                          timeout=timeout)


def test_demo_twice_in_a_process_second_from_cache(env, tmp_path):
    first = polyvox("demo", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "out/demo.wav"
    assert "Real-time factor" in first.stderr
    assert "\x1b[" not in first.stderr  # no colours into a pipe
    samples, rate = sf.read(tmp_path / "out" / "demo.wav")
    assert rate == 22050 and len(samples) / rate > 5 and np.sqrt(np.mean(samples**2)) > 0.005
    second = polyvox("demo", "--json", env=env, cwd=tmp_path)
    stats = json.loads(second.stdout)["script"]["stats"]
    assert stats["synthesized"] == 0 and stats["cached"] == stats["speech_segments"] > 0


def test_stdin_pipe_and_json(env, tmp_path):
    done = polyvox("render", "-", "-o", "piped.flac", "--json", env=env, cwd=tmp_path,
                   input="[Alice] Piped in from a shell.\n")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["outputs"]["audio"] == "piped.flac" and data["stats"]["synthesized"] == 1
    assert sf.info(tmp_path / "piped.flac").samplerate == 22050


@pytest.mark.parametrize("args", [
    ["render", "nothing-here.txt"],
    ["say", "Hi", "--engine", "f5tts"],
    ["say", "Hi", "--set", "length_scale=-1"],
    ["cache", "stats", "--bogus"],
])
def test_error_is_one_line_and_non_zero(env, tmp_path, args):
    done = polyvox(*args, env=env, cwd=tmp_path)
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("Error: ")
    assert "Traceback" not in done.stderr


def test_no_color_and_quiet(env, tmp_path):
    env = {**env, "NO_COLOR": "1"}
    done = polyvox("say", "No colours.", "-o", "n.wav", env=env, cwd=tmp_path)
    assert done.returncode == 0 and "\x1b[" not in done.stderr
    quiet = polyvox("say", "Nothing at all.", "-o", "n.wav", "-q", env=env, cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""


def stderr_lines(proc: subprocess.Popen[str]) -> queue.Queue[str | None]:
    """`proc`'s stderr, a line at a time, read by a thread so the test can wait with a deadline
    instead of blocking on a read; None after the last line."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


LONG_SCRIPT = "\n".join(
    f"[{'Alice' if i % 2 else 'Bob'}] This is sentence number {i} of a longer script, long enough to interrupt."
    for i in range(40)
) + "\n"


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])  # Ctrl-C; kill, docker stop, systemd
def test_ctrl_c_keeps_finished_segments(env, tmp_path, stop):
    (tmp_path / "long.txt").write_text(LONG_SCRIPT, encoding="utf-8")
    proc = subprocess.Popen([*POLYVOX, "render", "long.txt", "-o", "long.wav"], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = stderr_lines(proc)
    try:
        seen = []
        deadline = time.monotonic() + 120
        while len(seen) < 2:  # one plain line per finished segment when stderr is a pipe
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"two segments did not finish within 120 s ({len(seen)} did)")
            assert line is not None, f"polyvox exited after {len(seen)} segments, before it was interrupted"
            if line.startswith("[") and "/40]" in line:
                seen.append(line)
        proc.send_signal(stop)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    rest = "".join(iter(lambda: lines.get(timeout=30), None))
    assert code == 130, rest
    assert "Traceback" not in rest
    assert "kept in the cache" in rest
    assert not (tmp_path / "long.wav").exists()  # no half-written file under the real name
    assert not list(tmp_path.glob("*.partial*"))
    again = polyvox("render", "long.txt", "-o", "long.wav", "--json", env=env, cwd=tmp_path, timeout=300)
    assert again.returncode == 0, again.stderr
    stats = json.loads(again.stdout)["stats"]
    assert stats["cached"] >= 2 and stats["cached"] + stats["synthesized"] == 40
    assert stats["synthesized"] > 0  # it really was stopped early


def test_the_f5tts_module_alias_runs_the_polyvox_command(env, tmp_path):
    """`python -m polyvox_f5tts download NAME` is `polyvox models pull f5tts:NAME`, run as the
    command (the plugin never imports the CLI): here, where F5-TTS is not installed, the
    command's own one-line answer comes back with its exit status."""
    env = {**env, "PYTHONPATH": str(Path(__file__).parents[1] / "plugins" / "f5tts")}
    alias = [sys.executable, "-m", "polyvox_f5tts"]
    pull = subprocess.run([*alias, "download", "F5TTS_German"], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert pull.returncode == 1
    assert pull.stderr.strip().splitlines() == [
        "Error: engine 'f5tts' is not installed (installed: piper); install it with `polyvox install f5tts` "
        "(pip install polyvox-f5tts)"]
    usage = subprocess.run([*alias, "upload"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and usage.stderr.startswith("usage: python -m polyvox_f5tts")


@pytest.mark.parametrize("command", [["--help"], ["render", "--help"], ["serve", "--help"]])
def test_help_imports_nothing_heavy(env, command):
    """--help stays instant by what it imports, not by a stopwatch: no engine, audio or server
    module (a heavy import at a module's top level fails this on any machine, loaded or not)."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "polyvox", *command], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "Usage:" in run.stdout, run.stderr[-2000:]
    modules = imported_modules(run.stderr)
    assert {"polyvox", "click"} <= modules  # the import log was read
    assert not modules & HEAVY_MODULES, sorted(modules & HEAVY_MODULES)


def test_a_quiet_say_to_stdout_draws_nothing_and_starts_without_rich(env):
    """`polyvox say -q -o -` (a pipe to a player) draws nothing, so it does not import the
    drawing library on its way to the first audio byte (some 40 ms of a 0.6 s start)."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "polyvox", "say", "Hello there.", "-q",
                          "-o", "-", "--format", "pcm"], env=env, capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    samples = np.frombuffer(run.stdout, np.int16)
    assert len(samples) > 0.5 * 22_050 and np.abs(samples).max() > 3000  # the sentence was spoken
    modules = imported_modules(run.stderr.decode())
    assert {"polyvox", "piper", "onnxruntime"} <= modules  # the import log was read
    assert "rich" not in modules


def test_say_with_stderr_to_a_pipe_writes_its_lines_before_importing_rich(env):
    """Off a terminal the progress lines are plain text: rich is imported for the summary
    table after the audio, not on the way to it."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "polyvox", "say", "Hello there.",
                          "-o", "-", "--format", "pcm"], env=env, capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(run.stdout) > 0.5 * 22_050 * 2
    log = run.stderr.decode().splitlines()
    said = next(i for i, line in enumerate(log) if line.startswith("[1/1]"))
    assert "narrator (en): Hello there." in log[said]
    assert "rich" not in imported_modules("\n".join(log[:said]))
    assert "rich" in imported_modules("\n".join(log[said:]))  # the summary table


def test_a_reader_that_goes_away_ends_the_command_quietly(env, tmp_path):
    """`polyvox say ... -o - | head -c4`: the pipe closes under the writer; no error line for
    what the user did on purpose (it said "cannot write audio to the output stream: Broken pipe")."""
    proc = subprocess.Popen([*POLYVOX, "say", "Hello there, this is a longer sentence for a pipe.", "-o", "-",
                             "--format", "pcm"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.read(4)  # the first bytes of audio, then the reader leaves
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and b"Error" not in err and b"Traceback" not in err, err
