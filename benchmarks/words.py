"""Word times (docs/words.md): how far reported word starts are from the truth, and what
timing words costs a warm render.

- engine alignment: the template engine's words against their true starts in the output (it
  puts exact silence between words, so a word starts where the silence ends), through pauses,
  sentence and clause joins;
- estimated (Piper): words said one at a time between 0.8 s pauses against the energy onsets
  (5 ms frames 30 dB under the peak, after 0.5 s of quiet);
- cost: the share of a warm (all cached) 40-sentence render spent mapping and placing words.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import polyvox

FRUIT = "apples bananas cherries dates figs grapes lemons mangoes olives peaches plums quinces raisins".split()
TEXT = " ".join(f"Sentence {n} tells of the quick brown fox, who jumped over the lazy dog at {n} o'clock."
                for n in range(40))


def _stats(errors_s: list[float]) -> dict:
    ms = np.abs(np.array(errors_s)) * 1000
    return {"words": len(ms), "median_ms": float(np.median(ms)), "p95_ms": float(np.percentile(ms, 95))}


def _template_errors(tmp: Path) -> dict:
    kernel = polyvox.Kernel(cache_dir=tmp / "words-template", plugins=["template"])
    clauses = ", ".join(["alpha beta gamma delta epsilon"] * 12) + "."
    result = kernel.render(f"{TEXT} [pause:1s] {clauses}", engine="template")
    x, rate = result.audio.samples, result.audio.sample_rate
    errors = []
    for w in result.words:
        first = max(0, round((w.start - 0.015) * rate))
        loud = np.flatnonzero(np.abs(x[first:]) > 1e-5)
        errors.append((first + int(loud[0])) / rate - w.start)
    return _stats(errors)


def _piper_errors(tmp: Path) -> dict:
    kernel = polyvox.Kernel(cache_dir=tmp / "words-piper")
    result = kernel.render(" [pause:0.8s] ".join(FRUIT), engine="piper",
                           params={"noise_scale": 0.0, "noise_w_scale": 0.0})
    x, rate = result.audio.samples, result.audio.sample_rate
    hop = rate // 200
    frames = x[: len(x) // hop * hop].reshape(-1, hop).astype(np.float64)
    loud = np.sqrt((frames**2).mean(axis=1)) > np.abs(x).max() * 10 ** (-30 / 20)
    onsets, quiet = [], 10**9
    for i, on in enumerate(loud):
        if on and quiet >= 100:
            onsets.append(i * hop / rate)
        quiet = 0 if on else quiet + 1
    assert len(onsets) == len(result.words) == len(FRUIT), (onsets, result.words)
    return _stats([w.start - o for w, o in zip(result.words, onsets, strict=True)])


def _cost(tmp: Path, engine: str) -> dict:
    """Seconds spent in word timing during a warm render, against the render's own seconds."""
    import polyvox.render.placing as placing

    kernel = polyvox.Kernel(cache_dir=tmp / f"words-cost-{engine}")
    kernel.render(TEXT, engine=engine)  # model loaded, every segment cached with its words
    spent, original = [0.0], placing.for_script

    def timed(*args, **kwargs):
        began = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - began

    placing.for_script = timed
    try:
        rounds = []
        for _ in range(5):
            spent[0] = 0.0
            began = time.perf_counter()
            kernel.render(TEXT, engine=engine)
            rounds.append((spent[0], time.perf_counter() - began))
    finally:
        placing.for_script = original
    words, total = min(rounds, key=lambda r: r[1])
    return {"words_ms": words * 1000, "render_ms": total * 1000, "pct": 100 * words / total}


def measure(tmp: Path) -> dict:
    return {"template": _template_errors(tmp), "piper": _piper_errors(tmp),
            "cost_template": _cost(tmp, "template"), "cost_piper": _cost(tmp, "piper")}


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def rows(r: dict) -> list[tuple[str, str, str, str]]:
    t, p, ct, cp = r["template"], r["piper"], r["cost_template"], r["cost_piper"]
    return [
        (f"word start error, engine alignment (template engine, {t['words']} words through pauses and joins)",
         f"median {t['median_ms']:.1f} ms, p95 {t['p95_ms']:.1f} ms", "≤ 30 / 80 ms",
         _yes(t["median_ms"] <= 30 and t["p95_ms"] <= 80)),
        (f"word start error, estimated from energy (Piper, {p['words']} words between pauses, vs energy onsets)",
         f"median {p['median_ms']:.1f} ms, p95 {p['p95_ms']:.1f} ms", "≤ 30 / 80 ms",
         _yes(p["median_ms"] <= 30 and p["p95_ms"] <= 80)),
        ("word start error, heard alignment", "not measured: no listener plugin yet", "≤ 60 / 150 ms", "—"),
        ("cost of word times, warm 40-sentence render (template engine)",
         f"{ct['pct']:.1f} % ({ct['words_ms']:.1f} ms of {ct['render_ms']:.0f} ms)", "≤ 5 %", _yes(ct["pct"] <= 5)),
        ("cost of word times, warm 40-sentence render (Piper)",
         f"{cp['pct']:.1f} % ({cp['words_ms']:.1f} ms of {cp['render_ms']:.0f} ms)", "≤ 5 %", _yes(cp["pct"] <= 5)),
    ]
