"""Shared batches: segments of concurrent renders meet in one engine call.

A kernel serves many renders at once (a server's requests, a host app's threads). For an
engine that batches, segments of the same model and voice from different renders can share
one `synthesize_batch` call. Each (model, voice) has a lane: a render puts its segments in the
lane's queue and waits. Nobody waits for a batch to fill: when the lane is idle, the first
render to arrive runs at once with what is queued; what arrives while a batch runs joins the
next one. The waiting render that finds the lane idle runs the next batch for everyone in it
(no extra thread), so a render's items are made on some render's thread, and each owner then
commits its own results (cache, events) in its own order, in its own scope.

Fair: batches are taken from the queue in arrival order, so a short request that arrives during
a long render waits for the batch in progress, not for the rest of the long render (the long
render puts its next segments in the queue only once its current batch is back).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import attrs

from polyvox.audio import Audio
from polyvox.errors import Cancelled
from polyvox.render.planner import Job

#: How often a waiting render looks at its cancel token (a cancel needs no engine call to end).
_POLL_SECONDS = 0.05


@attrs.define(eq=False)
class Item:
    """One segment in a lane. After `SharedBatches.run`, exactly one of: `audio` (made),
    `error` (it ran alone and failed: its own fault), `retry` (the shared batch it was in
    failed: run it alone to learn whether it is to blame), `dropped` (its render was cancelled
    before it was taken)."""

    job: Job
    #: The batch size its render asked for: a batch never grows past any member's limit.
    limit: int
    #: The `run` call that queued it (to count batches that served several callers).
    owner: object
    taken: bool = False
    done: bool = False
    audio: Audio | None = None
    error: BaseException | None = None
    retry: bool = False
    dropped: bool = False
    #: Engine seconds per item of the batch that made it.
    seconds: float = 0.0


@attrs.define(eq=False)
class _Lane:
    cond: threading.Condition = attrs.field(factory=threading.Condition)
    waiting: deque[Item] = attrs.field(factory=deque)
    busy: bool = False
    users: int = 0  # renders inside run(): the lane is forgotten when the last one leaves


class SharedBatches:
    """The lanes of one kernel, by (engine, model, device, voice key)."""

    def __init__(self) -> None:
        self._lanes: dict[tuple[Any, ...], _Lane] = {}
        self._lock = threading.Lock()
        self.batches = 0  # engine calls made through lanes, for tests and metrics
        self.shared = 0  # of those, calls that served more than one render

    def run(self, key: tuple[Any, ...], jobs: list[Job], limit: int, *,
            guard: Callable[[], AbstractContextManager[Any]], call: Callable[[list[Job]], list[Audio]],
            check_cancel: Callable[[], None] | None = None) -> list[Item]:
        """Queue `jobs` in the lane `key` and return their items once each is settled.

        `guard()` is entered around taking and running a batch (the model's lock), so items
        queued while the runner waits for the engine still join its batch; `call(jobs)` makes
        the audio, one per job. `check_cancel` raising `Cancelled` drops this render's items
        that no batch has taken; those already in a batch finish (and are returned) first.
        """
        owner = object()
        mine = [Item(job, limit, owner) for job in jobs]
        lane = self._enter(key)
        try:
            with lane.cond:
                lane.waiting.extend(mine)
                lane.cond.notify_all()
            while True:
                with lane.cond:
                    while True:
                        if all(i.done for i in mine):
                            return mine
                        if check_cancel is not None and _cancelled(check_cancel):
                            self._drop(lane, mine)
                            if all(i.done for i in mine):
                                return mine
                        if not lane.busy and lane.waiting:
                            lane.busy = True
                            break
                        lane.cond.wait(_POLL_SECONDS if check_cancel is not None else None)
                self._run_next(lane, guard, call)
        finally:
            self._leave(key, lane)

    # -- internals ---------------------------------------------------------------------
    def _run_next(self, lane: _Lane, guard: Callable[[], AbstractContextManager[Any]],
                  call: Callable[[list[Job]], list[Audio]]) -> None:
        """Run one batch for whoever is first in the lane (this thread holds `lane.busy`)."""
        batch: list[Item] = []
        try:
            with guard():
                with lane.cond:
                    batch = _take(lane.waiting)
                if not batch:
                    return
                start = time.perf_counter()
                try:
                    out = call([i.job for i in batch])
                except Exception as exc:  # noqa: BLE001 - the owners learn who is to blame
                    for item in batch:
                        if len(batch) == 1:
                            item.error = exc
                        else:
                            item.retry = True
                else:
                    seconds = (time.perf_counter() - start) / len(batch)
                    for item, audio in zip(batch, out, strict=True):
                        item.audio, item.seconds = audio, seconds
                    self.batches += 1
                    if len({id(i.owner) for i in batch}) > 1:
                        self.shared += 1
        finally:
            with lane.cond:
                for item in batch:
                    if item.audio is None and item.error is None:
                        item.retry = True  # the runner was interrupted: each owner runs its own alone
                    item.done = True
                lane.busy = False
                lane.cond.notify_all()

    @staticmethod
    def _drop(lane: _Lane, mine: list[Item]) -> None:
        for item in mine:
            if not item.taken:
                lane.waiting.remove(item)
                item.taken = item.done = item.dropped = True

    def _enter(self, key: tuple[Any, ...]) -> _Lane:
        with self._lock:
            lane = self._lanes.setdefault(key, _Lane())
            lane.users += 1
            return lane

    def _leave(self, key: tuple[Any, ...], lane: _Lane) -> None:
        with self._lock:
            lane.users -= 1
            if not lane.users:
                del self._lanes[key]


def _take(waiting: deque[Item]) -> list[Item]:
    """The next batch, in arrival order, up to the smallest limit among its members."""
    batch: list[Item] = []
    cap = None
    while waiting:
        head = waiting[0]
        cap = head.limit if cap is None else min(cap, head.limit)
        if len(batch) >= cap:
            break
        batch.append(waiting.popleft())
        head.taken = True
    return batch


def _cancelled(check_cancel: Callable[[], None]) -> bool:
    try:
        check_cancel()
    except Cancelled:
        return True
    return False
