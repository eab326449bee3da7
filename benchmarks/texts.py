"""The texts every benchmark speaks, and Piper's parameters for repeatable audio: one copy, so
rows of different sections measure the same sentences."""

from __future__ import annotations

#: Piper without its noise: the same text gives the same audio on every run.
QUIET = {"noise_scale": 0.0, "noise_w_scale": 0.0}
SENTENCES = [
    "The lighthouse keeper counted the ships as they passed.",
    "Rain had fallen all night, and the roads were soft with mud.",
    "She opened the letter slowly, afraid of what it might say.",
    "Nobody in the village remembered a winter quite like this one.",
    "He laughed, then looked away, as if the joke had been on him.",
]


def script(n: int, offset: int = 0) -> str:
    """`n` lines of the sentences in turn, each made unique by its number."""
    return "\n".join(f"{SENTENCES[i % len(SENTENCES)]} Line {i + offset}." for i in range(n))
