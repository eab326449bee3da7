"""Replicas as Ray actors: started per model on first use, replaced when one dies.

Every replica holds exactly one (engine, model, device), so a segment sent to any replica
of its model key lands where the model is already loaded (affinity by construction); the
number of replicas per model and their resources are settings.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

import attrs

from polyvox.errors import PolyvoxError
from polyvox.plugin.spec import EngineSpec
from polyvox.render.models import ModelKey


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


class ReplicaPool:
    """The live replicas of each model key, in this driver's Ray session."""

    def __init__(self, options: Any):
        self.options = options
        self._actors: dict[ModelKey, list[Any]] = {}
        self._lock = threading.RLock()  # renders in several threads share one pool
        self.started = 0  # replicas started, restarts included
        self.replaced = 0
        #: Models loaded by replicas as they started, not yet counted by the driver's kernel.
        self.new_loads = 0

    def resources(self, spec: EngineSpec, key: ModelKey) -> dict[str, float]:
        """Ray resources of one replica: the user's settings, else the engine's hints; no
        GPU for a model placed on the CPU."""
        cpus = self.options.num_cpus if self.options.num_cpus is not None else spec.capabilities.cpus
        gpus = self.options.num_gpus if self.options.num_gpus is not None else spec.capabilities.gpus
        if key[2] == "cpu":
            gpus = 0.0
        return {"num_cpus": float(cpus), "num_gpus": float(gpus)}

    def replicas(self, key: ModelKey, spec: EngineSpec, plugins: Sequence[str]) -> list[Any]:
        """The replicas of `key`, started (and checked alive) on first use."""
        with self._lock:
            if key not in self._actors:
                actors = [self._start(key, spec, plugins) for _ in range(self.options.replicas)]
                self._wait_ready(key, actors)
                self._actors[key] = actors
            return self._actors[key]

    def replace(self, key: ModelKey, dead: Any, spec: EngineSpec, plugins: Sequence[str]) -> Any:
        """A fresh replica in the dead one's slot (once, however many of its calls failed)."""
        with self._lock:
            actors = self._actors[key]
            for i, actor in enumerate(actors):
                if actor is dead:
                    fresh = self._start(key, spec, plugins)
                    self._wait_ready(key, [fresh])
                    actors[i] = fresh
                    self.replaced += 1
                    return fresh
            return actors[0]  # already replaced: any live one

    def actors(self, key: ModelKey | None = None) -> list[Any]:
        if key is not None:
            return list(self._actors.get(key, ()))
        return [a for actors in self._actors.values() for a in actors]

    def shutdown(self) -> None:
        import ray

        for actor in self.actors():
            ray.kill(actor)
        self._actors.clear()

    # -- internals ------------------------------------------------------------------------
    def _start(self, key: ModelKey, spec: EngineSpec, plugins: Sequence[str]) -> Any:
        import ray

        from polyvox.distributed import node_envs
        from polyvox.distributed.replica import Replica
        from polyvox.isolation.envs import envs_dir

        self.started += 1
        resources = self.resources(spec, key)
        # As many engine threads as CPUs reserved (at least one).
        threads = max(1, math.floor(resources["num_cpus"]))
        record = node_envs.isolated_record(key[0])
        if record is None:
            remote = ray.remote(Replica).options(**resources, max_restarts=0, max_task_retries=0)
            return remote.remote(list(plugins), key, threads=threads)
        # An isolated engine: the replica starts its worker itself, from the engine's
        # environment on its node, which it makes there first when missing (docs/scaling.md).
        recipe = node_envs.Recipe.of(record)
        runtime_env = node_envs.runtime_env(envs_dir=self.options.envs_dir or str(envs_dir()),
                                            threads=threads, extra=self.options.env_vars)
        remote = ray.remote(Replica).options(**resources, max_restarts=0, max_task_retries=0,
                                             runtime_env=runtime_env)
        return remote.remote(list(plugins), key, threads=threads,
                             recipe=attrs.asdict(recipe) if recipe is not None else None)

    def _wait_ready(self, key: ModelKey, actors: list[Any]) -> None:
        """Wait until each new replica has loaded its model; a load error fails the render once."""
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError

        from polyvox import errors

        try:
            replies = ray.get([a.warm.remote() for a in actors], timeout=self.options.start_seconds)
        except GetTimeoutError:
            raise PolyvoxError(f"no replica of {key[0]} model {key[1]!r} started within "
                               f"{self.options.start_seconds:g} s: the cluster lacks the CPUs/GPUs it asks for "
                               "(see `ray status`), or an engine environment is still being made on a node "
                               "(raise start_seconds)") from None
        except RayActorError as exc:
            raise PolyvoxError(f"a replica of {key[0]} model {key[1]!r} failed to start: {first_line(exc)}") from None
        for reply in replies:
            if "fatal" in reply:
                kind = getattr(errors, reply["fatal"], PolyvoxError)
                raise (kind if kind in (errors.ModelError, errors.PluginError) else PolyvoxError)(reply["message"])
            self.new_loads += reply["loads"]
