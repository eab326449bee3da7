"""`polyvox serve`: an OpenAI-compatible speech server (and a Wyoming server for Home
Assistant) on one kernel: one cache, one model pool, one scheduler for every request.

Needs the extra: ``pip install 'polyvox[serve]'``. See docs/serving.md.
"""

from __future__ import annotations

from typing import Any

from polyvox.errors import PolyvoxError
from polyvox.serve.config import ServeConfig, read_keys

__all__ = ["ServeConfig", "create_app", "parse_wyoming_uri", "read_keys", "run"]


def _require() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise PolyvoxError(f"polyvox serve needs the 'serve' extra ({exc.name} is missing): "
                           "pip install 'polyvox[serve]'") from None


def create_app(config: ServeConfig, kernel: Any = None) -> Any:
    _require()
    from polyvox.serve.app import create_app as build

    return build(config, kernel)


def parse_wyoming_uri(uri: str, no_auth: bool = False) -> tuple[str, int]:
    """(host, port) of a Wyoming ``tcp://HOST:PORT``, or a one-line error (a host other than
    loopback only with `no_auth`): checked before anything starts."""
    from polyvox.serve.wyoming import parse_uri

    return parse_uri(uri, no_auth)


def run(config: ServeConfig, kernel: Any = None, wyoming: str | None = None) -> None:
    """Serve HTTP on config.host:config.port (and Wyoming on `wyoming`, a tcp:// URI) until
    interrupted."""
    _require()
    import uvicorn

    from polyvox import Kernel
    from polyvox.serve.connections import uvicorn_config

    kernel = kernel or Kernel(downloads="never")  # a request never waits on a multi-GB download: 503
    app = create_app(config, kernel)
    import sys

    from polyvox.serve.startup import banner, check, preload

    check(config, app.state.service)  # a mapping no request could use: one line, before listening
    preload(config, app.state.service)
    print(banner(config, app.state.service, wyoming), file=sys.stderr, flush=True)
    _log_to_stderr()
    server = uvicorn.Server(uvicorn_config(app, config, log_level="info", timeout_graceful_shutdown=5))
    if wyoming is not None:  # its own thread and event loop: uvicorn keeps the main thread's signals
        import asyncio
        import threading

        from polyvox.serve.wyoming import serve_wyoming

        state = app.state  # one queue and one set of metrics for both protocols
        threading.Thread(target=lambda: asyncio.run(serve_wyoming(wyoming, state.service, config.no_auth,
                                                                  queue=state.queue, metrics=state.metrics)),
                         name="polyvox-wyoming", daemon=True).start()
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after a clean shutdown: the normal way to stop
        pass


def _log_to_stderr() -> None:
    """The server's own lines (a refused Wyoming event, a client gone mid-answer) on stderr
    beside uvicorn's, at INFO; where the embedding program has set up logging, it decides."""
    import logging

    logger = logging.getLogger("polyvox.serve")
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     polyvox: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
