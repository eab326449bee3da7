"""A real `polyvox serve` process for tests that must see the server crash, log or grow: a
segfault in a thread of the test's own process would take pytest down with it, and its memory
would be pytest's. Loopback only, on a free port; stopped (with a deadline) when the test ends."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from servekit import free_port

#: What a server log must never hold: a crash, a thread's unhandled error, a render stream
#: closed under the thread reading it, an error nobody awaited.
FAULTS = ("Fatal Python error", "Traceback", "generator already executing", "Task exception was never retrieved")


class Served:
    def __init__(self, process: subprocess.Popen, url: str, log: Path):
        self.process = process
        self.url = url
        self.log_path = log

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def rss(self) -> int:
        """The server's resident memory, in bytes (Linux's /proc)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def faults(self) -> list[str]:
        text = self.log()
        return [fault for fault in FAULTS if fault in text]


@contextmanager
def serving(tmp_path: Path, *options: str) -> Iterator[Served]:
    """`polyvox serve OPTIONS` on 127.0.0.1 (its cache is the test's, from conftest's
    POLYVOX_CACHE_DIR; its voices folder is under `tmp_path`)."""
    port = free_port()
    log = tmp_path / "server.log"
    command = [sys.executable, "-X", "faulthandler", "-m", "polyvox", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--voices", str(tmp_path / "server-voices"), *options]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    served = Served(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if not served.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{served.log()[-3000:]}")
            try:
                if httpx.get(f"{served.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
