"""`WorkerHost`: an engine host (polyvox.isolation.seam) that runs the engines (and listeners) of
one environment in a worker process (polyvox.isolation.worker) and survives its faults.

Objects an engine owns (the loaded model, the voice conditioning) never cross: the worker
keeps them and this host hands out handles that remember how they were made.
"""

from __future__ import annotations

import atexit
import collections
import os
import select
import signal
import subprocess
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from polyvox import errors
from polyvox.audio import Audio
from polyvox.errors import PluginError, PolyvoxError
from polyvox.isolation import protocol
from polyvox.isolation.handles import ModelHandle, VoiceHandle
from polyvox.listen.heard import Heard
from polyvox.plugin.spec import EngineSpec
from polyvox.text.segment import Request
from polyvox.voices.voice import Voice

#: Seconds a worker may take for one call before it is stopped (POLYVOX_WORKER_TIMEOUT).
DEFAULT_TIMEOUT = 600.0
#: Seconds a new worker may take to import its plugin and say hello.
DEFAULT_START_TIMEOUT = 120.0


class WorkerError(PolyvoxError):
    """A worker process died, crashed or stopped answering; its last stderr lines are in the message."""


class EngineFailure(PolyvoxError):
    """An engine raised an exception that is not a polyvox error inside its worker."""


_HOSTS: weakref.WeakSet[WorkerHost] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for host in list(_HOSTS):
        host.close()


def timeout_from_env(env: Mapping[str, str] | None = None) -> float:
    value = (os.environ if env is None else env).get("POLYVOX_WORKER_TIMEOUT")
    if value in (None, ""):
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
        if not seconds > 0 or seconds == float("inf"):
            raise ValueError
    except ValueError:
        raise PolyvoxError(f"POLYVOX_WORKER_TIMEOUT={value!r} is not valid: expected a positive number of "
                           "seconds") from None
    return seconds


class WorkerHost:
    """Engines served by a worker process (polyvox.isolation.worker), started on first use.

    One call at a time goes over the pipe. A worker that dies, crashes or exceeds
    `timeout` on a call is stopped and the call raises `WorkerError` with its last stderr
    lines; the next call starts a fresh worker, and handles from the old one are rebuilt
    there (models reloaded, voices prepared again) without the caller noticing.
    """

    def __init__(self, command: Sequence[str], *, label: str, env: Mapping[str, str] | None = None,
                 timeout: float | None = None, start_timeout: float = DEFAULT_START_TIMEOUT,
                 stderr_lines: int = 50, log: str | Path | None = None):
        self.command = list(command)
        self.label = label
        self.env = dict(env) if env is not None else None
        self.timeout = timeout_from_env() if timeout is None else timeout
        self.start_timeout = start_timeout
        self.log = Path(log) if log is not None else None
        self.where = label
        #: How many of the worker's last stderr lines a `WorkerError` quotes (all kept ones are in `log`).
        self.message_lines = 5
        self.hello: dict[str, Any] = {}
        self.starts = 0
        #: (operation, seconds from request to reply, seconds the worker spent in it): the
        #: difference is what the process boundary cost that call.
        self.last_call: tuple[str, float, float] = ("", 0.0, 0.0)
        self._lock = threading.RLock()
        self._proc: subprocess.Popen | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=stderr_lines)
        self._stderr_thread: threading.Thread | None = None
        self._generation = 0
        self._released: list[int] = []
        self._released_lock = threading.Lock()
        _HOSTS.add(self)

    # -- process -----------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self) -> dict[str, Any]:
        """Start the worker if none runs; returns its hello (specs, versions, Python)."""
        with self._lock:
            # A worker that died while idle has exited (poll) or closed its output (a reply
            # waiting before any request): replace it quietly, nothing was lost.
            if self._proc is not None and self._proc.poll() is None and not _readable(self._proc.stdout, 0):
                return self.hello
            self._stop()
            self._generation += 1
            self._stderr.clear()
            with self._released_lock:
                self._released.clear()
            log = open(self.log, "w", encoding="utf-8") if self.log is not None else None  # noqa: SIM115
            try:
                self._proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                              stderr=subprocess.PIPE, env=self.env, start_new_session=True)
            except OSError as exc:
                if log:
                    log.close()
                raise WorkerError(f"cannot start the worker of {self.label}: {exc}") from exc
            self.starts += 1
            proc = self._proc
            self._stderr_thread = threading.Thread(target=_read_stderr, args=(proc.stderr, self._stderr, log),
                                                   daemon=True, name=f"polyvox-worker-{proc.pid}-err")
            self._stderr_thread.start()
            self.hello, _ = self._exchange("hello", {"version": protocol.VERSION}, (), self.start_timeout)
            if self.hello.get("failures"):  # the plugin does not import or register in its environment
                plugin, error = self.hello["failures"][0]
                self._stop()
                raise WorkerError(f"plugin {plugin} does not load in the worker of {self.label}: {error}")
            return self.hello

    def close(self) -> None:
        """Stop the worker: close its stdin (it exits at once), kill it if it lingers."""
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if self._stderr_thread is not None:  # the last lines a dying worker wrote, read before
            self._stderr_thread.join(timeout=2)  # the pipe is closed under the reader
        for stream in (proc.stdout, proc.stderr):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass

    # -- calls ---------------------------------------------------------------------------
    def call(self, op: str, args: dict[str, Any], blobs: Sequence[bytes] = ()) -> tuple[Any, list[bytes]]:
        """Send one request and wait for its reply, starting the worker if needed."""
        with self._lock:
            self.start()
            with self._released_lock:
                released, self._released = self._released, []
            if released:
                self._exchange("release", {"handles": released}, (), self.timeout)
            return self._exchange(op, args, blobs, self.timeout)

    def _exchange(self, op: str, args: dict[str, Any], blobs: Sequence[bytes],
                  timeout: float) -> tuple[Any, list[bytes]]:
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        sent = time.perf_counter()
        try:
            protocol.write_frame(proc.stdin, {"v": protocol.VERSION, "op": op, "args": args}, list(blobs))
        except (BrokenPipeError, OSError):
            raise self._fault("closed its input") from None
        # The reply is read in the calling thread (no reader thread to hand it over: one
        # wake-up less per call, which is most of the boundary's cost on a busy machine), all of
        # it against one deadline: a worker that stalls in the middle of a frame is stopped too.
        reader = protocol.DeadlineReader(proc.stdout, time.monotonic() + timeout)
        try:
            reply = protocol.read_frame(reader)
        except protocol.FrameTimeout:
            self._kill()
            setting = "its start-up deadline" if op == "hello" else "POLYVOX_WORKER_TIMEOUT"
            what = f"stalled in its reply to {op}, unfinished" if reader.started else f"did not answer {op}"
            raise self._fault(f"{what} within {timeout:g} s ({setting}) and was stopped") from None
        except (protocol.ProtocolError, OSError, ValueError):
            reply = None
        if reply is None:
            raise self._fault(self._exit_reason(proc))
        header, reply_blobs = reply
        self.last_call = (op, time.perf_counter() - sent, float(header.get("seconds", 0.0)))
        if "error" in header:
            raise _engine_error(header["error"])
        return header.get("ok"), reply_blobs

    def _kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)

    def _exit_reason(self, proc: subprocess.Popen) -> str:
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait(timeout=5)
        if code < 0:
            try:
                return f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with status {code}"

    def _fault(self, what: str) -> WorkerError:
        proc = self._proc
        pid = proc.pid if proc is not None else "?"
        self._stop()
        lines = [line for line in self._stderr if line.strip()][-self.message_lines:]
        tail = " | ".join(lines) or "(nothing)"
        return WorkerError(f"the worker of {self.label} (pid {pid}) {what}; its last stderr lines: {tail}")

    def _release(self, generation: int, handle: int) -> None:
        if generation == self._generation:
            with self._released_lock:
                self._released.append(handle)

    def _track(self, handle: ModelHandle | VoiceHandle) -> None:
        weakref.finalize(handle, self._release, handle.generation, handle.id)

    # -- EngineHost ------------------------------------------------------------------------
    def load_model(self, engine: str, model: str, device: str, files: Any = None) -> ModelHandle | None:
        paths = {name: str(path) for name, path in files.paths.items()} if files is not None else None
        out, _ = self.call("load_model", {"engine": engine, "model": model, "device": device, "files": paths})
        if out is None:
            return None
        handle = ModelHandle(engine, model, device, self._generation, out["handle"], out["size"], paths)
        self._track(handle)
        return handle

    def _live_model(self, handle: ModelHandle) -> int:
        with self._lock:
            self.start()
            if handle.generation != self._generation:  # loaded by a worker that is gone
                out, _ = self.call("load_model", {"engine": handle.engine, "model": handle.model,
                                                  "device": handle.device, "files": handle.files})
                handle.generation, handle.id = self._generation, out["handle"]
                self._track(handle)
            return handle.id

    def model_size(self, engine: str, model: Any) -> int | None:
        return model.size if isinstance(model, ModelHandle) else None

    def prepare_voice(self, engine: str, model: Any, voice: Voice, params: dict[str, Any]) -> VoiceHandle:
        with self._lock:
            out, _ = self.call("prepare_voice", {"engine": engine, "model": self._live_model(model),
                                                 "voice": protocol.encode_voice(voice), "params": dict(params)})
            handle = VoiceHandle(model, voice, dict(params), self._generation, out["handle"])
            self._track(handle)
            return handle

    def _live_voice(self, handle: VoiceHandle | None) -> int | None:
        if handle is None:
            return None
        if handle.generation != self._generation:
            model = self._live_model(handle.model)
            out, _ = self.call("prepare_voice", {"engine": handle.model.engine, "model": model,
                                                 "voice": protocol.encode_voice(handle.voice),
                                                 "params": handle.params})
            handle.generation, handle.id = self._generation, out["handle"]
            self._track(handle)
        return handle.id

    def _synthesize(self, engine: str, model: ModelHandle, requests: list[Request], conditioning: Any,
                    batch: bool) -> list[Audio] | None:
        with self._lock:
            self.start()
            args = {"engine": engine, "model": self._live_model(model),
                    "conditioning": self._live_voice(conditioning), "batch": batch,
                    "requests": [protocol.encode_request(r) for r in requests]}
            out, blobs = self.call("synthesize", args)
        if out is None:
            return None
        for item in out:
            if "invalid" in item:
                raise PluginError(f"engine {engine!r} returned {item['invalid']} instead of Audio")
        return [protocol.decode_audio(item, blobs) for item in out]

    def synthesize_segment(self, engine: str, model: Any, request: Request, conditioning: Any) -> Audio | None:
        out = self._synthesize(engine, model, [request], conditioning, batch=False)
        return None if out is None else out[0]

    def synthesize_batch(self, engine: str, model: Any, requests: list[Request],
                         conditioning: Any) -> list[Audio] | None:
        return self._synthesize(engine, model, requests, conditioning, batch=True)

    def hear(self, listener: str, model: ModelHandle, audio: Audio, language: str | None) -> Heard | None:
        blobs: list[bytes] = []
        with self._lock:
            args = {"listener": listener, "model": self._live_model(model), "language": language,
                    "audio": protocol.encode_audio(audio, blobs)}
            out, _ = self.call("hear", args, blobs)
        if out is not None and "invalid" in out:
            raise PluginError(f"listener {listener!r} returned {out['invalid']} instead of Heard")
        return None if out is None else protocol.decode_heard(out)

    def model_files(self, engine: str, model: str) -> list[str] | None:
        return self.call("model_files", {"engine": engine, "model": model})[0]

    def map_language(self, engine: str, language: str) -> str | None:
        return self.call("map_language", {"engine": engine, "language": language})[0]

    def find_voices(self, directory: str) -> list[Voice]:
        return [protocol.decode_voice(v) for v in self.call("find_voices", {"directory": directory})[0]]

    def specs(self) -> list[EngineSpec]:
        return [protocol.decode_spec(s) for s in self.start()["specs"]]


def _readable(stream: Any, timeout: float) -> bool:
    """True when the worker wrote something (or closed its end) within `timeout` seconds.

    Replies come one per request, so nothing of a later frame can wait in the stream's buffer.
    """
    if stream is None:
        return True
    ready, _, _ = select.select([stream], [], [], timeout)
    return bool(ready)


def _read_stderr(stream: Any, lines: collections.deque, log: Any) -> None:
    try:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            lines.append(line)
            if log is not None:
                log.write(line + "\n")
                log.flush()
    except (OSError, ValueError):
        pass
    finally:
        if log is not None:
            log.close()


def _engine_error(error: Mapping[str, Any]) -> PolyvoxError:
    """The engine's exception as the kernel would have seen it in process (by class name for
    polyvox's own errors, which carry a one-line message; anything else as its type and text)."""
    name, message = error.get("type", "Exception"), error.get("message", "")
    cls = getattr(errors, name, None)
    if error.get("polyvox") and isinstance(cls, type) and issubclass(cls, PolyvoxError) \
            and cls not in (errors.SegmentError, errors.Cancelled):
        return cls(message)
    if error.get("polyvox"):
        return PolyvoxError(message)
    return EngineFailure(f"{name}: {message}")


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    """True once no process `pid` exists (tests: no orphan workers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False
