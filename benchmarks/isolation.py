"""Isolation benchmarks: what running an engine in its own environment costs.

- the process boundary per segment: the template engine in a worker vs in process, same texts;
- a worker's start-up (import of the plugin, hello) and the first render through a new worker;
- disk: two engine environments holding the same large wheel (uv links it from its cache);
- the GPU engines' own environments (scripts/engine-env), where they are built: the disk of
  chatterbox's and f5tts's environments alone and together, and each one's worker start-up.

Run alone (``python benchmarks/isolation.py``) or from ``benchmarks/run.py``.
"""

from __future__ import annotations

import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [f"Line {i}: a short sentence." for i in range(100)]


def _uv_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    env.update(UV_CACHE_DIR=str(tmp / "uv-cache"), UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never")
    return env


def _template_env(tmp: Path):
    from polyvox.isolation import envs

    return envs.create("template", str(ROOT / "plugins" / "template"), directory=tmp / "envs", inherit=True,
                       offline=True, no_deps=True, env=_uv_env(tmp))


def boundary(tmp: Path) -> dict:
    """Per-segment time of 100 renders of one short segment, template isolated vs in process."""
    import polyvox
    from polyvox import Segment

    record = _template_env(tmp)
    before = os.environ.get("POLYVOX_ENVS_DIR")
    try:
        os.environ["POLYVOX_ENVS_DIR"] = str(Path(record.path).parent)
        isolated = polyvox.Kernel(cache=False)
        os.environ["POLYVOX_ENVS_DIR"] = str(tmp / "none")
        local = polyvox.Kernel(cache=False)
    finally:
        os.environ.pop("POLYVOX_ENVS_DIR") if before is None else os.environ.update(POLYVOX_ENVS_DIR=before)
    assert isolated.runs_in("template") != "in-process" and local.runs_in("template") == "in-process"

    def per_segment(kernel) -> float:
        kernel.render([Segment(text="warm up")], engine="template")
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for text in TEXTS:
                kernel.render([Segment(text=text)], engine="template", use_cache=False)
            best = min(best, (time.perf_counter() - start) / len(TEXTS))
        return best

    def hook_only(kernel) -> float:  # the engine call alone, without the render around it
        (job,) = kernel.plan([Segment(text=TEXTS[0])], engine="template")
        entry = kernel.models.get(*job.model_key)
        hook = kernel.plugins.hook
        cond = hook.prepare_voice(engine="template", model=entry.model, voice=job.request.voice, params={})
        times, inside = [], []
        host = getattr(kernel.plugins.pm.get_plugin(kernel.plugin_of("template")), "host", None)
        for _ in range(300):
            start = time.perf_counter()
            hook.synthesize_segment(engine="template", model=entry.model, request=job.request, conditioning=cond)
            times.append(time.perf_counter() - start)
            inside.append(host.last_call[2] if host is not None else times[-1])
        boundary = sorted(t - i for t, i in zip(times, inside, strict=True))
        return statistics.median(times), boundary

    (hook_isolated, boundary), (hook_local, _) = hook_only(isolated), hook_only(local)
    out = {"isolated_ms": per_segment(isolated) * 1000, "in_process_ms": per_segment(local) * 1000,
           "hook_isolated_ms": hook_isolated * 1000, "hook_in_process_ms": hook_local * 1000,
           # per call: request to reply, less the time the worker spent inside the engine
           "boundary_ms": statistics.median(boundary) * 1000, "boundary_min_ms": boundary[0] * 1000,
           "boundary_p10_ms": boundary[len(boundary) // 10] * 1000,
           "load_average": os.getloadavg()[0],
           "audio_s": len(isolated.synthesize(TEXTS[0], engine="template")) / 16000}
    out["target"] = "≤ 5 ms per segment"
    isolated.plugins.pm.get_plugin(isolated.plugin_of("template")).host.close()
    return out


def startup(tmp: Path) -> dict:
    """A worker's start (spawn, import, hello) and the first render through a fresh kernel."""
    from polyvox.isolation.host import WorkerHost

    record = _template_env(tmp)
    starts = []
    for _ in range(5):
        host = WorkerHost(record.worker_command(), label="bench")
        start = time.perf_counter()
        host.start()
        starts.append(time.perf_counter() - start)
        host.close()
    script = ("import time, polyvox; t = time.perf_counter(); k = polyvox.Kernel(cache=False); "
              "k.synthesize('Hello there.', engine='template'); print(time.perf_counter() - t)")
    first = {}
    for label, envs_dir in (("isolated", Path(record.path).parent), ("in_process", tmp / "none")):
        env = {**os.environ, "POLYVOX_ENVS_DIR": str(envs_dir)}
        runs = [float(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                                     timeout=300, check=True).stdout.split()[-1]) for _ in range(3)]
        first[label] = min(runs)
    return {"worker_start_s": min(starts), "first_render_isolated_s": first["isolated"],
            "first_render_in_process_s": first["in_process"]}


def _du_kib(*paths: Path) -> int:
    """Disk used by `paths` together, hard links counted once (du's rule within one call)."""
    out = subprocess.run(["du", "-sck", *map(str, paths)], capture_output=True, text=True, check=True).stdout
    return int(out.strip().splitlines()[-1].split()[0])


def disk(tmp: Path, wheel: str | None = None) -> dict:
    """Two environments with the same wheel (torch from /opt/wheels if there, else numpy from the index)."""
    from polyvox.isolation.envs import find_uv

    uv = find_uv()
    wheel = wheel or next(iter(sorted(glob.glob("/opt/wheels/torch-*.whl"))), None)
    package = wheel or "numpy"
    env = _uv_env(tmp)
    paths = []
    for name in ("one", "two"):
        path = tmp / "disk" / name
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(path)], env=env, check=True,
                       timeout=600)
        subprocess.run([uv, "pip", "install", "-q", "--no-deps", "--python", str(path / "bin" / "python"),
                        package], env=env, check=True, timeout=1800)
        paths.append(path)
    one, both = _du_kib(paths[0]), _du_kib(*paths)
    return {"package": Path(package).name, "one_env_mb": one / 1024, "two_envs_mb": both / 1024,
            "second_env_mb": (both - one) / 1024, "uv_cache_mb": _du_kib(tmp / "uv-cache") / 1024}


def _layer(name: str) -> Path | None:
    """The shared environment under `.venv-<name>`, as its overlay's .pth file names it."""
    pth = next((ROOT / f".venv-{name}").glob("lib/python*/site-packages/_polyvox_engines_shared.pth"), None)
    return Path(pth.read_text().strip()).parents[2] if pth else None


def engines(tmp: Path, names: tuple[str, ...] = ("chatterbox", "f5tts")) -> dict:
    """The GPU engines' environments (scripts/engine-env): disk of each, and of both together (du
    counts a file hard-linked into both once), and the start-up of a worker in each (spawn, import
    of the plugin and its engine, hello): the first one after the environment is made, and the
    best of three more. Empty where the environments are not built."""
    from polyvox.isolation import envs
    from polyvox.isolation.host import WorkerHost

    layers = {name: _layer(name) for name in names}
    if not all(layers.values()):
        return {}
    out: dict = {"disk_mb": {n: _du_kib(p) / 1024 for n, p in layers.items()},  # type: ignore[arg-type]
                 "disk_both_mb": _du_kib(*layers.values()) / 1024, "first_start_s": {}, "start_s": {}}  # type: ignore[arg-type]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    for name in names:
        record = envs.create(name, str(ROOT / "plugins" / name), directory=tmp / "envs",
                             base=str(ROOT / f".venv-{name}" / "bin" / "python"), offline=True, no_deps=True,
                             env=_uv_env(tmp))
        starts = []
        for _ in range(4):
            host = WorkerHost(record.worker_command(), label=name, env=env, start_timeout=600)
            start = time.perf_counter()
            host.start()
            starts.append(time.perf_counter() - start)
            host.close()
        out["first_start_s"][name], out["start_s"][name] = starts[0], min(starts[1:])
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        results = {name: fn(tmp / name) for name, fn in (("boundary", boundary), ("startup", startup),
                                                           ("disk", disk), ("engines", engines))}
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "core"))
    main()
