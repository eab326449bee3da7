"""An engine installed in its own environment, on Ray replicas: each replica starts the
engine's worker (the `WorkerHost` of polyvox.isolation) as its own child, so models load in
that worker, the audio equals a local render's, and a replica killed mid-render takes its
worker with it while the render completes on a fresh one.

The engine is ``isotone`` (tests/isolation_kit.py): the template engine in a uv environment
that inherits the kernel's packages, built offline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from isolation_kit import children

import polyvox
from polyvox.events import SegmentFinished
from polyvox.installing import envs as environments
from polyvox.isolation import host

ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'polyvox[ray]' (make test installs it)")

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("local_ray")]

LINES = "\n".join(f"Isolated line {n} travels to a replica and its worker." for n in range(8))


@pytest.fixture
def envs(isotone_env, monkeypatch):
    """The driver finds the isotone environment; its own workers are stopped afterwards."""
    monkeypatch.setenv("POLYVOX_ENVS_DIR", str(Path(isotone_env.path).parent))
    yield isotone_env
    for worker in list(host._HOSTS):
        worker.close()


def _local(script: str) -> polyvox.Audio:
    """The same script rendered here, through a worker of this process."""
    return polyvox.Kernel(cache=False).render(script, engine="isotone").audio


def _same(a: polyvox.Audio, b: polyvox.Audio) -> None:
    assert a.sample_rate == b.sample_rate
    assert len(a.samples) == len(b.samples) and len(a.samples) > 16000
    assert np.array_equal(a.samples, b.samples)


def test_an_isolated_engine_renders_on_a_replica_whose_worker_loads_the_model(envs, tmp_path, executors):
    executor = executors(replicas=1)
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", executor=executor)
    result = kernel.render(LINES, engine="isotone")
    _same(result.audio, _local(LINES))
    [replica] = executor.replica_info()
    assert replica["key"][0] == "isotone" and replica["loads"] == 1 and replica["calls"] == 8
    [worker] = replica["workers"]
    assert worker in children(replica["pid"])  # the replica's own child ...
    cmdline = Path(f"/proc/{worker}/cmdline").read_bytes().split(b"\0")
    assert cmdline[0].decode() == envs.python  # ... running the environment's interpreter
    assert result.stats.model_loads == 1
    assert kernel.scheduler.models.loaded() == []  # nothing loaded in the driver
    executor.shutdown()
    assert host.wait_gone(worker, timeout=15)  # no worker outlives its replica


def test_a_replica_killed_mid_render_takes_its_worker_and_nothing_is_lost(envs, tmp_path, executors):
    executor = executors(replicas=2, in_flight=1)
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", executor=executor)
    killed: list[dict] = []

    def kill_one(event) -> None:
        if isinstance(event, SegmentFinished) and not event.cached and not killed:
            victim = executor.pool.actors()[0]
            killed.append(ray.get(victim.info.remote()))
            ray.kill(victim)

    result = kernel.render(LINES, engine="isotone", on_event=kill_one)
    assert killed and executor.retries >= 1 and executor.pool.replaced == 1
    _same(result.audio, _local(LINES))
    [worker] = killed[0]["workers"]
    assert host.wait_gone(worker, timeout=15)  # its stdin closed with the replica: it exited
    live = executor.replica_info()
    assert killed[0]["pid"] not in {i["pid"] for i in live} and all(len(i["workers"]) == 1 for i in live)
    again = kernel.render(LINES, engine="isotone")
    assert again.stats.synthesized == 0  # every segment was committed as it arrived


def test_a_node_without_the_environment_makes_it_once_from_what_its_replicas_carry(envs, tmp_path, executors,
                                                                                  monkeypatch):
    """The node's envs folder (here: another folder than the driver's) starts empty; the
    replicas carry the settings (their Ray runtime_env) and the plugin folder (their
    argument), and the first replica makes the environment there while the second waits."""
    node = tmp_path / "node-envs"
    base = Path(envs.path).parent.parent  # the fixture's uv cache: the build stays offline
    uv = {"UV_CACHE_DIR": str(base / "uv-cache"), "UV_OFFLINE": "1", "UV_NO_CONFIG": "1",
          "UV_PYTHON_DOWNLOADS": "never"}
    monkeypatch.setenv("POLYVOX_WORKER_TIMEOUT", "77")  # a driver setting the nodes get as is
    executor = executors(replicas=2, envs_dir=str(node), env_vars=uv, start_seconds=300)
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", executor=executor)
    result = kernel.render(LINES, engine="isotone")
    _same(result.audio, _local(LINES))
    infos = executor.replica_info()
    assert sorted(i["built"] for i in infos) == [False, True]  # made once, on the first replica's start
    [made] = [r for r in environments.records(node) if r.name == "isotone"]
    assert [p.name for p in node.glob("isotone-*")] == [Path(made.path).name]  # one environment
    assert made.key == envs.key  # the same plugin folder and lock give the same key on any node
    assert Path(made.source["folder"]).parent == node / ".sources"  # the plugin folder came with the replica
    for info in infos:
        assert info["settings"]["POLYVOX_ENVS_DIR"] == str(node)
        assert info["settings"]["POLYVOX_WORKER_TIMEOUT"] == "77"
        [worker] = info["workers"]
        assert Path(f"/proc/{worker}/cmdline").read_bytes().split(b"\0")[0].decode() == made.python
    executor.shutdown()

    # a node that has the environment builds nothing
    again = executors(replicas=1, envs_dir=str(node), env_vars=uv)
    fresh = polyvox.Kernel(cache=False, executor=again).render(LINES, engine="isotone")
    _same(fresh.audio, result.audio)
    [info] = again.replica_info()
    assert info["built"] is False and info["settings"]["POLYVOX_ENVS_DIR"] == str(node)
