"""Server measurements for `make bench` (also runnable alone: python benchmarks/serve_bench.py).

Piper on the CPU through `polyvox serve` (uvicorn in a thread, loopback), each figure a ratio
against the kernel doing the same work in the same run.
"""

from __future__ import annotations

import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import fast_paths  # the batch sessions' warm-up (fast_paths.py, beside this file)

QUIET = {"noise_scale": 0.0, "noise_w_scale": 0.0}
WORDS = ["amber", "birch", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper",
         "kestrel", "lantern", "meadow", "nectar", "orchid", "pebble", "quartz", "raven", "saffron", "thistle"]


def sentences(n: int, tag: str) -> list[str]:
    return [f"The {WORDS[i % 20]} {WORDS[(i * 7 + 3) % 20]} waited by the road, {tag} {i}." for i in range(n)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def in_thread(kernel: Any, config: Any) -> Iterator[str]:
    """`polyvox serve`'s app for `kernel` and `config` (a ServeConfig) on uvicorn in a thread of
    this process; yields its URL on 127.0.0.1."""
    import uvicorn

    from polyvox.serve import create_app
    from polyvox.serve.connections import uvicorn_config

    srv = uvicorn.Server(uvicorn_config(create_app(config, kernel), config, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        srv.should_exit = True
        thread.join(10)


@contextmanager
def server(tmp: Path) -> Iterator[tuple[str, Any]]:
    import polyvox
    from polyvox.serve import ServeConfig

    kernel = polyvox.Kernel(cache_dir=tmp / "serve-cache")
    with in_thread(kernel, ServeConfig(port=free_port(), voices_dir=tmp / "voices", max_queue=64)) as url:
        yield url, kernel


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


def _rounds(n: int, a: Any, b: Any) -> list[tuple[float, float]]:
    """Time `a` and `b` once per round, in alternating order, so drift of the machine's load
    favours neither; each figure is the median of the per-round ratios (this machine's speed
    drifts by ±15 % between identical rounds: a ratio of minima from different rounds would
    measure the drift)."""
    out = []
    for k in range(n):
        if k % 2:
            tb = b()
            out.append((a(), tb))
        else:
            ta = a()
            out.append((ta, b()))
    return out


def _summary(rounds: list[tuple[float, float]]) -> dict:
    ratios = sorted(x / y for x, y in rounds)
    return {"ratio": statistics.median(ratios), "low": ratios[0], "high": ratios[-1], "rounds": len(rounds),
            "a_s": statistics.median(x for x, _ in rounds), "b_s": statistics.median(y for _, y in rounds)}


def measure(tmp: Path) -> dict:
    """Each figure compares the same texts on both sides (fresh seeds make every run a cache
    miss), in alternating order, as the median of the per-round ratios."""
    import itertools

    import httpx

    out: dict = {}
    seeds = itertools.count(1000)
    with server(tmp) as (url, kernel), httpx.Client(timeout=600) as client:
        for _ in range(2):  # the model
            _speak(client, url, "Warm up the model. " + " ".join(sentences(4, "warm")), next(seeds))
        fast_paths.ready_batch_sessions(kernel)  # the sessions Piper's batches run on (a busy server's)
        # 1. one client: the server vs kernel.render of the same sentences (12 rounds: this figure
        # is a few per cent on a machine whose speed drifts by more between rounds)
        texts = sentences(12, "overhead")
        out["overhead"] = _summary(_rounds(
            12, lambda: _timed(lambda: _speak(client, url, " ".join(texts), next(seeds))),
            lambda: _timed(lambda: kernel.render(_segments(texts), engine="piper", params=QUIET, seed=next(seeds)))))
        # ... and vs kernel.stream: a stream makes its first sentence alone (first audio early), a
        # render pairs sentences by length, so this row is what the server itself adds
        out["overhead_stream"] = _summary(_rounds(
            12, lambda: _timed(lambda: _speak(client, url, " ".join(texts), next(seeds))),
            lambda: _timed(lambda: list(kernel.stream(_segments(texts), engine="piper", params=QUIET,
                                                      seed=next(seeds))))))
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

        out["first_byte"] = _summary(_rounds(8, first_byte, alone))
        # 3. a one-sentence request while a 200-segment render runs vs idle (the same sentence)
        short = sentences(1, "short")[0]
        idle = [_timed(lambda: _speak(client, url, short, next(seeds))) for _ in range(5)]
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
        busy = [_timed(lambda: _speak(client, url, short, next(seeds))) for _ in range(5)]
        stop.set()
        t.join(600)
        _settle(client, url)
        out["short_during_long"] = _summary(list(zip(busy, idle, strict=True)))
        # 4. eight clients at once vs the same eight requests one after another
        requests = [" ".join(sentences(2, f"client {i}")) for i in range(8)]

        def in_sequence() -> float:
            seed = next(seeds)
            return _timed(lambda: [_speak(client, url, r, seed) for r in requests])

        def at_once() -> float:
            seed = next(seeds)
            with ThreadPoolExecutor(8) as pool:
                return _timed(lambda: list(pool.map(lambda r: _speak(client, url, r, seed), requests)))

        out["throughput"] = _summary(_rounds(6, in_sequence, at_once))
    return out


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def rows(r: dict) -> list[tuple[str, str, str, str]]:
    o, f, s, t = r["overhead"], r["first_byte"], r["short_during_long"], r["throughput"]
    st = r["overhead_stream"]
    yes = {True: "yes", False: "no"}

    def spread(x: dict, pct: bool = False) -> str:
        if pct:
            return f"median of {x['rounds']} rounds, {100 * (x['low'] - 1):+.1f} … {100 * (x['high'] - 1):+.1f} %"
        return f"median of {x['rounds']} rounds, {x['low']:.2f}–{x['high']:.2f}×"

    return [
        ("server overhead, one client, 12 sentences vs kernel.render of the same",
         f"{100 * (o['ratio'] - 1):+.1f} % ({o['a_s']:.2f} s vs {o['b_s']:.2f} s; {spread(o, True)})", "≤ 5 %",
         yes[o["ratio"] <= 1.05]),
        ("… the same vs kernel.stream of the same (a stream makes its first sentence alone; what HTTP adds)",
         f"{100 * (st['ratio'] - 1):+.1f} % ({st['a_s']:.2f} s vs {st['b_s']:.2f} s; {spread(st, True)})", "–", "–"),
        ("server time to first audio byte, streaming vs the first sentence alone",
         f"{f['ratio']:.2f}× ({f['a_s']:.2f} s vs {f['b_s']:.2f} s; {spread(f)})", "≤ 1.2×", yes[f["ratio"] <= 1.2]),
        ("one-sentence request while a 200-segment render runs vs idle",
         f"{s['ratio']:.2f}× ({s['a_s']:.2f} s vs {s['b_s']:.2f} s; {spread(s)})", "≤ 3×", yes[s["ratio"] <= 3]),
        ("8 concurrent clients vs the same requests in sequence (throughput)",
         f"{t['ratio']:.2f}× ({t['b_s']:.2f} s vs {t['a_s']:.2f} s; {spread(t)})", "≥ 1.0×",
         yes[t["ratio"] >= 1.0]),
    ]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp_dir:
        results = measure(Path(tmp_dir))
    print(results)
    for row in rows(results):
        print("| " + " | ".join(row) + " |")
