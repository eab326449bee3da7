"""Text as people write it (docs/text.md, issue #35):

- does normalization make an engine say the right words? A held-out paragraph dense with
  numbers, dates, money, times and units, spoken by Piper with the kernel's normalization and
  without it (espeak-ng reading the figures itself), each sentence heard by the listener
  (whisper tiny.en); the word error rate is against the spoken form (the normalized text), both
  sides compared the way verify compares them (numbers as words). Goal: with ≤ without.
- what normalization costs per segment (benchmarks/normalize.py): goal ≤ 0.2 ms.
"""

from __future__ import annotations

from pathlib import Path

#: Held out: no test or table of the normalizer has these sentences.
PARAGRAPH = (
    "On 3 March 2025 the museum sold 1,250 tickets at $42.50 each.",
    "Dr. Lee arrived at 10:30 and paid €19.99 for 2.5 kg of pears.",
    "Prices rose by 12% between 1990 and 1995.",
    "The 3rd edition has 384 pages and weighs 1.2 kg.",
    "It was 21°C at noon and the wind blew at 40 km/h.",
    "Chapter IV ends on 14 July, when Louis XIV returns to St. Denis.",
)
QUIET = {"noise_scale": 0.0, "noise_w_scale": 0.0}


def measure(tmp: Path) -> dict:
    from normalize import measure as cost

    import polyvox
    from polyvox.listen.words import compare
    from polyvox.text.normalize import normalize

    kernel = polyvox.Kernel(cache_dir=tmp / "text-wer")
    spoken = [normalize(s, "en") for s in PARAGRAPH]
    out: dict = {}
    for label, normalized in (("with", True), ("without", False)):
        expected, heard = [], []
        for sentence, said in zip(PARAGRAPH, spoken, strict=True):
            result = kernel.render(sentence, engine="piper", params=QUIET, normalize=normalized)
            assert result.audio is not None
            heard.append(kernel.listen(result.audio, language="en").text)
            expected.append(said)
        out[label] = {"wer": compare(" ".join(expected), " ".join(heard), "en").wer, "heard": heard}
    per_segment = cost(500)
    out["cost_ms"] = max(ms for kinds in per_segment.values() for ms in kinds.values())
    out["sentences"] = len(PARAGRAPH)
    return out


def rows(r: dict) -> list[tuple[str, str, str, str]]:
    def yes(ok: bool) -> str:
        return "yes" if ok else "**no**"

    with_, without = r["with"]["wer"], r["without"]["wer"]
    return [
        (f"listener's word error rate on Piper's rendering of a held-out paragraph dense with numbers, dates "
         f"and money ({r['sentences']} sentences, whisper tiny.en), against the spoken form",
         f"{100 * with_:.1f} % with normalization, {100 * without:.1f} % without", "with ≤ without",
         yes(with_ <= without)),
        ("normalization cost per segment (the slowest of prose, a few numbers and a dense line; en, de)",
         f"{r['cost_ms']:.3f} ms", "≤ 0.2 ms", yes(r["cost_ms"] <= 0.2)),
    ]
