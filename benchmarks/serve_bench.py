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


def _speak(url: str, text: str, **extra: Any) -> bytes:
    import httpx

    r = httpx.post(f"{url}/v1/audio/speech", json={"model": "piper", "input": text, "response_format": "pcm",
                                                   "params": QUIET, **extra}, timeout=600)
    r.raise_for_status()
    return r.content


def _segments(text_parts: list[str]) -> list[Any]:
    from polyvox import Segment

    return [Segment(text=t, join="none" if n == 0 else "sentence") for n, t in enumerate(text_parts)]


def measure(tmp: Path) -> dict:
    import httpx

    out: dict = {}
    with server(tmp) as (url, kernel):
        _speak(url, "Warm up the model.")
        # 1. one client: the server vs kernel.render of the same sentences (cold cache each time)
        pairs = []
        for n in range(4):
            served = sentences(12, f"overhead {n}")
            direct = sentences(12, f"direct {n}")
            s0 = time.perf_counter()
            _speak(url, " ".join(served))
            s1 = time.perf_counter()
            kernel.render(_segments(direct), engine="piper", params=QUIET)
            s2 = time.perf_counter()
            pairs.append((s1 - s0, s2 - s1))
        srv, ker = min(p[0] for p in pairs), min(p[1] for p in pairs)
        out["overhead"] = {"server_s": srv, "kernel_s": ker, "overhead_pct": 100 * (srv - ker) / ker}
        # 2. time to the first byte streaming vs the first sentence synthesized alone
        pairs = []
        for n in range(4):
            text = sentences(20, f"first byte {n}")
            s0 = time.perf_counter()
            with httpx.stream("POST", f"{url}/v1/audio/speech", json={"model": "piper", "input": " ".join(text),
                              "response_format": "pcm", "params": QUIET}, timeout=600) as r:
                next(r.iter_bytes())
                s1 = time.perf_counter()
            s2 = time.perf_counter()
            kernel.synthesize(sentences(1, f"alone {n}")[0], engine="piper", **QUIET)
            pairs.append((s1 - s0, time.perf_counter() - s2))
        first, alone = min(p[0] for p in pairs), min(p[1] for p in pairs)
        out["first_byte"] = {"first_byte_s": first, "alone_s": alone, "ratio": first / alone}
        # 3. a one-sentence request while a 200-segment render runs vs idle
        idle = min(_timed(lambda n=n: _speak(url, sentences(1, f"idle {n}")[0])) for n in range(3))
        stop = threading.Event()

        def long_render() -> None:
            with httpx.stream("POST", f"{url}/v1/audio/speech", json={"model": "piper", "response_format": "pcm",
                              "input": " ".join(sentences(200, "long")), "params": QUIET}, timeout=600) as r:
                for _ in r.iter_bytes():
                    if stop.is_set():
                        return  # drop the connection: the server cancels the rest

        t = threading.Thread(target=long_render)
        t.start()
        time.sleep(2.0)
        busy = min(_timed(lambda n=n: _speak(url, sentences(1, f"busy {n}")[0])) for n in range(3))
        stop.set()
        t.join(600)
        out["short_during_long"] = {"busy_s": busy, "idle_s": idle, "ratio": busy / idle}
        # 4. eight clients at once vs the same requests one after another (different texts)
        seq_texts = [" ".join(sentences(3, f"seq {i}")) for i in range(8)]
        par_texts = [" ".join(sentences(3, f"par {i}")) for i in range(8)]
        sequential = _timed(lambda: [_speak(url, t) for t in seq_texts])
        with ThreadPoolExecutor(8) as pool:
            concurrent = _timed(lambda: list(pool.map(lambda t: _speak(url, t), par_texts)))
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
         f"{t['speedup']:.2f}× ({t['concurrent_s']:.2f} s vs {t['sequential_s']:.2f} s)", "≥ 1.0×",
         yes[t["speedup"] >= 1.0]),
    ]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp_dir:
        results = measure(Path(tmp_dir))
    print(results)
    for row in rows(results):
        print("| " + " | ".join(row) + " |")
