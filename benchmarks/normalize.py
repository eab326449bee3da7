"""What text normalization costs per segment (issue #35: at most 0.2 ms for ordinary text).

Three kinds of segment per language: prose with nothing to normalize, a line with a few
numbers, and a line dense with money, dates and times. Median of many runs, after the
language's rules are compiled once. Run alone: ``python benchmarks/normalize.py``.
"""

from __future__ import annotations

import statistics
import time

from polyvox.text.normalize import Normalizers

LINES = {
    "en": ("The quick brown fox jumps over the lazy dog, and then it rests under a tree.",
           "Chapter 3 has 12 pages and 4 pictures.",
           "It cost $42.50 on 3 March 2025 at 10:30, about 25% more than in 1999."),
    "de": ("Der schnelle braune Fuchs springt über den faulen Hund und ruht dann unter einem Baum.",
           "Kapitel 3 hat 12 Seiten und 4 Bilder.",
           "Am 3. März 2025 um 10:30 kostete es 42,50 €, etwa 25 % mehr als 1999."),
}


def measure(runs: int = 2000) -> dict[str, dict[str, float]]:
    normalizers = Normalizers()
    out: dict[str, dict[str, float]] = {}
    for language, lines in LINES.items():
        out[language] = {}
        for kind, line in zip(("prose", "few numbers", "dense"), lines, strict=True):
            normalizers(line, language)
            times = []
            for _ in range(5):
                start = time.perf_counter()
                for _ in range(runs):
                    normalizers(line, language)
                times.append((time.perf_counter() - start) / runs * 1000)
            out[language][kind] = statistics.median(times)
    return out


if __name__ == "__main__":
    for language, kinds in measure().items():
        for kind, ms in kinds.items():
            print(f"{language} {kind:12} {ms:.3f} ms per segment")
