"""Server measurements for `make bench` (also runnable alone: python benchmarks/serve_bench.py).

Piper on the CPU through `polyvox serve` (uvicorn in a thread, loopback), each figure a ratio
against the kernel doing the same work in the same run.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

QUIET = {"noise_scale": 0.0, "noise_w_scale": 0.0}
WORDS = ["amber", "birch", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper",
         "kestrel", "lantern", "meadow", "nectar", "orchid", "pebble", "quartz", "raven", "saffron", "thistle"]


def sentences(n: int, tag: str) -> list[str]:
    return [f"The {WORDS[i % 20]} {WORDS[(i * 7 + 3) % 20]} waited by the road, {tag} {i}." for i in range(n)]


@contextmanager
def server(tmp: Path) -> Iterator[tuple[str, Any]]:
    import uvicorn

    import polyvox
    from polyvox.serve import ServeConfig, create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kernel = polyvox.Kernel(cache_dir=tmp / "serve-cache")
    app = create_app(ServeConfig(port=port, voices_dir=tmp / "voices", max_queue=64), kernel)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", kernel
    finally:
        srv.should_exit = True
        thread.join(10)


def _speak(client: Any, url: str, text: str, seed: int) -> bytes:
    """One request. Each measurement gives a seed of its own: the seed is part of every content
    key, so the same text is synthesized again (Piper, noise off, sounds the same for any seed)."""
    r = client.post(f"{url}/v1/audio/speech", json={"model": "piper", "input": text, "response_format": "pcm",
                                                    "params": QUIET, "seed": seed})
    r.raise_for_status()
    return r.content


def _segments(text_parts: list[str]) -> list[Any]:
    from polyvox import Segment

    return [Segment(text=t, join="none" if n == 0 else "sentence") for n, t in enumerate(text_parts)]


def _settle(client: Any, url: str) -> None:
    """Wait until no request is rendering (a dropped stream finishes its segment in progress),
    so the next timing does not queue behind it."""
    deadline = time.monotonic() + 120
    while client.get(f"{url}/health").json()["queue"] and time.monotonic() < deadline:
        time.sleep(0.02)


def _pair(n: int, a: Any, b: Any) -> tuple[float, float]:
    """Time `a` and `b`, in alternating order by round, so drift of the machine's load favours neither."""
    if n % 2:
        tb = _timed(b)
        return _timed(a), tb
    ta = _timed(a)
    return ta, _timed(b)


def measure(tmp: Path) -> dict:
    """Each figure compares the same texts on both sides (fresh seeds make every run a cache
    miss), in alternating order; best of several runs where a single run is short."""
    import itertools

    import httpx

    out: dict = {}
    seeds = itertools.count(1000)
    with server(tmp) as (url, kernel), httpx.Client(timeout=600) as client:
        for _ in range(2):
            _speak(client, url, "Warm up the model.", next(seeds))
        # 1. one client: the server vs kernel.render of the same sentences
        texts = sentences(12, "overhead")
        pairs = [_pair(n, lambda: _speak(client, url, " ".join(texts), next(seeds)),
                       lambda: kernel.render(_segments(texts), engine="piper", params=QUIET, seed=next(seeds)))
                 for n in range(4)]
        srv, ker = min(p[0] for p in pairs), min(p[1] for p in pairs)
        out["overhead"] = {"server_s": srv, "kernel_s": ker, "overhead_pct": 100 * (srv - ker) / ker}
        # 2. time to the first byte streaming vs the first sentence synthesized alone
        text = sentences(20, "first byte")

        def first_byte() -> float:
            start = time.perf_counter()
            with client.stream("POST", f"{url}/v1/audio/speech", json={
                    "model": "piper", "input": " ".join(text), "response_format": "pcm", "params": QUIET,
                    "seed": next(seeds)}) as r:
                next(r.iter_bytes())
                elapsed = time.perf_counter() - start
            _settle(client, url)  # the dropped stream's segment in progress must not delay the next timing
            return elapsed

        def alone() -> float:
            return _timed(lambda: kernel.synthesize(text[0], engine="piper", seed=next(seeds), **QUIET))

        pairs = [(first_byte(), alone()) if n % 2 == 0 else tuple(reversed((alone(), first_byte())))
                 for n in range(4)]
        first, alone_s = min(p[0] for p in pairs), min(p[1] for p in pairs)
        out["first_byte"] = {"first_byte_s": first, "alone_s": alone_s, "ratio": first / alone_s}
        # 3. a one-sentence request while a 200-segment render runs vs idle (the same sentence)
        short = sentences(1, "short")[0]
        idle = min(_timed(lambda: _speak(client, url, short, next(seeds))) for _ in range(3))
        stop, running = threading.Event(), threading.Event()

        def long_render() -> None:
            with client.stream("POST", f"{url}/v1/audio/speech", json={
                    "model": "piper", "response_format": "pcm", "input": " ".join(sentences(200, "long")),
                    "params": QUIET, "seed": next(seeds)}) as r:
                for _ in r.iter_bytes():
                    running.set()
                    if stop.is_set():
                        return  # drop the connection: the server cancels the rest

        t = threading.Thread(target=long_render)
        t.start()
        running.wait(600)
        busy = min(_timed(lambda: _speak(client, url, short, next(seeds))) for _ in range(3))
        stop.set()
        t.join(600)
        _settle(client, url)
        out["short_during_long"] = {"busy_s": busy, "idle_s": idle, "ratio": busy / idle}
        # 4. eight clients at once vs the same eight requests one after another, best of three
        requests = [" ".join(sentences(2, f"client {i}")) for i in range(8)]

        def in_sequence() -> None:
            seed = next(seeds)
            for r in requests:
                _speak(client, url, r, seed)

        def at_once() -> None:
            seed = next(seeds)
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda r: _speak(client, url, r, seed), requests))

        rounds = [_pair(n, in_sequence, at_once) for n in range(3)]
        sequential, concurrent = min(p[0] for p in rounds), min(p[1] for p in rounds)
        out["throughput"] = {"sequential_s": sequential, "concurrent_s": concurrent,
                             "speedup": sequential / concurrent}
    return out


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def rows(r: dict) -> list[tuple[str, str, str, str]]:
    o, f, s, t = r["overhead"], r["first_byte"], r["short_during_long"], r["throughput"]
    yes = {True: "yes", False: "no"}
    return [
        ("server overhead, one client, 12 sentences vs kernel.render of the same",
         f"{o['overhead_pct']:+.1f} % ({o['server_s']:.2f} s vs {o['kernel_s']:.2f} s, best of 4)", "≤ 5 %",
         yes[o["overhead_pct"] <= 5]),
        ("server time to first audio byte, streaming vs the first sentence alone",
         f"{f['ratio']:.2f}× ({f['first_byte_s']:.2f} s vs {f['alone_s']:.2f} s)", "≤ 1.2×", yes[f["ratio"] <= 1.2]),
        ("one-sentence request while a 200-segment render runs vs idle",
         f"{s['ratio']:.2f}× ({s['busy_s']:.2f} s vs {s['idle_s']:.2f} s)", "≤ 3×", yes[s["ratio"] <= 3]),
        ("8 concurrent clients vs the same requests in sequence (throughput)",
         f"{t['speedup']:.2f}× ({t['concurrent_s']:.2f} s vs {t['sequential_s']:.2f} s, best of 3)", "≥ 1.0×",
         yes[t["speedup"] >= 1.0]),
    ]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp_dir:
        results = measure(Path(tmp_dir))
    print(results)
    for row in rows(results):
        print("| " + " | ".join(row) + " |")
