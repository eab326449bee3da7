"""Listening (`render --verify`): is hearing overlapped with synthesis, and does the kernel's
listener hear as well as whisper run directly?

- wall time of a 60-segment Piper render with --verify, against the same render without it and
  against the listener alone on the same 60 takes (goal: at most 1.1 × the larger of the two:
  overlapped, not added);
- the word error rate of the listener through the kernel (segment by segment, as --verify hears)
  on Piper's rendering of a held-out chapter, against faster-whisper run directly on the same
  audio files (goal: within 0.5 point).

Every render synthesizes every segment (the cache is not read); the listener's and Piper's models
are loaded first, so load times are in none of the figures.
"""

from __future__ import annotations

import time
from pathlib import Path

QUIET = {"noise_scale": 0.0, "noise_w_scale": 0.0}
SENTENCES = [
    "The lighthouse keeper counted the ships as they passed.",
    "Rain had fallen all night, and the roads were soft with mud.",
    "She opened the letter slowly, afraid of what it might say.",
    "Nobody in the village remembered a winter quite like this one.",
    "He laughed, then looked away, as if the joke had been on him.",
]
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


def _script(n: int) -> str:
    return "\n".join(f"{SENTENCES[i % len(SENTENCES)]} Line {i}." for i in range(n))


def measure(tmp: Path) -> dict:
    import polyvox
    from polyvox.listen.words import compare

    kernel = polyvox.Kernel(cache_dir=tmp / "listen-warm")
    kernel.synthesize("warm up", **QUIET)
    kernel.listen(kernel.synthesize("warm up the listener", **QUIET))
    text = _script(60)

    def render(verify: object = None) -> tuple[float, polyvox.RenderResult]:
        start = time.perf_counter()  # use_cache=False: every segment made (and heard) again
        result = kernel.render(text, params=QUIET, verify=verify, use_cache=False)
        return time.perf_counter() - start, result

    plain_s, plain = render()
    assert plain.audio is not None
    takes = [polyvox.Audio(plain.audio.samples[round(s.start * plain.audio.sample_rate):
                                              round((s.start + s.duration) * plain.audio.sample_rate)],
                           plain.audio.sample_rate) for s in plain.segments if s.engine]
    start = time.perf_counter()
    for take in takes:
        kernel.listen(take)
    listen_s = time.perf_counter() - start
    verify_s, verified = render(polyvox.VerifyOptions(retakes=0))
    assert verified.verification is not None and verified.verification.heard == 60

    # the held-out chapter: kernel (per segment, resampled by the kernel) vs faster-whisper directly
    from faster_whisper import WhisperModel
    from polyvox_whisper import bundled_folder

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
            "kernel_wer": through_kernel, "direct_wer": whisper_direct,
            "wer_points": 100 * (through_kernel - whisper_direct), "audio_s": plain.stats.audio_seconds}


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
    ]
