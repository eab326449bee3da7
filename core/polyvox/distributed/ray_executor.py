"""`RayExecutor`: a render's engine calls on a Ray cluster, the cache kept by the driver.

An `Executor` (polyvox.render.execution): the driver's scheduler looks every segment up in
its cache first -- hits never leave it -- and hands the misses over as `Call`s. Their requests
go, as plain `Request` records, to replicas of their model (`pool.ReplicaPool`), a few calls in
flight per replica, and each call's outcomes come back to the scheduler as they arrive, which
commits them to the cache at once: a failure later (a dead replica, a bad segment, Ctrl-C, a
killed driver) loses at most the calls in flight. A call whose replica dies is sent again to
a fresh replica, a bounded number of times.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs

from polyvox import errors
from polyvox.audio import Audio
from polyvox.distributed.pool import ReplicaPool, first_line
from polyvox.errors import ParameterError, PolyvoxError
from polyvox.render.execution import Call, Done, Failed, Made, Outcome, segment_error

EXTRA_HINT = "the ray executor needs Ray: pip install 'polyvox[ray]'"


def require_ray() -> Any:
    """The `ray` module, or a one-line error naming the extra that installs it."""
    try:
        import ray
    except ImportError:
        raise PolyvoxError(EXTRA_HINT) from None
    return ray


def _count(minimum: int) -> Any:
    def check(instance: Any, attribute: attrs.Attribute, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ParameterError(f"ray {attribute.name}={value!r} is not valid: expected an integer of "
                                 f"{minimum} or more")
    return check


def _resource(instance: Any, attribute: attrs.Attribute, value: float | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
        raise ParameterError(f"ray {attribute.name}={value!r} is not valid: expected a number of 0 or more")


def _address(instance: Any, attribute: attrs.Attribute, value: str | None) -> None:
    if value is not None and not (value == "auto" or value == "local" or value.startswith("ray://")
                                  or ":" in value):
        raise ParameterError(f"ray address {value!r} is not valid: expected auto, local, host:port or "
                             "ray://host:10001")


@attrs.frozen
class RayOptions:
    """How renders use the cluster. Resources left None come from the engine's declaration."""

    #: None or "local": start (or reuse) a Ray in this process; "auto": join the running
    #: cluster on this node; "ray://host:10001": a remote cluster through Ray Client.
    address: str | None = attrs.field(default=None, validator=_address)
    #: Replicas (actors) per (engine, model, device).
    replicas: int = attrs.field(default=1, validator=_count(1))
    num_cpus: float | None = attrs.field(default=None, validator=_resource)
    num_gpus: float | None = attrs.field(default=None, validator=_resource)
    #: How many times one call is sent again after its replica died.
    max_retries: int = attrs.field(default=2, validator=_count(0))
    #: Calls queued on each replica at once: enough to hide the round trip, few enough that
    #: a dead replica takes little work with it.
    in_flight: int = attrs.field(default=2, validator=_count(1))
    #: When a render stops (an error, cancel), how long to wait for the calls already sent,
    #: so their audio is cached rather than thrown away.
    settle_seconds: float = attrs.field(default=30.0, validator=_resource)
    #: Segments per call for batch-capable engines (None: the render's `batch_size`).
    batch_size: int | None = attrs.field(default=None, validator=attrs.validators.optional(_count(1)))
    #: Seconds a new replica may take to start (import the plugins, load its model, and make
    #: an isolated engine's environment on a node that lacks it) before the render fails.
    start_seconds: float = attrs.field(default=120.0, validator=_resource)
    #: Where isolated engines' environments live on the nodes (None: the driver's envs dir,
    #: the same path); a replica makes a missing one there (docs/scaling.md).
    envs_dir: str | None = None
    #: More environment variables for replicas of isolated engines (uv's index or cache,
    #: HF_HOME), passed in their Ray runtime_env.
    env_vars: dict[str, str] = attrs.field(factory=dict, converter=dict)


class RayExecutor:
    """Runs a render's misses on Ray replicas: a kernel's `executor`."""

    def __init__(self, address: str | None = None, **options: Any):
        require_ray()
        self.options = RayOptions(address=address, **options)
        self.pool = ReplicaPool(self.options)
        self.retries = 0  # calls sent again after a replica died
        self.dispatched = 0  # segments sent to replicas

    @property
    def batch_size(self) -> int | None:
        """Segments per call for engines that batch (None: the render's)."""
        return self.options.batch_size

    def connect(self) -> None:
        import ray

        if not ray.is_initialized():
            # A render reports nothing to anyone: Ray's usage statistics stay off unless the
            # user turned them on.
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            address = None if self.options.address in (None, "local") else self.options.address
            try:
                ray.init(address=address, include_dashboard=False, ignore_reinit_error=True,
                         log_to_driver=False)
            except ConnectionError as exc:
                raise PolyvoxError(f"cannot reach the Ray cluster at {address!r}: {first_line(exc)}") from None

    def shutdown(self) -> None:
        """Stop this executor's replicas (the Ray session itself is the host's to end)."""
        self.pool.shutdown()

    def replica_info(self) -> list[dict[str, Any]]:
        """Each live replica's pid, model key, model loads and calls."""
        import ray

        return ray.get([a.info.remote() for a in self.pool.actors()])

    # -- the Executor protocol -----------------------------------------------------------------
    def run(self, calls: Iterable[Call], stopping: Callable[[], bool]) -> Iterator[Done]:
        """Send `calls` to replicas and yield each one's outcomes as they arrive. Once
        `stopping()`, nothing more is sent, and the calls in flight are waited for (up to
        `settle_seconds`), so their audio is kept."""
        queue = list(calls)
        if not queue:
            return
        for call in queue:  # before anything starts
            if call.plugin not in call.plugins:
                raise PolyvoxError(f"engine {call.jobs[0].engine!r} comes from plugin {call.plugin!r}, registered in "
                                   "this process, not installed with an entry point: Ray replicas load plugins by "
                                   "entry point, so install it as a package or render without --executor ray")
        self.connect()
        dispatch = _Dispatch(self, queue)
        try:
            yield from dispatch.results(stopping)
        finally:
            dispatch.abandon()


class _Dispatch:
    """The in-flight calls of one render: sent per replica, collected, retried on death."""

    def __init__(self, executor: RayExecutor, calls: list[Call]):
        self.executor = executor
        self.queue: collections.deque[tuple[Call, int]] = collections.deque((c, 0) for c in calls)
        self.flight: dict[Any, tuple[Call, int, Any]] = {}  # ref -> (call, attempts, actor)
        self.load: dict[int, int] = collections.defaultdict(int)  # id(actor) -> calls in flight

    def results(self, stopping: Callable[[], bool]) -> Iterator[Done]:
        import ray
        from ray.exceptions import RayActorError

        while self.queue or self.flight:
            if stopping():
                yield from self._settle(self.executor.options.settle_seconds)
                return
            self._fill()
            done, _ = ray.wait(list(self.flight), num_returns=1, timeout=0.25)
            for ref in done:
                call, attempts, actor = self.flight.pop(ref)
                self.load[id(actor)] -= 1
                try:
                    reply = ray.get(ref)
                except RayActorError as exc:
                    lost = self._retry(call, attempts, actor, exc)
                    if lost is not None:
                        yield lost
                    continue
                yield self._accept(call, reply)
        if self.executor.pool.new_loads:  # replicas started for nothing left to do still loaded
            yield Done((), loads=self._new_loads())

    def abandon(self) -> None:
        """Cancel calls still queued (an error, Ctrl-C or a consumer that stopped reading)."""
        import ray

        for ref in self.flight:
            try:
                ray.cancel(ref)
            except Exception:  # already finished or its replica is gone: nothing to cancel
                pass
        self.flight.clear()
        self.queue.clear()

    # -- internals ------------------------------------------------------------------------
    def _settle(self, seconds: float) -> Iterator[Done]:
        """The audio of calls already sent, waiting up to `seconds` for them; failures skipped
        (the render already stops for a reason of its own)."""
        import ray

        self.queue.clear()
        if not self.flight or seconds <= 0:
            return
        done, _ = ray.wait(list(self.flight), num_returns=len(self.flight), timeout=seconds)
        for ref in done:
            call, _, _ = self.flight.pop(ref)
            try:
                reply = ray.get(ref)
            except Exception:  # its replica died too: nothing to keep
                continue
            if "fatal" not in reply:
                kept = self._accept(call, reply)
                yield attrs.evolve(kept, outcomes=tuple(o for o in kept.outcomes if isinstance(o, Made)))

    def _fill(self) -> None:
        """Send queued calls to the least busy replica of their model, up to `in_flight` each."""
        limit = self.executor.options.in_flight
        waiting: collections.deque[tuple[Call, int]] = collections.deque()
        while self.queue:
            call, attempts = self.queue.popleft()
            actors = self.executor.pool.replicas(call.model_key, call.spec, call.plugins)
            actor = min(actors, key=lambda a: self.load[id(a)])
            if self.load[id(actor)] >= limit:
                waiting.append((call, attempts))
                continue
            call.started()
            ref = actor.synthesize.remote(call.voice_key, call.requests, call.fingerprint)
            self.flight[ref] = (call, attempts, actor)
            self.load[id(actor)] += 1
            self.executor.dispatched += len(call.jobs)
        self.queue = waiting

    def _retry(self, call: Call, attempts: int, actor: Any, exc: BaseException) -> Done | None:
        """Send `call` again to a fresh replica, or (retries spent) report it lost."""
        if attempts >= self.executor.options.max_retries:
            job = call.jobs[0]
            lost = PolyvoxError(f"segment {job.index} ({job.request.text[:37]!r}) was lost {attempts + 1} times "
                                f"with its {job.engine} replica: {first_line(exc)}")
            return Done(tuple(Failed(j, lost) for j in call.jobs))
        self.executor.pool.replace(call.model_key, actor, call.spec, call.plugins)
        self.executor.retries += 1
        self.queue.appendleft((call, attempts + 1))
        return None

    def _accept(self, call: Call, reply: dict[str, Any]) -> Done:
        """A replica's reply as the call's outcomes: a failed segment is a `SegmentError`
        naming it; a model that cannot load fails every segment of the call."""
        if "fatal" in reply:
            kind = getattr(errors, reply["fatal"], PolyvoxError)
            fatal = (kind if kind in (errors.ModelError, errors.PluginError) else PolyvoxError)(reply["message"])
            return Done(tuple(Failed(job, fatal) for job in call.jobs), loads=self._new_loads())
        outcomes: list[Outcome] = []
        for job, outcome in zip(call.jobs, reply["outcomes"], strict=True):
            if outcome[0] == "ok":
                outcomes.append(Made(job, Audio(outcome[1], outcome[2]), reply["seconds"]))
            else:
                outcomes.append(Failed(job, segment_error(job, PolyvoxError(outcome[1]))))
        # a model reloaded after eviction, and the replicas started since the last reply
        return Done(tuple(outcomes), engine_calls=1, loads=reply["loads"] + self._new_loads(),
                    voice_preparations=reply["voice_preparations"])

    def _new_loads(self) -> int:
        """Models loaded by replicas as they started, not yet counted."""
        pool = self.executor.pool
        loads, pool.new_loads = pool.new_loads, 0
        return loads
