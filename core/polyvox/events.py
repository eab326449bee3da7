"""Events the kernel emits while it works, for host apps and the CLI to show.

The kernel never imports rich: it calls ``on_event(event)`` with one of these records, and
whoever listens decides how it looks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Union

import attrs


@attrs.frozen
class RenderStarted:
    segments: int
    speech_segments: int
    characters: int  # characters of text to speak, for progress by text


@attrs.frozen
class SegmentStarted:
    index: int
    character: str | None
    language: str
    text: str
    engine: str


@attrs.frozen
class SegmentFinished:
    index: int
    character: str | None
    language: str
    text: str
    engine: str
    cached: bool
    seconds: float  # wall time spent on it (0 for a cache hit)
    audio_seconds: float


@attrs.frozen
class SegmentHeard:
    """A take of a segment was heard (`render --verify`): what was heard and whether it passed."""

    index: int
    text: str
    heard: str
    wer: float
    flags: tuple[str, ...]
    passed: bool
    take: int  # 0: the first take, 1: the first retake, ...
    seed: int
    listener: str


@attrs.frozen
class SegmentRetaken:
    """A segment's take failed and it is being made again with another seed."""

    index: int
    text: str
    take: int  # the number of the take being made
    seed: int
    flags: tuple[str, ...]  # why the take before it failed


@attrs.frozen
class ModelLoading:
    engine: str
    model: str
    device: str


@attrs.frozen
class ModelLoaded:
    engine: str
    model: str
    device: str  # as asked for: "auto" lets the engine choose
    seconds: float
    #: The device the engine chose, where it says (its loaded model's ``device`` attribute), else
    #: the device asked for unless that was "auto"; None: not known.
    runs_on: str | None = None


@attrs.frozen
class ModelUnloaded:
    engine: str
    model: str
    device: str
    #: Why: "asked" (an unload call), "idle" (past its keep-alive), "memory" or "count" (the least
    #: recently used, past a budget), "replaced" (its files changed).
    reason: str = "asked"


@attrs.frozen
class DownloadProgress:
    """Bytes of one file of a model's weights fetched so far (`total` None: size unknown)."""

    engine: str
    model: str
    filename: str
    done: int
    total: int | None


@attrs.frozen
class DownloadAsking:
    """A question about fetching a model is about to be asked on the terminal: a listener that
    draws live progress takes it off the screen until `DownloadAnswered`."""

    engine: str
    model: str


@attrs.frozen
class DownloadAnswered:
    engine: str
    model: str
    allowed: bool


@attrs.frozen
class DownloadFinished:
    engine: str
    model: str
    seconds: float


@attrs.frozen
class WordsTimed:
    """A segment placed in the output: its words as written, timed in seconds of the output
    (`polyvox.WordTime`s; see docs/words.md). Comes once the segment's audio is placed."""

    index: int
    words: tuple[Any, ...]


@attrs.frozen
class ChapterStarted:
    """A book render reached a chapter: its audio starts `start` seconds into the output."""

    number: int  # 1-based
    chapters: int
    title: str
    start: float


@attrs.frozen
class Warning:
    message: str
    #: A short machine-readable kind: unknown-character, dropped-parameter, workers, ...
    kind: str = "warning"


Event = Union[  # noqa: UP007 (a runtime alias; X | Y of classes needs 3.10 at import time anyway)
    RenderStarted, SegmentStarted, SegmentFinished, SegmentHeard, SegmentRetaken, ModelLoading, ModelLoaded,
    ModelUnloaded, DownloadProgress, DownloadAsking, DownloadAnswered, DownloadFinished, WordsTimed, ChapterStarted,
    Warning,
]
Listener = Callable[[Event], None]


class Emitter:
    """Fans events out to listeners; a listener that raises is dropped from that event only.

    `subscribe` listens to everything; `scoped` listens only to what the code inside the
    `with` block causes (its thread, and the worker threads it starts with that context), so
    renders running at once on one kernel never see each other's events.
    """

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._scoped: ContextVar[tuple[Listener, ...]] = ContextVar(f"polyvox-listeners-{id(self)}", default=())

    @contextmanager
    def scoped(self, listener: Listener | None) -> Iterator[None]:
        token = self._scoped.set((*self._scoped.get(), listener) if listener else self._scoped.get())
        try:
            yield
        finally:
            self._scoped.reset(token)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def emit(self, event: Event) -> None:
        with self._lock:
            listeners = [*self._listeners, *self._scoped.get()]
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken progress display must not fail the render
                logging.getLogger("polyvox").exception("event listener %r failed on %r", listener, event)


class CancelToken:
    """Ask a running render to stop after the segment in progress."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()
