"""`make soak`: one `polyvox serve --wyoming` against mixed well-formed and hostile clients for a
while (10 minutes by default), then the checks that it survived them: the process is alive and
answers correctly, its threads and file descriptors are back where they were after the warm-up,
its memory is within 100 MB of that, and its log has no traceback. Prints a summary; exits 1
on any failure.

    python scripts/soak.py [--minutes 10] [--threads 4] [--rate 2] [--no-early-close]

Everything runs on 127.0.0.1 with a temporary cache and voices folder; each client thread
makes at most `--rate` exchanges a second, and every exchange has a deadline.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
from soak_clients import CLIENTS, FORMATS, MODELS, SPEECH, Server, Surprise, events, wyoming_exchange
from wyoming.tts import Synthesize

#: Slack on the checks: threads and descriptors a quiet server may still hold (a keep-alive
#: connection closing, a worker thread between tasks), and the memory allowed to grow.
THREAD_SLACK, FD_SLACK, RSS_SLACK_MB = 6, 8, 100
#: Descriptors on the cache's SQLite files: diskcache opens a connection per thread, and CPython
#: closes a finished thread's connection only at a full garbage collection (a connection refers to
#: itself through its statement cache), so after many worker threads came and went, many wait
#: for one (two 10-minute runs ended 54 above the warm-up). Counted apart, so that the other
#: descriptors are held to FD_SLACK.
SQLITE_FD_SLACK = 128
#: anyio keeps an idle worker thread for 10 s; the next call after that retires it.
IDLE_WORKER_SECONDS = 11
#: Asked at the start and at the end: the same bytes both times (the template engine is seeded).
REFERENCE = {"model": "template", "input": "The soak begins and ends with this sentence.", "response_format": "wav",
             "seed": 7}
#: Lines in the server's log that mean something escaped (a crash leaves the process dead instead).
BAD_LOG = ("Traceback", "Task exception was never retrieved", "Exception in ASGI application", "generator already")


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done: Counter[str] = Counter()
        self.surprises: dict[str, list[str]] = defaultdict(list)

    def record(self, kind: str, surprise: str | None) -> None:
        with self.lock:
            self.done[kind] += 1
            if surprise is not None:
                self.surprises[kind].append(surprise)


def _one(kind: str, s: Server, http: httpx.Client, rng: random.Random, tally: Tally) -> None:
    try:
        CLIENTS[kind][1](s, http, rng)
        tally.record(kind, None)
    except (Surprise, httpx.HTTPError, OSError, ValueError, KeyError, StopIteration) as exc:
        tally.record(kind, f"{type(exc).__name__}: {exc}"[:300])


def _client(s: Server, kinds: list[str], seed: int, until: float, rate: float, tally: Tally) -> None:
    rng = random.Random(seed)
    weights = [CLIENTS[k][0] for k in kinds]
    with httpx.Client(base_url=s.url) as http:
        while time.monotonic() < until and s.alive():
            began = time.monotonic()
            _one(rng.choices(kinds, weights)[0], s, http, rng, tally)
            time.sleep(max(0.0, 1 / rate - (time.monotonic() - began)))


def _mix(s: Server, kinds: list[str], threads: int, rate: float, seed: int, seconds: float,
         tally: Tally) -> tuple[dict[str, float], list[dict[str, float]]]:
    """`threads` clients for `seconds`; the server's peak threads, descriptors and memory, and
    its samples each second."""
    until = time.monotonic() + seconds
    peak = s.sample()
    samples = [peak]
    workers = [threading.Thread(target=_client, args=(s, kinds, seed + n, until, rate, tally), daemon=True)
               for n in range(threads)]
    for worker in workers:
        worker.start()
    while any(w.is_alive() for w in workers) and s.alive():
        time.sleep(1)
        if s.alive():
            now = s.sample()
            peak = {k: max(v, now[k]) for k, v in peak.items()}
            samples.append(now)
    for worker in workers:
        worker.join(180)
    return peak, samples


def _settle(s: Server) -> dict[str, float]:
    """The server's threads, descriptors and memory once it is quiet: no request in flight, the
    clients' connections closed, and idle worker threads retired (each event loop's thread pool
    retires a worker idle for 10 s at its next call: one HTTP and one Wyoming call)."""
    deadline = time.monotonic() + 120
    while httpx.get(f"{s.url}/health", timeout=30).json()["queue"] and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(IDLE_WORKER_SECONDS)
    httpx.get(f"{s.url}/v1/audio/voices", timeout=30).raise_for_status()
    wyoming_exchange(s, b'{"type": "describe"}\n', "info", deadline=30)
    time.sleep(1)
    return s.sample()


def _answers_correctly(s: Server, reference: bytes) -> list[str]:
    failures = []
    r = httpx.post(f"{s.url}{SPEECH}", json=REFERENCE, timeout=120)
    if r.status_code != 200 or r.content != reference:
        failures.append(f"the reference request now answers {r.status_code} with {len(r.content)} bytes "
                        f"(at the start: {len(reference)} bytes)")
    got = wyoming_exchange(s, events(Synthesize(text="The soak is over.")), "audio-stop")
    if [e.type for e in got][-1:] != ["audio-stop"]:
        failures.append(f"a Wyoming synthesize now answers {[e.type for e in got][-3:]}")
    metrics = httpx.get(f"{s.url}/metrics", timeout=30).text
    if 'polyvox_requests_total{protocol="wyoming",route="synthesize",status="200"}' not in metrics:
        failures.append("/metrics counts no Wyoming synthesize")
    return failures


def _warm_up(s: Server, kinds: list[str], threads: int, rate: float, seed: int, seconds: float) -> None:
    """Every model in every format and every client once (models load, encoders open), then the
    mix for `seconds` (thread pools, engine arenas and caches reach the sizes the load needs)."""
    tally = Tally()
    with httpx.Client(base_url=s.url) as http:
        for model in MODELS:
            for fmt in FORMATS:
                http.post(SPEECH, json={"model": model, "input": "Warming up.", "response_format": fmt},
                          timeout=120).raise_for_status()
        for n, kind in enumerate(kinds):
            _one(kind, s, http, random.Random(seed - n), tally)
    _mix(s, kinds, threads, rate, seed + 1000, seconds, tally)


def _run(s: Server, kinds: list[str], minutes: float, threads: int, rate: float, seed: int,
         warm_up: float) -> list[str]:
    reference = httpx.post(f"{s.url}{SPEECH}", json=REFERENCE, timeout=120).content
    _warm_up(s, kinds, threads, rate, seed, warm_up)
    base, base_fds = _settle(s), s.fd_targets()
    print(f"warmed up: {base['threads']} threads, {base['fds']} descriptors (and {base['sqlite_fds']} on the "
          f"cache's database), {base['rss_mb']:.0f} MB", flush=True)
    tally = Tally()
    peak, samples = _mix(s, kinds, threads, rate, seed, minutes * 60, tally)

    failures = []
    end = {k: float("nan") for k in base}
    if not s.alive():
        failures.append(f"the server died (exit status {s.proc.returncode})")
    else:
        failures += _answers_correctly(s, reference)
        end = _settle(s)
        for _ in range(3):  # on a loaded machine a left client's segment may still be in its thread:
            if end["threads"] <= base["threads"] + THREAD_SLACK:  # a leak stays, that work ends
                break
            end = _settle(s)
        if end["threads"] > base["threads"] + THREAD_SLACK:
            failures.append(f"threads: {end['threads']} at the end, {base['threads']} after the warm-up")
        for key, slack in (("fds", FD_SLACK), ("sqlite_fds", SQLITE_FD_SLACK)):
            if end[key] > base[key] + slack:
                new = sorted((Counter(s.fd_targets()) - Counter(base_fds)).elements())
                failures.append(f"{key}: {end[key]} at the end, {base[key]} after the warm-up; new: "
                                f"{', '.join(new[:12])}")
        if end["rss_mb"] > base["rss_mb"] + RSS_SLACK_MB:
            failures.append(f"memory: {end['rss_mb']:.0f} MB at the end, {base['rss_mb']:.0f} MB after the warm-up")
    for kind, surprises in tally.surprises.items():
        failures.append(f"{kind}: {len(surprises)} wrong answers, the first: {surprises[0]}")

    print(f"{sum(tally.done.values())} exchanges in {minutes:g} min on {threads} threads: " +
          ", ".join(f"{k} {tally.done[k]}" for k in kinds))
    for key, unit in (("threads", ""), ("fds", ""), ("sqlite_fds", ""), ("rss_mb", " MB")):
        print(f"  {key:10} after warm-up {base[key]:6.0f}{unit}  peak {peak[key]:6.0f}{unit}  "
              f"end {end[key]:6.0f}{unit}")
    # a leak climbs all along; caches and allocator arenas level off
    for key in ("sqlite_fds", "rss_mb"):
        print(f"  {key:10} at each tenth of the run:",
              " ".join(f"{samples[len(samples) * n // 10][key]:.0f}" for n in range(10)), f"{samples[-1][key]:.0f}")
    return failures


def soak(minutes: float, threads: int, rate: float, early_close: bool = True, seed: int = 1,
         clients: list[str] | None = None, warm_up: float = 120, log: str | None = None) -> int:
    kinds = [k for k in clients or CLIENTS if early_close or k != "early_close"]
    with tempfile.TemporaryDirectory(prefix="polyvox-soak-") as folder:
        s = Server(Path(folder))
        try:
            failures = _run(s, kinds, minutes, threads, rate, seed, warm_up)
        except (httpx.HTTPError, OSError):
            if s.alive():
                raise
            failures = [f"the server died (exit status {s.proc.returncode})"]
        finally:
            s.stop()
            if log:
                shutil.copyfile(s.log, log)
        lines = s.log.read_text(errors="replace").splitlines()
        bad = [line for line in lines if any(b in line for b in BAD_LOG)]
        if bad:
            failures.append(f"{len(bad)} error lines in the server's log, the first: {bad[0][:200]}")
        if bad or any("died" in f for f in failures):
            print("the end of the server's log:", *lines[-15:], sep="\n  ")
    for failure in failures:
        print(f"FAILED: {failure}")
    print("soak failed" if failures else "soak passed")
    return 1 if failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the clients run (default 10)")
    parser.add_argument("--threads", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--rate", type=float, default=2.0, help="most exchanges a second per thread (default 2)")
    parser.add_argument("--no-early-close", dest="early_close", action="store_false",
                        help="leave out the HTTP clients that close a stream after its first bytes")
    parser.add_argument("--clients", metavar="KIND,...", type=lambda v: v.split(","),
                        help=f"only these clients (default all: {', '.join(CLIENTS)})")
    parser.add_argument("--warm-up", type=float, default=120, metavar="SECONDS",
                        help="the mix runs this long before the baseline is taken (default 120)")
    parser.add_argument("--seed", type=int, default=1, help="the clients' random choices (default 1)")
    parser.add_argument("--log", metavar="FILE", help="keep the server's log in FILE")
    args = parser.parse_args()
    unknown = set(args.clients or ()) - set(CLIENTS)
    if unknown:
        parser.error(f"--clients: unknown {', '.join(sorted(unknown))}; there are {', '.join(CLIENTS)}")
    sys.exit(soak(args.minutes, args.threads, args.rate, args.early_close, args.seed, args.clients, args.warm_up,
                  args.log))


if __name__ == "__main__":
    main()
