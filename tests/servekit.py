"""Start a polyvox server for a test: uvicorn in a thread on 127.0.0.1 and a free port, stopped
(with a deadline) when the test ends. Loopback only; nothing leaves the machine."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

import polyvox
from polyvox.serve import ServeConfig, create_app
from polyvox.serve.connections import uvicorn_config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    def __init__(self, app: Any, url: str, kernel: polyvox.Kernel):
        self.app = app
        self.url = url
        self.kernel = kernel

    @property
    def state(self) -> Any:
        return self.app.state


@contextmanager
def running(kernel: polyvox.Kernel, tmp_path: Any, **settings: Any) -> Iterator[Running]:
    port = free_port()
    settings.setdefault("voices_dir", tmp_path / "server-voices")
    config = ServeConfig(host="127.0.0.1", port=port, **settings)
    app = create_app(config, kernel)
    server = uvicorn.Server(uvicorn_config(app, config, log_level="warning", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield Running(app, f"http://127.0.0.1:{port}", kernel)
    finally:
        server.should_exit = True
        thread.join(10)
