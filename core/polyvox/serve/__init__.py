"""`polyvox serve`: an OpenAI-compatible speech server (and a Wyoming server for Home
Assistant) on one kernel: one cache, one model pool, one scheduler for every request.

Needs the extra: ``pip install 'polyvox[serve]'``. See docs/serving.md.
"""

from __future__ import annotations

from typing import Any

from polyvox.errors import PolyvoxError
from polyvox.serve.config import ServeConfig

__all__ = ["ServeConfig", "create_app", "run"]


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


def run(config: ServeConfig, kernel: Any = None, wyoming: str | None = None) -> None:
    """Serve HTTP on config.host:config.port (and Wyoming on `wyoming`, a tcp:// URI) until
    interrupted."""
    _require()
    import uvicorn

    from polyvox import Kernel

    kernel = kernel or Kernel(downloads="never")  # a request never waits on a multi-GB download: 503
    app = create_app(config, kernel)
    import sys

    from polyvox.serve.startup import banner, check

    check(config, app.app.state.service)  # a mapping no request could use: one line, before listening
    print(banner(config, app.app.state.service, wyoming), file=sys.stderr, flush=True)
    server = uvicorn.Server(uvicorn.Config(app, host=config.host, port=config.port, log_level="info",
                                           timeout_graceful_shutdown=5))
    if wyoming is not None:  # its own thread and event loop: uvicorn keeps the main thread's signals
        import asyncio
        import threading

        from polyvox.serve.wyoming import serve_wyoming

        service = app.app.state.service
        threading.Thread(target=lambda: asyncio.run(serve_wyoming(wyoming, service, config.no_auth)),
                         name="polyvox-wyoming", daemon=True).start()
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after a clean shutdown: the normal way to stop
        pass
