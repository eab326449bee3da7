"""`RayExecutor`: a render's engine calls on a Ray cluster, the cache kept by the driver.

The driver (the process holding the `Kernel`) looks every segment up in its cache first —
hits never leave it — then sends the misses, as plain `Request` records, to replicas of
their model (`pool.ReplicaPool`), keeping a few calls in flight per replica. Each result is
committed to the cache the moment it arrives, so a failure later (a dead replica, a bad
segment, Ctrl-C, a killed driver) loses at most the calls in flight. A call whose replica
dies is sent again to a fresh replica, a bounded number of times.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Iterator
from typing import Any

import attrs

from polyvox import errors
from polyvox.audio import Audio
from polyvox.distributed.pool import ReplicaPool, first_line
from polyvox.errors import Cancelled, ParameterError, PolyvoxError
from polyvox.events import CancelToken, SegmentStarted
from polyvox.render.planner import Job

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


class RayExecutor:
    """Runs a render's misses on Ray replicas; plugs into the scheduler as its `remote`."""

    def __init__(self, address: str | None = None, **options: Any):
        require_ray()
        self.options = RayOptions(address=address, **options)
        self.pool = ReplicaPool(self.options)
        self.retries = 0  # calls sent again after a replica died
        self.dispatched = 0  # segments sent to replicas

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

    # -- the scheduler's entry point ---------------------------------------------------------
    def run(self, scheduler: Any, jobs: list[Job], *, ordered: bool, use_cache: bool, batch_size: int | None,
            cancel: CancelToken | None) -> Iterator[tuple[Job, Audio, bool]]:
        """Yield (job, audio, from_cache) for every speech job: in script order when `ordered`,
        else as results arrive. Every result is cached before it is yielded."""
        speech = [j for j in jobs if j.request is not None]
        if not speech:
            return
        self.connect()
        plugin_names = _entry_point_plugins(scheduler.plugins)
        ready: dict[int, tuple[Job, Audio, bool]] = {}
        order = iter(speech)
        upcoming = next(order, None)
        finished = [0]  # segments handed over, read by the cancel message

        def release() -> Iterator[tuple[Job, Audio, bool]]:
            nonlocal upcoming
            if not ordered:
                yield from (ready.pop(i) for i in list(ready))
                return
            while upcoming is not None and upcoming.index in ready:
                yield ready.pop(upcoming.index)
                upcoming = next(order, None)

        misses: list[Job] = []
        repeats: dict[str | None, list[Job]] = {}
        for job in speech:
            hit = scheduler._lookup(job, use_cache)  # hits never leave the driver
            if hit is not None:
                ready[job.index] = (job, hit, True)
                finished[0] += 1
            elif job.key is not None and job.key in repeats:
                repeats[job.key].append(job)
            else:
                repeats.setdefault(job.key, [])
                misses.append(job)
        yield from release()

        for engine in dict.fromkeys(j.engine for j in misses):
            owner = scheduler.plugins.plugin_of(engine)
            if owner not in plugin_names:
                raise PolyvoxError(f"engine {engine!r} comes from plugin {owner!r}, registered in this process, not "
                                   "installed with an entry point: Ray replicas load plugins by entry point, so "
                                   "install it as a package or render without --executor ray")
        units = _units(scheduler, misses, self.options.batch_size or batch_size, ordered)
        dispatch = _Dispatch(self, scheduler, plugin_names, units)
        try:
            for job, audio, seconds in dispatch.results(cancel, lambda: finished[0], len(speech)):
                if scheduler.cache is not None and job.key is not None:  # committed as it arrives
                    audio = scheduler.cache.put(job.key, audio, replace=not use_cache)
                scheduler._finished(job, audio, cached=False, seconds=seconds)
                ready[job.index] = (job, audio, False)
                finished[0] += 1
                for again in repeats.get(job.key, []) if job.key is not None else []:
                    scheduler._finished(again, audio, cached=True, seconds=0.0)
                    ready[again.index] = (again, audio, True)
                    finished[0] += 1
                yield from release()
        except PolyvoxError:  # a failed segment, a lost call or cancel: keep what is in flight
            if scheduler.cache is not None:
                for job, audio in dispatch.settle(self.options.settle_seconds):
                    if job.key is not None:
                        scheduler.cache.put(job.key, audio, replace=not use_cache)
            raise
        finally:
            dispatch.abandon()


def _entry_point_plugins(plugins: Any) -> list[str]:
    """The plugin names a replica loads: every plugin the driver loaded by name, built in
    (Piper), by entry point, or installed in its own environment (the replica finds the same
    environment record and starts the engine's worker itself)."""
    loaded = {name for name, _ in plugins.pm.list_name_plugin()}
    from importlib.metadata import entry_points

    from polyvox.isolation.hosted import HostedPlugin
    from polyvox.plugin.registry import BUILTINS, GROUP

    names = {ep.name for ep in entry_points(group=GROUP)} | set(BUILTINS)
    isolated = {name for name, obj in plugins.pm.list_name_plugin() if isinstance(obj, HostedPlugin)}
    return sorted((names | isolated) & loaded)


def _units(scheduler: Any, misses: list[Job], batch_size: int | None, ordered: bool) -> list[list[Job]]:
    """Engine calls: one segment each, or same-model same-voice batches for engines that
    declare batch synthesis. Script order when `ordered` (first audio first), else by model."""
    if not ordered:  # stable: script order within each model
        rank = {key: i for i, key in enumerate(dict.fromkeys(m.model_key for m in misses))}
        misses = sorted(misses, key=lambda j: rank[j.model_key])
    units: list[list[Job]] = []
    open_batch: dict[tuple[Any, ...], list[Job]] = {}
    for job in misses:
        spec = scheduler.plugins.specs[job.engine]
        size = batch_size or spec.capabilities.batch_size_for(job.device)
        if not (spec.capabilities.batch and size > 1):
            units.append([job])
            continue
        group = (job.model_key, job.voice_key)
        if group not in open_batch:
            open_batch[group] = []
            units.append(open_batch[group])
        open_batch[group].append(job)
        if len(open_batch[group]) == size:
            del open_batch[group]
    return units


class _Dispatch:
    """The in-flight calls of one render: sent per replica, collected, retried on death."""

    def __init__(self, executor: RayExecutor, scheduler: Any, plugins: list[str], units: list[list[Job]]):
        self.executor = executor
        self.scheduler = scheduler
        self.plugins = plugins
        self.queue: collections.deque[tuple[list[Job], int]] = collections.deque((u, 0) for u in units)
        self.flight: dict[Any, tuple[list[Job], int, Any]] = {}  # ref -> (unit, attempts, actor)
        self.load: dict[int, int] = collections.defaultdict(int)  # id(actor) -> calls in flight

    def results(self, cancel: CancelToken | None, finished: Any, total: int) -> Iterator[tuple[Job, Audio, float]]:
        import ray
        from ray.exceptions import RayActorError

        while self.queue or self.flight:
            if cancel is not None and cancel.cancelled:
                raise Cancelled(f"cancelled after {finished()} of {total} segments; finished segments are cached",
                                finished=finished(), total=total)
            self._fill()
            done, _ = ray.wait(list(self.flight), num_returns=1, timeout=0.25)
            for ref in done:
                unit, attempts, actor = self.flight.pop(ref)
                self.load[id(actor)] -= 1
                try:
                    reply = ray.get(ref)
                except RayActorError as exc:
                    self._retry(unit, attempts, actor, exc)
                    continue
                yield from self._accept(unit, reply)

    def settle(self, seconds: float) -> list[tuple[Job, Audio]]:
        """The audio of calls already sent, waiting up to `seconds` for them; failures skipped."""
        import ray

        if not self.flight or seconds <= 0:
            return []
        done, _ = ray.wait(list(self.flight), num_returns=len(self.flight), timeout=seconds)
        kept = []
        for ref in done:
            unit, _, _ = self.flight.pop(ref)
            try:
                reply = ray.get(ref)
            except Exception:  # its replica died too: nothing to keep
                continue
            kept += [(job, Audio(o[1], o[2])) for job, o in zip(unit, reply.get("outcomes", ()), strict=False)
                     if o[0] == "ok"]
        return kept

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
    def _fill(self) -> None:
        """Send queued calls to the least busy replica of their model, up to `in_flight` each."""
        limit = self.executor.options.in_flight
        waiting: collections.deque[tuple[list[Job], int]] = collections.deque()
        while self.queue:
            unit, attempts = self.queue.popleft()
            key = unit[0].model_key
            spec = self.scheduler.plugins.specs[key[0]]
            pool = self.executor.pool
            actors = pool.replicas(key, spec, self.plugins)
            self.scheduler.models.loads += pool.new_loads  # replicas' loads count as this kernel's
            pool.new_loads = 0
            actor = min(actors, key=lambda a: self.load[id(a)])
            if self.load[id(actor)] >= limit:
                waiting.append((unit, attempts))
                continue
            for job in unit:
                self.scheduler.emit(SegmentStarted(job.index, job.segment.character, job.request.language,
                                                   job.request.text, job.engine))
            ref = actor.synthesize.remote(unit[0].voice_key, [j.request for j in unit], unit[0].model_fingerprint)
            self.flight[ref] = (unit, attempts, actor)
            self.load[id(actor)] += 1
            self.executor.dispatched += len(unit)
        self.queue = waiting

    def _retry(self, unit: list[Job], attempts: int, actor: Any, exc: BaseException) -> None:
        job = unit[0]
        if attempts >= self.executor.options.max_retries:
            raise PolyvoxError(f"segment {job.index} ({job.request.text[:37]!r}) was lost {attempts + 1} times "
                               f"with its {job.engine} replica: {first_line(exc)}")
        spec = self.scheduler.plugins.specs[job.engine]
        pool = self.executor.pool
        pool.replace(job.model_key, actor, spec, self.plugins)
        self.scheduler.models.loads += pool.new_loads
        pool.new_loads = 0
        self.executor.retries += 1
        self.queue.appendleft((unit, attempts + 1))

    def _accept(self, unit: list[Job], reply: dict[str, Any]) -> Iterator[tuple[Job, Audio, float]]:
        """The unit's audio, each segment cached by the caller; a failed segment raises its
        `SegmentError` after the ones before it were handed over."""
        from polyvox.render.scheduler import _segment_error

        if "fatal" in reply:
            kind = getattr(errors, reply["fatal"], PolyvoxError)
            raise (kind if kind in (errors.ModelError, errors.PluginError) else PolyvoxError)(reply["message"])
        models = self.scheduler.models
        models.loads += reply["loads"]  # a model reloaded after eviction
        models.voice_preparations += reply["voice_preparations"]
        self.scheduler.calls += 1
        failed = None
        for job, outcome in zip(unit, reply["outcomes"], strict=True):
            if outcome[0] == "ok":
                yield job, Audio(outcome[1], outcome[2]), reply["seconds"]
            elif failed is None:
                failed = _segment_error(job, PolyvoxError(outcome[1]))
        if failed is not None:
            raise failed
