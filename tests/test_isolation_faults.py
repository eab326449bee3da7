"""Worker faults: killed, crashing, hung. Each gives a SegmentError naming the segment and
quoting the worker's last stderr lines, keeps what was finished, and the next call works
with a fresh worker. No worker outlives its test (the `isolated_kernel` fixture checks) or
the process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import polyvox
from polyvox import Segment
from polyvox.isolation.host import wait_gone

FINE = [Segment(text="The first line is fine."), Segment(text="The last line is fine too.")]


def worker_of(kernel: polyvox.Kernel):
    return kernel.plugins.pm.get_plugin(kernel.plugin_of("isotone")).host


def fault_then_retry(kernel: polyvox.Kernel, fault: str, message: str) -> None:
    """Render FINE with `fault` between; check the error, the kept segment and a working retry."""
    script = [FINE[0], Segment(text=fault), FINE[1]]
    start = time.monotonic()
    with pytest.raises(polyvox.SegmentError) as caught:
        kernel.render(script, engine="isotone")
    assert time.monotonic() - start < 30
    error = caught.value
    assert error.index == 1 and error.text == fault
    assert str(error).startswith(f"segment 1 (narrator: {fault!r}) failed in engine 'isotone': the worker of "
                                 "plugin 'isotone' (pid ")
    assert message in str(error), str(error)
    host = worker_of(kernel)
    assert host.pid is None
    retry = kernel.render(FINE, engine="isotone")
    assert retry.stats.cached == 1 and retry.stats.synthesized == 1  # the first line was kept
    assert host.starts == 2 and host.pid is not None


def test_a_worker_killed_mid_segment(isolated_kernel):
    fault_then_retry(isolated_kernel, "Now kill me, please.",
                     "was killed by SIGKILL; its last stderr lines: ")
    assert "isotone: killing myself" in _last_error(isolated_kernel, "Now kill me, please.")


def _last_error(kernel: polyvox.Kernel, text: str) -> str:
    with pytest.raises(polyvox.SegmentError) as caught:
        kernel.render([Segment(text=text)], engine="isotone", use_cache=False)
    return str(caught.value)


def test_a_worker_that_crashes(isolated_kernel):
    fault_then_retry(isolated_kernel, "Then crash now.",
                     "exited with status 3; its last stderr lines: ")
    assert "isotone: out of memory, giving up" in _last_error(isolated_kernel, "Then crash now.")


def test_a_worker_that_segfaults(isolated_kernel):
    fault_then_retry(isolated_kernel, "A segfault here.", "was killed by SIGSEGV")
    assert "isotone: reading address zero" in _last_error(isolated_kernel, "A segfault here.")


def test_an_engine_error_keeps_its_class_across_the_worker(isolated_kernel):
    """polyvox's own errors raised in the worker arrive as themselves (a model that is not on the
    machine is the server's 503, not a 400 for a bad request); any other exception as an
    EngineFailure naming its type."""
    from polyvox.isolation.host import EngineFailure
    from polyvox.serve.errors import from_polyvox

    with pytest.raises(polyvox.PolyvoxError) as caught:
        isolated_kernel.synthesize("Hello there.", engine="isotone", model="unfetched")
    assert type(caught.value) is polyvox.ModelError, repr(caught.value)
    assert str(caught.value) == "isotone model 'unfetched' has no weights on this machine"
    assert from_polyvox(caught.value).status == 503
    with pytest.raises(polyvox.SegmentError) as caught:
        isolated_kernel.render([Segment(text="Please fail here.")], engine="isotone")
    assert type(caught.value.__cause__) is EngineFailure
    assert str(caught.value).endswith("failed in engine 'isotone': ValueError: isotone cannot say that")
    assert worker_of(isolated_kernel).starts == 1  # errors, not faults: the one worker served them all


def test_a_hung_worker_is_stopped_at_the_deadline(isotone_env, tmp_path, monkeypatch, isolated_kernel):
    monkeypatch.setenv("POLYVOX_WORKER_TIMEOUT", "1.5")
    kernel = polyvox.Kernel(cache_dir=tmp_path / "hung")  # the setting is read when the kernel starts
    kernel.render(FINE[:1], engine="isotone")  # warm: the deadline is for the call, not the start
    start = time.monotonic()
    fault_then_retry(kernel, "Wait, I hang here.", "did not answer synthesize within 1.5 s "
                                                   "(POLYVOX_WORKER_TIMEOUT) and was stopped")
    assert "isotone: waiting forever" in _last_error(kernel, "Wait, I hang here.")
    assert time.monotonic() - start < 20


STALLING = """
import json, struct, sys, time
from polyvox.isolation.protocol import read_frame, write_frame
where, out = sys.argv[1], sys.stdout.buffer
read_frame(sys.stdin.buffer)
write_frame(out, {"ok": {"version": 1}})  # hello
read_frame(sys.stdin.buffer)
body = json.dumps({"ok": [{"sample_rate": 16000, "blob": 0}], "blobs": [64000]}).encode()
frame = struct.pack(">I", len(body)) + body + bytes(64000)
out.write(frame[:12] if where == "header" else frame[:len(frame) // 2])  # then nothing more
out.flush()
time.sleep(60)
"""


@pytest.mark.parametrize("where", ["header", "audio"])
def test_a_worker_that_stalls_in_the_middle_of_a_reply_is_stopped_at_the_deadline(tmp_path, where):
    """The deadline is for the whole reply, not its first byte: a worker that stops writing
    mid-frame (a deadlocked or paused process) fails the call instead of hanging the kernel."""
    from polyvox.isolation.host import WorkerError, WorkerHost

    script = tmp_path / "stalling.py"
    script.write_text(STALLING)
    host = WorkerHost([sys.executable, str(script), where], label="a stalling worker", timeout=1.0)
    host.start()
    pid = host.pid
    errors: list[BaseException] = []

    def call() -> None:
        try:
            host.call("synthesize", {})
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(20)  # far past the 1 s deadline: only a hang gets here
    if thread.is_alive():
        os.kill(pid, signal.SIGKILL)  # let the stuck call end, then fail
        thread.join(10)
        pytest.fail("the call still waits on a worker that stalled in the middle of its reply")
    host.close()
    (error,) = errors
    assert isinstance(error, WorkerError), repr(error)
    assert "stalled in its reply to synthesize, unfinished within 1 s (POLYVOX_WORKER_TIMEOUT) and was stopped" \
        in str(error)
    assert wait_gone(pid)


def test_a_worker_killed_from_outside_mid_render(isolated_kernel):
    host = worker_of(isolated_kernel)
    errors: list[BaseException] = []

    def render() -> None:
        try:
            isolated_kernel.render([FINE[0], Segment(text="I hang here until killed.")], engine="isotone")
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    thread = threading.Thread(target=render)
    thread.start()
    deadline = time.monotonic() + 30
    while not any("waiting forever" in line for line in list(host._stderr)):
        assert time.monotonic() < deadline, "the worker never reached the hanging segment"
        time.sleep(0.02)
    pid = host.pid
    os.kill(pid, signal.SIGKILL)  # kill -9, as a user or the OOM killer would
    thread.join(timeout=30)
    assert not thread.is_alive()
    (error,) = errors
    assert isinstance(error, polyvox.SegmentError) and error.index == 1
    assert f"(pid {pid}) was killed by SIGKILL" in str(error) and "isotone: waiting forever" in str(error)
    assert wait_gone(pid)
    assert isolated_kernel.render(FINE, engine="isotone").stats.cached == 1


def test_a_worker_killed_while_idle_is_replaced_without_an_error(isolated_kernel, tmp_path):
    from polyvox.testing import reference_voice

    voice = reference_voice(tmp_path, "low", 110.0)
    first = isolated_kernel.render(FINE[:1], engine="isotone", voice=voice, use_cache=False)
    host = worker_of(isolated_kernel)
    old = host.pid
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while host._proc.poll() is None:  # the kill has landed (it is asynchronous)
        assert time.monotonic() < deadline
        time.sleep(0.01)
    again = isolated_kernel.render(FINE[:1], engine="isotone", voice=voice, use_cache=False)
    # the model and the voice were rebuilt in the new worker from their handles
    assert host.starts == 2 and host.pid != old
    assert (again.audio.samples == first.audio.samples).all()


_PARENT = """
import os, signal, sys, threading, time
import polyvox
kernel = polyvox.Kernel(cache=False)
kernel.render([polyvox.Segment(text="Warm up the worker.")], engine="isotone")
host = kernel.plugins.pm.get_plugin(kernel.plugin_of("isotone")).host
print(host.pid, flush=True)
if sys.argv[1] == "kill-busy":  # the worker is inside the engine when its parent dies
    say = lambda: kernel.render([polyvox.Segment(text="I hang here.")], engine="isotone")
    threading.Thread(target=say, daemon=True).start()
    while not any("waiting forever" in line for line in list(host._stderr)):
        time.sleep(0.02)
if sys.argv[1].startswith("kill"):
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("how", ["kill", "kill-busy", "exit"])
def test_no_worker_outlives_the_process_that_started_it(isotone_env, tmp_path, how):
    env = {**os.environ, "POLYVOX_ENVS_DIR": str(Path(isotone_env.path).parent)}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_PARENT), how], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == (-signal.SIGKILL if how.startswith("kill") else 0), proc.stderr
    pid = int(proc.stdout.split()[0])
    # the worker is not our child: it was reparented when its parent died; it must exit by itself
    gone = wait_gone(pid, timeout=10)
    if not gone:  # leave no orphan behind, even when failing
        os.kill(pid, signal.SIGKILL)
    assert gone, f"worker {pid} outlived its parent ({how})"
