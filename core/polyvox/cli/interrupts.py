"""Ctrl-C (and SIGTERM) during a render: the first finishes the segment under way and stops,
so what was made is cached and no partial file is left; the second stops at once. Then a line
says what was kept and the command exits 130."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from typing import Any

from polyvox.cli.options import EXIT_INTERRUPTED, emit_json, escape, state
from polyvox.errors import PolyvoxError


def cancelled(exc: Any, kernel: Any, console: Any, warnings: list[str]) -> None:
    """Ctrl-C: say what was kept, then exit 130."""
    try:
        stats = kernel.cache_stats()
    except PolyvoxError:  # a cache it could not use (a file, Redis gone): nothing was kept
        stats, kept = None, False
    else:
        kept = stats is not None
    where = f" in {stats.directory}" if stats else ""
    message = (f"stopped after {exc.finished} of {exc.total} segments; the finished ones are kept in the "
               f"cache{where}: run the same command again to continue" if kept else
               f"stopped after {exc.finished} of {exc.total} segments; the cache could not be used, so a "
               "run again makes them again")
    if state().json:
        emit_json({"schema": 1, "cancelled": True, "finished": exc.finished, "total": exc.total,
                   "cache_dir": stats.directory if stats else None})
    if console is not None:
        for warning in warnings:
            console.print(f"[yellow]warning: {escape(warning)}[/]")
        console.print(f"[yellow]{escape(message)}[/]")
    sys.exit(EXIT_INTERRUPTED)


@contextlib.contextmanager
def interrupt_cancels(token: Any, view: Any) -> Iterator[None]:
    """First Ctrl-C (or SIGTERM: `kill`, `docker stop`, systemd): finish the current segment,
    then stop, so what is made is cached and no partial output is left. Second: stop now."""

    def handler(signum: int, frame: Any) -> None:
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()
        how = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        view.note(f"stopping after the current segment ({how} again to stop now)")

    signals = (signal.SIGINT, signal.SIGTERM)
    try:
        previous = [signal.signal(s, handler) for s in signals]
    except ValueError:  # not the main thread (an embedding host): no handler
        yield
        return
    try:
        yield
    finally:
        for s, before in zip(signals, previous, strict=True):
            signal.signal(s, before)
