"""Listening (`render --verify`): is hearing overlapped with synthesis, and does the kernel's
listener hear as well as whisper run directly?

- wall time of a 60-segment Piper render with --verify, against the same render without it and
  against the listener alone on the same 60 takes (goal: at most 1.1 × the larger of the two:
  overlapped, not added);
- the word error rate of the listener through the kernel (segment by segment, as --verify hears)
  on Piper's rendering of a held-out chapter, against faster-whisper run directly on the same
  audio files (goal: within 0.5 point).

Every render synthesizes every segment (the cache is not read); the listener's and Piper's models
are loaded first, so load times are in none of the figures. Beside each wall time, the CPU time
this process used (every thread): on a machine with no core to spare, running the two side by
side cannot take less wall time than their CPU time over the cores, whatever the overlap.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from texts import QUIET, SENTENCES, script  # noqa: F401 - the benchmarks' texts (texts.py)

#: Held out: not a sentence any test or tuning used.
CHAPTER = [
    "When the ferry finally reached the island, the harbour was empty and the cafes were closed.",
    "Martha carried her suitcase up the steep street, counting the blue doors as she went.",
    "At number twelve an old woman was sweeping the step, and she stopped to watch her pass.",
    "The key was under the third flowerpot, exactly where her brother had said it would be.",
    "Inside, the house smelled of salt and dust, and every clock had stopped at a different hour.",
    "She opened the shutters one by one until the afternoon light reached the back of the kitchen.",
    "On the table lay a map of the coast with seven small crosses drawn in pencil.",
    "Nobody had told her about the map, and nobody had told her about the crosses.",
]



def measure(tmp: Path) -> dict:
    import polyvox
    from polyvox.listen.words import compare

    kernel = polyvox.Kernel(cache_dir=tmp / "listen-warm")
    kernel.synthesize("warm up", **QUIET)
    kernel.listen(kernel.synthesize("warm up the listener", **QUIET))
    text = script(60)

    cpu: dict[str, float] = {}

    def timed(name: str, fn):  # wall seconds; the process's CPU seconds go into `cpu`
        start, used = time.perf_counter(), time.process_time()
        out = fn()
        cpu[name] = time.process_time() - used
        return time.perf_counter() - start, out

    def render(verify: object = None, on_event: object = None) -> polyvox.RenderResult:
        # use_cache=False: every segment made (and heard) again
        return kernel.render(text, params=QUIET, verify=verify, use_cache=False, on_event=on_event)

    load_before = os.getloadavg()[0]
    plain_s, plain = timed("plain", render)
    assert plain.audio is not None
    takes = [polyvox.Audio(plain.audio.samples[round(s.start * plain.audio.sample_rate):
                                              round((s.start + s.duration) * plain.audio.sample_rate)],
                           plain.audio.sample_rate) for s in plain.segments if s.engine]
    listen_s, _ = timed("listen", lambda: [kernel.listen(take) for take in takes])
    synth, hear = _busy(kernel)
    verify_s, verified = timed("verify", lambda: render(polyvox.VerifyOptions(retakes=0), synth))
    overlap = _overlap(synth.intervals(), hear.intervals())
    assert verified.verification is not None and verified.verification.heard == 60
    load_after = os.getloadavg()[0]
    # the held-out chapter: kernel (per segment, resampled by the kernel) vs faster-whisper directly
    from faster_whisper import WhisperModel
    from polyvox_whisper import bundled_folder, cpu_threads

    direct = WhisperModel(str(bundled_folder()), device="cpu", compute_type="int8")
    kernel_words, direct_words, expected = [], [], []
    for sentence in CHAPTER:
        audio = kernel.synthesize(sentence, **QUIET)
        kernel_words.append(kernel.listen(audio).text)
        segments, _ = direct.transcribe(audio.resample(16000).samples, language="en")
        direct_words.append(" ".join(s.text for s in segments))
        expected.append(sentence)
    through_kernel = compare(" ".join(expected), " ".join(kernel_words)).wer
    whisper_direct = compare(" ".join(expected), " ".join(direct_words)).wer
    return {"plain_s": plain_s, "listen_s": listen_s, "verify_s": verify_s,
            "ratio": verify_s / max(plain_s, listen_s), "added_s": verify_s - plain_s,
            "of_sum": verify_s / (plain_s + listen_s), "cpu": cpu, "cores": len(os.sched_getaffinity(0)),
            "whisper_threads": cpu_threads(), "load": (load_before, load_after), "overlap": overlap,
            "kernel_wer": through_kernel, "direct_wer": whisper_direct,
            "wer_points": 100 * (through_kernel - whisper_direct), "audio_s": plain.stats.audio_seconds}


class _Spans:
    """Busy spans (perf_counter start, end) of one side of the pipeline."""

    def __init__(self) -> None:
        self.open: dict[int, float] = {}
        self.spans: list[tuple[float, float]] = []

    def __call__(self, event: object) -> None:  # the render's events: a segment's synthesis
        kind = type(event).__name__
        if kind == "SegmentStarted":
            self.open[event.index] = time.perf_counter()  # type: ignore[attr-defined]
        elif kind == "SegmentFinished" and event.index in self.open:  # type: ignore[attr-defined]
            self.spans.append((self.open.pop(event.index), time.perf_counter()))  # type: ignore[attr-defined]

    def intervals(self) -> list[tuple[float, float]]:
        merged: list[tuple[float, float]] = []
        for a, b in sorted(self.spans):
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        return merged


def _busy(kernel) -> tuple[_Spans, _Spans]:
    """Spans of synthesis (from the render's events) and of hearing (the kernel's listener calls)."""
    synth, hear = _Spans(), _Spans()
    inner = kernel.hearing.hear_with

    def timed_hear(*args, **kwargs):
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            hear.spans.append((start, time.perf_counter()))

    kernel.hearing.hear_with = timed_hear
    return synth, hear


def _overlap(synth: list[tuple[float, float]], hear: list[tuple[float, float]]) -> float:
    """The share of the listener's busy time during which the engine was synthesizing too."""
    both = sum(max(0.0, min(b, d) - max(a, c)) for a, b in synth for c, d in hear)
    return both / max(1e-9, sum(d - c for c, d in hear))


def rows(r: dict) -> list[tuple[str, str, str, str]]:
    def yes(ok: bool) -> str:
        return "yes" if ok else "**no**"

    return [
        ("60-segment Piper render with --verify (whisper:tiny.en) vs the larger of the render alone and the "
         "listener alone on the same takes",
         f"{r['ratio']:.2f}× ({r['verify_s']:.1f} s; render alone {r['plain_s']:.1f} s, listener alone "
         f"{r['listen_s']:.1f} s, for {r['audio_s']:.0f} s of audio)", "≤ 1.1×", yes(r["ratio"] <= 1.1)),
        ("word error rate on Piper's rendering of a held-out chapter (8 sentences): the listener through the "
         "kernel vs faster-whisper run directly on the same audio",
         f"{r['wer_points']:+.1f} points ({100 * r['kernel_wer']:.1f} % vs {100 * r['direct_wer']:.1f} %)",
         "within 0.5 point", yes(abs(r["wer_points"]) <= 0.5)),
        ("the same --verify render vs the render alone plus the listener alone (below 1.0×: hearing ran "
         "beside synthesis; CPU time of this process, all threads)",
         f"{r['of_sum']:.2f}× ({r['verify_s']:.1f} s vs {r['plain_s'] + r['listen_s']:.1f} s; CPU "
         f"{r['cpu']['verify']:.0f} s vs {r['cpu']['plain']:.0f} + {r['cpu']['listen']:.0f} s on {r['cores']} "
         f"cores, whisper on {r['whisper_threads']} thread(s); load average {r['load'][0]:.1f} before, "
         f"{r['load'][1]:.1f} after)", "—", "—"),
        ("share of the listener's busy time in that render during which the engine was synthesizing",
         f"{100 * r['overlap']:.0f} %", "—", "—"),
    ]
