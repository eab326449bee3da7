"""Running a render's engine calls elsewhere: `RayExecutor` puts engine replicas on a Ray
cluster while the cache, planning and assembly stay in the driver. Ray is imported only when
an executor is made, so `polyvox --help` and plain renders never pay for it."""

from __future__ import annotations

from typing import Any

from polyvox.errors import ParameterError

EXECUTORS = ("sequential", "ray")


def executor_from(value: Any, **options: Any) -> Any:
    """The scheduler's executor for a `Kernel(executor=...)` value: None or "sequential" (in
    this process, one model at a time), "ray" (a `RayExecutor` with `options`), or an object
    that implements `polyvox.render.execution.Executor`."""
    if value is None or value == "sequential":
        return None
    if value == "ray":
        from polyvox.distributed.ray_executor import RayExecutor

        return RayExecutor(**options)
    if isinstance(value, str):
        raise ParameterError(f"executor {value!r} is not known: expected one of {', '.join(EXECUTORS)}")
    if not callable(getattr(value, "run", None)) or not hasattr(value, "batch_size"):
        raise ParameterError(f"executor {value!r} is not valid: expected one of {', '.join(EXECUTORS)} "
                             "or an Executor (run(calls, stopping) and batch_size; see docs/executors.md)")
    return value


def __getattr__(name: str) -> Any:
    if name in ("RayExecutor", "RayOptions"):
        from polyvox.distributed import ray_executor

        return getattr(ray_executor, name)
    raise AttributeError(name)
