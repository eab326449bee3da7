"""The engine worker: runs one environment's plugin and answers the kernel over stdin/stdout
(its engines, and its listeners: a listener isolated like an engine hears here).

Started by `WorkerHost` as ``python -m polyvox.isolation.worker --plugin NAME=MODULE[:ATTR]``
with the environment's Python. It never prints into the protocol: file descriptor 1 is
moved aside for frames and pointed at stderr before any plugin code is imported, so
upstream prints, progress bars and warnings end up in the worker's stderr, which the
kernel keeps for error messages.

Loaded models and voice conditioning stay here; the kernel holds integer handles to them.
The worker exits when stdin ends (the kernel closed the pipe or exited) and, within
0.2 s, when the kernel's process dies, even in the middle of a synthesis call.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import threading
import time
import traceback
from typing import Any, BinaryIO


def _take_stdio() -> tuple[BinaryIO, BinaryIO]:
    """The protocol streams; fds 0 and 1 become /dev/null and stderr for everything else."""
    proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
    proto_out = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto_in, proto_out


def _watch_parent(parent: int, interval: float = 0.2) -> None:
    """Exit as soon as the kernel's process is gone, even in the middle of a synthesis call.

    An orphan is re-parented, so its parent id changes. (PR_SET_PDEATHSIG is not used: it
    fires when the *thread* that started the worker ends, which a kernel's thread pool does.)
    """
    while True:
        time.sleep(interval)
        if os.getppid() != parent:
            try:  # the kernel read our stderr: with it gone, this write may fail (EPIPE)
                print("polyvox worker: the kernel's process is gone; exiting", file=sys.stderr, flush=True)
            finally:
                os._exit(0)


class Worker:
    """The handles and the plugin manager behind the protocol's operations."""

    def __init__(self, plugins: list[tuple[str, str]], distribution: str | None):
        from polyvox.plugin.registry import Plugins

        self.plugins = Plugins([], load_entry_points=False)
        for name, target in plugins:
            module, _, attr = target.partition(":")
            self.plugins._load(name, lambda m=module, a=attr: _resolve(m, a), distribution, None, module)
        self.plugins.refresh()
        self.distribution = distribution
        self.handles: dict[int, Any] = {}
        self._next = 0
        self.blobs: list[bytes] = []  # the request's blobs (the audio of a `hear`)

    def _keep(self, obj: Any) -> int:
        self._next += 1
        self.handles[self._next] = obj
        return self._next

    def _get(self, handle: int) -> Any:
        try:
            return self.handles[handle]
        except KeyError:
            raise LookupError(f"no object with handle {handle} in this worker") from None

    # -- operations: each takes the request's args and a list to append reply blobs to -----
    def op_hello(self, args: dict, reply_blobs: list[bytes]) -> Any:
        from polyvox.isolation.protocol import VERSION, encode_listener_spec, encode_spec
        from polyvox.plugin.versions import package_versions

        if args.get("version") != VERSION:
            raise RuntimeError(f"kernel speaks protocol {args.get('version')}, this worker {VERSION}")
        return {"version": VERSION, "pid": os.getpid(), "python": sys.version.split()[0],
                "executable": sys.executable,
                "specs": [encode_spec(s) for s in self.plugins.specs.values()],
                "listeners": [encode_listener_spec(s) for s in self.plugins.listeners.values()],
                "versions": package_versions(self.distribution),
                "finds_voices": self._finds_voices(),
                "failures": [[f.name, f.error] for f in self.plugins.failures]}

    def _finds_voices(self) -> bool:
        from polyvox.plugin.engine import Engine

        for impl in self.plugins.pm.hook.find_voices.get_hookimpls():
            owner = getattr(impl.function, "__self__", None)
            if isinstance(owner, Engine) and type(owner).voices_in is Engine.voices_in:
                continue  # the base class's empty default
            return True
        return False

    def op_load_model(self, args: dict, reply_blobs: list[bytes]) -> Any:
        hook = self.plugins.hook
        from polyvox.weights.sources import Files

        paths = args.get("files")
        files = Files(paths) if paths is not None else None  # the kernel fetched them: plain paths cross
        model = hook.load_model(engine=args["engine"], model=args["model"], device=args["device"], files=files)
        if model is None:
            return None
        try:
            size = hook.model_size(engine=args["engine"], model=model)
        except Exception:
            size = None
        return {"handle": self._keep(model), "size": size}

    def op_prepare_voice(self, args: dict, reply_blobs: list[bytes]) -> Any:
        from polyvox.isolation.protocol import decode_voice

        conditioning = self.plugins.hook.prepare_voice(engine=args["engine"], model=self._get(args["model"]),
                                                       voice=decode_voice(args["voice"]), params=args["params"])
        return {"handle": self._keep(conditioning)}

    def op_synthesize(self, args: dict, reply_blobs: list[bytes]) -> Any:
        from polyvox.isolation.protocol import decode_request, encode_audio

        hook = self.plugins.hook
        model = self._get(args["model"])
        conditioning = None if args.get("conditioning") is None else self._get(args["conditioning"])
        requests = [decode_request(r) for r in args["requests"]]
        if args.get("batch"):
            out = hook.synthesize_batch(engine=args["engine"], model=model, requests=requests,
                                        conditioning=conditioning)
        else:
            out = [hook.synthesize_segment(engine=args["engine"], model=model, request=requests[0],
                                           conditioning=conditioning)]
        if out is None:
            return None
        return [encode_audio(a, reply_blobs) if _is_audio(a) else {"invalid": type(a).__name__} for a in out]

    def op_hear(self, args: dict, reply_blobs: list[bytes]) -> Any:
        from polyvox.isolation.protocol import decode_audio, encode_heard
        from polyvox.listen.heard import Heard

        heard = self.plugins.hook.hear(listener=args["listener"], model=self._get(args["model"]),
                                       audio=decode_audio(args["audio"], self.blobs), language=args.get("language"))
        if heard is None:
            return None
        return encode_heard(heard) if isinstance(heard, Heard) else {"invalid": type(heard).__name__}

    def op_model_files(self, args: dict, reply_blobs: list[bytes]) -> Any:
        files = self.plugins.hook.model_files(engine=args["engine"], model=args["model"])
        return None if files is None else [str(f) for f in files]

    def op_map_language(self, args: dict, reply_blobs: list[bytes]) -> Any:
        return self.plugins.hook.map_language(engine=args["engine"], language=args["language"])

    def op_find_voices(self, args: dict, reply_blobs: list[bytes]) -> Any:
        from polyvox.isolation.protocol import encode_voice

        found = self.plugins.hook.find_voices(directory=args["directory"])
        return [encode_voice(v) for voices in found for v in (voices or [])]

    def op_release(self, args: dict, reply_blobs: list[bytes]) -> Any:
        for handle in args["handles"]:
            self.handles.pop(handle, None)
        return None


def _is_audio(value: Any) -> bool:
    from polyvox.audio import Audio

    return isinstance(value, Audio)


def _resolve(module: str, attr: str) -> Any:
    obj = importlib.import_module(module)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


def serve(proto_in: BinaryIO, proto_out: BinaryIO, worker: Worker) -> None:
    """Answer requests until the kernel closes the pipe (or dies: see `_watch_parent`).

    Requests are read in this thread, the one that runs the engine: no hand-over between
    threads, so a call costs the boundary as few wake-ups as possible.
    """
    from polyvox.errors import PolyvoxError
    from polyvox.isolation.protocol import read_frame, write_frame

    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True, name="polyvox-parent").start()
    while (frame := read_frame(proto_in)) is not None:
        header, worker.blobs = frame  # only a `hear` request carries blobs (its audio)
        out_blobs: list[bytes] = []
        op = getattr(worker, f"op_{header.get('op')}", None)
        start = time.perf_counter()
        try:
            if op is None:
                raise LookupError(f"unknown operation {header.get('op')!r}")
            reply: dict[str, Any] = {"ok": op(header.get("args", {}), out_blobs)}
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            out_blobs = []
            reply = {"error": {"type": type(exc).__name__, "message": str(exc),
                               "polyvox": isinstance(exc, PolyvoxError)}}
        reply["seconds"] = time.perf_counter() - start  # the engine's own time: the rest is the boundary's
        write_frame(proto_out, reply, out_blobs)


def main(argv: list[str] | None = None) -> None:
    proto_in, proto_out = _take_stdio()
    parser = argparse.ArgumentParser(prog="polyvox-worker")
    parser.add_argument("--plugin", action="append", default=[], help="NAME=MODULE[:ATTR]")
    parser.add_argument("--distribution", default=None, help="the plugin's distribution, for package versions")
    args = parser.parse_args(argv)
    plugins = [tuple(p.split("=", 1)) for p in args.plugin]
    serve(proto_in, proto_out, Worker(plugins, args.distribution))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
