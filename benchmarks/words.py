"""Word times (docs/words.md): how far reported word starts are from the truth, and what
timing words costs a warm render.

- engine alignment: the template engine's words against their true starts in the output (it
  puts exact silence between words, so a word starts where the silence ends), through pauses,
  sentence and clause joins;
- Piper, its own alignment and estimated (its alignment turned off): words said one at a time
  between 0.8 s pauses against the energy onsets (5 ms frames 30 dB under the peak, after 0.5 s
  of quiet); Kokoro the same (its int8 model's durations, two of its voices), where installed;
- heard (whisper tiny.en, on a CPU): Piper's audio of six sentences heard with Piper's alignment
  turned off, the heard starts against Piper's own alignment of the same audio;
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


class _Unaligned:
    """Piper as with a voice whose graph gives no phoneme durations (its word times estimated)."""

    def __enter__(self) -> None:
        from polyvox.builtins import piper

        self.piper, self.original = piper, piper.aligns_words
        piper.aligns_words = lambda: False  # the one switch: sessions, and the kept graph's variant

    def __exit__(self, *exc: object) -> None:
        self.piper.aligns_words = self.original


def _piper_errors(tmp: Path, aligned: bool = True) -> dict:
    if not aligned:
        with _Unaligned():
            return _piper_errors(tmp, True)
    kernel = polyvox.Kernel(cache_dir=tmp / f"words-piper-{time.perf_counter_ns()}")
    result = kernel.render(" [pause:0.8s] ".join(FRUIT), engine="piper",
                           params={"noise_scale": 0.0, "noise_w_scale": 0.0})
    out = _onset_errors(result)
    del out["errors"]
    return out


def _kokoro_errors(tmp: Path, aligned: bool = True) -> dict | None:
    """Kokoro's own durations (int8 model, its Japanese voices reading English) against the
    energy onsets, as for Piper; None without the kokoro plugin."""
    import importlib.util

    if importlib.util.find_spec("polyvox_kokoro") is None:
        return None
    from polyvox_kokoro import engine

    original = engine.aligns_words
    engine.aligns_words = (lambda: False) if not aligned else original
    try:
        errors: list[dict] = []
        for voice in ("jf_alpha", "jm_kumo"):
            kernel = polyvox.Kernel(cache_dir=tmp / f"words-kokoro-{time.perf_counter_ns()}", plugins=["kokoro"])
            errors.append(_onset_errors(kernel.render(" [pause:0.8s] ".join(FRUIT), engine="kokoro", voice=voice,
                                                      language="en-us")))
    finally:
        engine.aligns_words = original
    starts = [e for r in errors for e in r.pop("errors")]
    return {**_stats(starts), "source": errors[0]["source"]}


def _onset_errors(result: polyvox.RenderResult) -> dict:
    """`result`'s word starts (one word between pauses) against the energy onsets."""
    from polyvox.testing.measures import energy_onsets

    onsets = energy_onsets(result.audio.samples, result.audio.sample_rate, 0.5)
    assert len(onsets) == len(result.words) == len(FRUIT), (onsets, result.words)
    errors = [w.start - o for w, o in zip(result.words, onsets, strict=True)]
    return {**_stats(errors), "source": result.words[0].source, "errors": errors}


HEARD = ("The old lighthouse keeper climbed the stairs every evening, lit the lamp, and watched the ships.",
         "Look in the box, on the shelf, at the door, and under the bed.",
         "When the rain stopped, the children ran outside to play in the puddles near the river.",
         "She bought three apples, two pears and a basket of fresh strawberries at the market.",
         "It costs $42.50 on 3 March.",
         "Dr. Smith met 12 people in the garden yesterday afternoon.")


def _heard_errors(tmp: Path) -> dict:
    quiet = {"noise_scale": 0.0, "noise_w_scale": 0.0}
    truth = polyvox.Kernel(cache_dir=tmp / "words-heard-truth").render(" ".join(HEARD), engine="piper",
                                                                       params=quiet, normalize=True)
    with _Unaligned():
        kernel = polyvox.Kernel(cache_dir=tmp / "words-heard")
        heard = kernel.render(" ".join(HEARD), engine="piper", params=quiet, normalize=True, word_times="heard")
    assert {w.source for w in truth.words} == {"engine"} and {w.source for w in heard.words} == {"heard"}
    return _stats([h.start - t.start for h, t in zip(heard.words, truth.words, strict=True)])


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
            "piper_estimated": _piper_errors(tmp, False),
            "kokoro": _kokoro_errors(tmp), "kokoro_estimated": _kokoro_errors(tmp, False),
            "heard": _heard_errors(tmp),
            "cost_template": _cost(tmp, "template"), "cost_piper": _cost(tmp, "piper")}


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def rows(r: dict) -> list[tuple[str, str, str, str]]:
    t, p, e, h = r["template"], r["piper"], r["piper_estimated"], r["heard"]
    ct, cp = r["cost_template"], r["cost_piper"]
    return [
        (f"word start error, engine alignment (template engine, {t['words']} words through pauses and joins)",
         f"median {t['median_ms']:.1f} ms, p95 {t['p95_ms']:.1f} ms", "≤ 30 / 80 ms",
         _yes(t["median_ms"] <= 30 and t["p95_ms"] <= 80)),
        (f"word start error, engine alignment (Piper's phoneme durations, {p['words']} words between pauses, "
         "vs energy onsets)", f"median {p['median_ms']:.1f} ms, p95 {p['p95_ms']:.1f} ms", "≤ 30 / 80 ms",
         _yes(p["median_ms"] <= 30 and p["p95_ms"] <= 80)),
        (f"word start error, estimated from energy (Piper without its alignment, {e['words']} words between "
         "pauses, vs energy onsets)", f"median {e['median_ms']:.1f} ms, p95 {e['p95_ms']:.1f} ms", "≤ 30 / 80 ms",
         _yes(e["median_ms"] <= 30 and e["p95_ms"] <= 80)),
        *_kokoro_rows(r),
        (f"word start error, heard alignment (whisper tiny.en on Piper's audio, {h['words']} words of 6 "
         "sentences, vs Piper's own alignment)", f"median {h['median_ms']:.1f} ms, p95 {h['p95_ms']:.1f} ms",
         "≤ 60 / 150 ms", _yes(h["median_ms"] <= 60 and h["p95_ms"] <= 150)),
        ("cost of word times, warm 40-sentence render (template engine)",
         f"{ct['pct']:.1f} % ({ct['words_ms']:.1f} ms of {ct['render_ms']:.0f} ms)", "≤ 5 %", _yes(ct["pct"] <= 5)),
        ("cost of word times, warm 40-sentence render (Piper)",
         f"{cp['pct']:.1f} % ({cp['words_ms']:.1f} ms of {cp['render_ms']:.0f} ms)", "≤ 5 %", _yes(cp["pct"] <= 5)),
    ]


def _kokoro_rows(r: dict) -> list[tuple[str, str, str, str]]:
    k, e = r.get("kokoro"), r.get("kokoro_estimated")
    if not k or not e:
        return []
    return [
        (f"word start error, engine alignment (Kokoro's token durations, int8, jf_alpha and jm_kumo, {k['words']} "
         "words between pauses, vs energy onsets)", f"median {k['median_ms']:.1f} ms, p95 {k['p95_ms']:.1f} ms",
         "≤ 30 / 80 ms", _yes(k["median_ms"] <= 30 and k["p95_ms"] <= 80)),
        (f"word start error, estimated from energy (Kokoro without its durations, {e['words']} words between "
         "pauses, vs energy onsets)", f"median {e['median_ms']:.1f} ms, p95 {e['p95_ms']:.1f} ms", "≤ 30 / 80 ms",
         _yes(e["median_ms"] <= 30 and e["p95_ms"] <= 80)),
    ]
