"""The Ray executor on this machine's CPUs (`make bench-ray`): Piper with one replica vs two,
one replica vs the in-process scheduler, and the per-segment dispatch overhead (the template
engine on short lines, where the engine's own time is small). A CPU figure: GPU replicas
are not measured here.

Replicas are started and warmed before timing, as a long-running render or server has them.
"""

from __future__ import annotations

import argparse
import os
import tempfile

from run import QUIET, SENTENCES, best_of  # the same texts and timing as make bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=16, help="Piper lines per render")
    parser.add_argument("--runs", type=int, default=2, help="best of this many renders")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    import polyvox
    from polyvox import Voice
    from polyvox.distributed import RayExecutor

    cpus = os.cpu_count() or 2
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1",
             _temp_dir=tempfile.mkdtemp(prefix="polyvox-ray-"))
    piper = "\n".join(f"{SENTENCES[i % len(SENTENCES)]} Line {i}." for i in range(args.lines))
    narrator = Voice(name="quiet", params=QUIET)

    def timed(kernel: polyvox.Kernel, text: str, **kw) -> float:
        kernel.render(text, **kw)  # warm: models loaded, replicas started
        return best_of(args.runs, lambda: kernel.render(text, **kw))

    local = timed(polyvox.Kernel(cache=False), piper, voice=narrator)
    one_ex, two_ex = RayExecutor(replicas=1), RayExecutor(replicas=2)
    one = timed(polyvox.Kernel(cache=False, executor=one_ex), piper, voice=narrator)
    one_ex.shutdown()
    two = timed(polyvox.Kernel(cache=False, executor=two_ex), piper, voice=narrator)
    two_ex.shutdown()

    short = "\n".join(f"Word {i}." for i in range(60))
    t_local = timed(polyvox.Kernel(cache=False), short, engine="template")
    t_ex = RayExecutor(replicas=1)
    t_ray = timed(polyvox.Kernel(cache=False, executor=t_ex), short, engine="template")
    t_ex.shutdown()
    ray.shutdown()

    print(f"CPU only, {cpus} cores, Ray {ray.__version__}; best of {args.runs}, replicas warm\n")
    print("| figure | value |")
    print("|---|---|")
    print(f"| Piper, {args.lines} lines, in-process sequential | {local:.2f} s |")
    print(f"| Piper, 1 Ray replica | {one:.2f} s ({(one / local - 1) * 100:+.0f} % vs in-process) |")
    print(f"| Piper, 2 Ray replicas | {two:.2f} s ({one / two:.2f}x the 1-replica speed) |")
    print(f"| dispatch overhead per segment (template, 60 short lines) | "
          f"{(t_ray - t_local) / 60 * 1000:.1f} ms ({t_local:.2f} s in-process, {t_ray:.2f} s on 1 replica) |")


if __name__ == "__main__":
    main()
