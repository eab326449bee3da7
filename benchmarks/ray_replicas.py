"""The Ray executor on this machine's CPUs (`make bench-ray`): Piper on two replicas vs one,
one replica vs the in-process scheduler, and what each segment costs the driver.

- Each replica reserves one CPU and runs Piper on one ONNX Runtime thread (the replica sets
  OMP_NUM_THREADS to its CPUs). The in-process baseline runs under the same one-thread limit,
  so "one replica vs in-process" measures the executor, not a thread count; the unlimited
  in-process render is shown beside it.
- Dispatch: the template engine on short lines (little engine time), one replica vs in process,
  with the default two calls in flight (the round trip hidden behind synthesis) and with one (not
  hidden: the latency of one call).
- Driver CPU per segment: the driver process's CPU time (planning, cache commits, Ray's
  submission and result threads, assembly) over a render of ordinary sentences on two replicas,
  cache on: the figure docs/scaling.md divides a GPU segment's synthesis time by.

Replicas are started and warmed before timing, as a long-running render or server has them.
A CPU figure: GPU replicas are not measured here. `--write FILE` puts the table into FILE's
"Ray executor" section (docs/benchmarks.md), with the machine, date and load average.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import report
from run import QUIET, SENTENCES, best_of  # the same texts and timing as make bench


def measure(lines: int, runs: int) -> dict:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    import polyvox
    from polyvox import Voice
    from polyvox.distributed import RayExecutor

    cpus = os.cpu_count() or 2
    load_before = os.getloadavg()[0]
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1",
             _temp_dir=tempfile.mkdtemp(prefix="polyvox-ray-"))
    piper = "\n".join(f"{SENTENCES[i % len(SENTENCES)]} Line {i}." for i in range(lines))
    narrator = Voice(name="quiet", params=QUIET)
    out: dict = {"cpus": cpus, "ray": ray.__version__, "lines": lines, "runs": runs}

    def timed(kernel: polyvox.Kernel, text: str, **kw) -> float:
        kernel.render(text, **kw)  # warm: models loaded, replicas started
        return best_of(runs, lambda: kernel.render(text, **kw))

    def on_ray(text: str, replicas: int, **kw) -> float:
        executor = RayExecutor(replicas=replicas, num_cpus=1, in_flight=kw.pop("in_flight", 2))
        try:
            return timed(polyvox.Kernel(cache=False, executor=executor), text, **kw)
        finally:
            executor.shutdown()

    out["local_all_threads"] = timed(polyvox.Kernel(cache=False), piper, voice=narrator)
    os.environ["OMP_NUM_THREADS"] = "1"  # the in-process baseline on one thread, like a replica
    out["local"] = timed(polyvox.Kernel(cache=False), piper, voice=narrator)
    del os.environ["OMP_NUM_THREADS"]
    out["one"] = on_ray(piper, 1, voice=narrator)
    out["two"] = on_ray(piper, 2, voice=narrator)

    short = "\n".join(f"Word {i}." for i in range(60))
    out["t_local"] = timed(polyvox.Kernel(cache=False), short, engine="template")
    out["t_ray"] = on_ray(short, 1, engine="template")
    out["t_ray_serial"] = on_ray(short, 1, engine="template", in_flight=1)

    sentences = "\n".join(f"{SENTENCES[i % len(SENTENCES)]} Number {i}." for i in range(100))
    executor = RayExecutor(replicas=2, num_cpus=1)
    with tempfile.TemporaryDirectory() as tmp:
        polyvox.Kernel(cache=False, executor=executor).render("Warm up.", engine="template")
        kernel = polyvox.Kernel(cache_dir=Path(tmp) / "cache", executor=executor)
        cpu, wall = time.process_time(), time.perf_counter()
        audio = kernel.render(sentences, engine="template").audio
        out["driver_cpu"] = (time.process_time() - cpu) / 100
        out["driver_wall"] = (time.perf_counter() - wall) / 100
        out["driver_audio"] = audio.duration / 100, audio.sample_rate
    executor.shutdown()
    ray.shutdown()
    out["load"] = (load_before, os.getloadavg()[0])
    return out


def table(r: dict) -> str:
    rows = [
        ("Piper, 2 replicas vs 1 (1 CPU and 1 thread each)",
         f"{r['one'] / r['two']:.2f}× ({r['two']:.2f} s vs {r['one']:.2f} s)", "≥ 1.6×",
         _met(r["one"] / r["two"] >= 1.6)),
        ("Piper, 1 replica vs the in-process scheduler (both 1 thread)",
         f"{(r['one'] / r['local'] - 1) * 100:+.1f} % ({r['one']:.2f} s vs {r['local']:.2f} s)", "≤ 10 %",
         _met(r["one"] / r["local"] - 1 <= 0.10)),
        ("Piper in process on all cores (context)", f"{r['local_all_threads']:.2f} s", "–", "–"),
        ("dispatch overhead per segment, template on 60 short lines, 1 replica vs in process",
         f"{(r['t_ray'] - r['t_local']) / 60 * 1000:+.1f} ms with 2 calls in flight, "
         f"{(r['t_ray_serial'] - r['t_local']) / 60 * 1000:+.1f} ms with 1 "
         f"({r['t_local']:.2f} s in process, {r['t_ray']:.2f} s and {r['t_ray_serial']:.2f} s on Ray)", "–", "–"),
        ("driver CPU per segment, 100 template sentences on 2 replicas, cache on",
         f"{r['driver_cpu'] * 1000:.1f} ms ({r['driver_wall'] * 1000:.1f} ms wall per segment; "
         f"{r['driver_audio'][0]:.1f} s of {r['driver_audio'][1]} Hz audio each)", "–", "–"),
    ]
    return f"""Machine: {report.machine()}; Ray {r['ray']}, {r['cpus']} CPUs given to the local Ray
Date: {time.strftime('%Y-%m-%d')}; load average {r['load'][0]:.1f} before, {r['load'][1]:.1f} after
Piper: {r['lines']} lines per render, best of {r['runs']}, replicas warm.

{report.table(rows)}
"""


def _met(ok: bool) -> str:
    return "yes" if ok else "no"


def write(path: Path, section: str) -> None:
    """Replace the bench-ray section of `path` (added under its own heading if missing)."""
    report.write_section(path, "ray", section, "Ray executor (`make bench-ray`)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=16, help="Piper lines per render")
    parser.add_argument("--runs", type=int, default=2, help="best of this many renders")
    parser.add_argument("--write", help="put the table into this Markdown file's Ray section")
    args = parser.parse_args()
    section = table(measure(args.lines, args.runs))
    print(section)
    if args.write:
        write(Path(args.write), section)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
