"""The shared cache (Redis) against the directory (diskcache), for `make bench` (also alone:
python benchmarks/shared_cache.py). A redis-server of its own on a loopback port, nothing saved.

- one cache hit, per segment: `cache.get` of a stored 2 s clip, Redis vs diskcache;
- a warm re-render of a 200-segment script (template engine, a new Kernel each time), Redis vs diskcache;
- a second replica's latency for a phrase the first made (two servers on one Redis) vs a server's
  latency for a phrase it made itself from its own directory.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import fast_paths  # noqa: E402 - the same 200-line script as the warm figures
import serve_bench  # noqa: E402 - its server in a thread

QUIET = {"noise_scale": 0.0, "noise_w_scale": 0.0}


@contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = serve_bench.free_port()
    folder = tmp / "redis"
    folder.mkdir(exist_ok=True)
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                "no", "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(10)


def hit_per_segment(tmp: Path, url: str, count: int = 2000) -> dict:
    import numpy as np

    import polyvox
    from polyvox.cache.opening import open_cache

    clip = polyvox.Audio(np.random.default_rng(1).standard_normal(32000).astype(np.float32) * 0.1, 16000)
    keys = [f"{i:064x}" for i in range(count)]
    out = {}
    for name, cache in (("disk", open_cache(tmp / "hits")), ("redis", open_cache(url=url))):
        for key in keys:
            cache.put(key, clip)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            for key in keys:
                assert cache.get(key) is not None
            times.append((time.perf_counter() - start) / count)
        out[name] = 1000 * min(times)
        cache.close()
    return {"disk_ms": out["disk"], "redis_ms": out["redis"], "count": count, "clip_s": 2.0}


def warm_rerender(tmp: Path, url: str, lines: int = 200, rounds: int = 5) -> dict:
    import polyvox

    text = fast_paths.script(lines)
    kernels = {"disk": lambda: polyvox.Kernel(cache_dir=tmp / "warm-disk"),
               "redis": lambda: polyvox.Kernel(cache_dir=tmp / "warm-unused", cache_url=url)}
    for make in kernels.values():
        assert make().render(text, engine="template").stats.synthesized == lines
    best = dict.fromkeys(kernels, float("inf"))
    for _ in range(rounds):
        for name, make in kernels.items():
            kernel = make()
            start = time.perf_counter()
            result = kernel.render(text, engine="template")
            best[name] = min(best[name], time.perf_counter() - start)
            assert result.stats.cached == lines
    return {"disk_s": best["disk"], "redis_s": best["redis"], "ratio": best["redis"] / best["disk"],
            "lines": lines, "rounds": rounds}


@contextmanager
def _server(kernel: Any, tmp: Path) -> Iterator[str]:
    from polyvox.serve import ServeConfig

    port = serve_bench.free_port()
    with serve_bench.in_thread(kernel, ServeConfig(port=port, voices_dir=tmp / f"voices-{port}")) as url:
        yield url


def second_replica(tmp: Path, url: str, rounds: int = 15) -> dict:
    import httpx

    import polyvox

    def speak(client: Any, server: str, text: str) -> float:
        start = time.perf_counter()
        r = client.post(f"{server}/v1/audio/speech", json={"model": "piper", "input": text, "response_format": "pcm",
                                                           "params": QUIET})
        assert r.status_code == 200, r.text
        return time.perf_counter() - start

    a, b = polyvox.Kernel(cache_url=url, cache_dir=tmp / "ra"), polyvox.Kernel(cache_url=url, cache_dir=tmp / "rb")
    local = polyvox.Kernel(cache_dir=tmp / "local")
    shared, own = [], []
    with _server(a, tmp) as ua, _server(b, tmp) as ub, _server(local, tmp) as ul, httpx.Client(timeout=60) as client:
        speak(client, ua, "Warm up."), speak(client, ub, "Warm up."), speak(client, ul, "Warm up.")
        for i in range(rounds):
            text = f"The replica at the end of the hall answered question number {i}."
            speak(client, ua, text)  # made by the first replica ...
            shared.append(speak(client, ub, text))  # ... and asked of the second
            speak(client, ul, text)  # made by a server with its own directory ...
            own.append(speak(client, ul, text))  # ... and asked of it again
    return {"shared_ms": 1000 * statistics.median(shared), "local_ms": 1000 * statistics.median(own),
            "rounds": rounds}


def measure(tmp: Path) -> dict:
    if shutil.which("redis-server") is None and not Path("/usr/bin/redis-server").exists():
        return {"skipped": "redis-server is not installed (apt-get install redis-server)"}
    with redis_server(tmp) as url:
        return {"hit": hit_per_segment(tmp, url), "warm": warm_rerender(tmp, url), "replica": second_replica(tmp, url)}


def rows(r: dict) -> list[tuple[str, str, str, str]]:
    if "skipped" in r:
        return [("shared cache (Redis)", f"not measured: {r['skipped']}", "–", "–")]
    h, w, s = r["hit"], r["warm"], r["replica"]
    return [
        (f"one cache hit through Redis (loopback) vs through diskcache, a {h['clip_s']:.0f} s clip, best of 3 × "
         f"{h['count']} gets", f"{h['redis_ms']:.3f} ms vs {h['disk_ms']:.3f} ms per segment", "≤ 2 ms",
         "yes" if h["redis_ms"] <= 2 else "no"),
        (f"warm re-render of {w['lines']} segments from Redis vs from diskcache (template engine, a new Kernel "
         f"each time, best of {w['rounds']})", f"{w['ratio']:.2f}× ({w['redis_s']:.3f} s vs {w['disk_s']:.3f} s)",
         "≤ 2×", "yes" if w["ratio"] <= 2 else "no"),
        ("a second replica's latency for a sentence the first made (one Redis) vs a server's own hit from its "
         f"directory (Piper, whole WAV response, median of {s['rounds']})",
         f"{s['shared_ms']:.1f} ms vs {s['local_ms']:.1f} ms", "–", "–"),
    ]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp_dir:
        results = measure(Path(tmp_dir))
    print(results)
    for row in rows(results):
        print(" | ".join(row))
