"""Words as a verdict compares them: case, punctuation and hyphens ignored, numbers spelled out
(``42`` and ``forty-two`` are the same two words), and the word error rate between two texts."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import attrs

_NUMBER = re.compile(r"^(\d+(?:[.,]\d+)*)(st|nd|rd|th)?$")
_TOKEN = re.compile(r"[\w'’.,]+")
#: A number a listener wrote in two pieces ("42 .50", "3 :30").
_SPLIT_NUMBER = re.compile(r"(\d)\s+([.,:])(\d)")
#: A clock time a listener wrote without its colon, before am or pm: 930 PM.
_RUN_TIME = re.compile(r"\b(1[0-2]|[1-9])([0-5]\d)\s*([AaPp]\.?\s?[Mm]\b\.?)")


def normalize(text: str, language: str | None = None) -> list[str]:
    """`text` as lower-case words without punctuation: first read as polyvox reads a script in
    `language` (money, years, times, percentages, ordinals and abbreviations in words, so a
    listener's "$42.50" is the engine's "forty-two dollars and fifty cents"), then any digits
    left spelled (English when num2words does not know the language)."""
    from polyvox.text.normalize import normalize as spell_out

    text = _SPLIT_NUMBER.sub(r"\1\2\3", unicodedata.normalize("NFKC", text))  # a listener's "$42 .50"
    text = _RUN_TIME.sub(r"\1:\2 \3", text)  # a listener's "930 PM" for 9:30 pm
    text = spell_out(text, language or "en")
    text = text.lower().replace("-", " ").replace("–", " ")
    words: list[str] = []
    for token in _TOKEN.findall(text):
        token = token.strip(".,'’")
        if not token:
            continue
        match = _NUMBER.match(token)
        if match and any(c.isdigit() for c in token):
            words += _spell(match.group(1), bool(match.group(2)), language)
            continue
        token = re.sub(r"[.,'’]", "", token)
        if token:
            words.append(token)
    return words


def _spell(number: str, ordinal: bool, language: str | None) -> list[str]:
    from num2words import num2words

    digits = number.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", number) else number.replace(",", ".")
    value: float | int = float(digits) if "." in digits else int(digits)
    lang = (language or "en").split("-")[0]
    try:
        spelled = num2words(value, lang=lang, to="ordinal" if ordinal else "cardinal")
    except (NotImplementedError, OverflowError, ValueError):
        spelled = num2words(value, lang="en", to="ordinal" if ordinal else "cardinal")
    return re.sub(r"[^\w\s]", " ", spelled.lower().replace("-", " ")).split()


def _compounds(ref: list[str], hyp: list[str]) -> list[str]:
    return [word for word, _ in compounds(ref, [(w, None) for w in hyp])]


def compounds(ref: list[str], hyp: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """`hyp` (word, anything: its times) with compounds written the way `ref` writes them:
    "seashells" heard for "sea shells" is split, "sea shells" heard for "seashells" joined (a
    listener's spelling, not a wrong word)."""
    pairs = {a + b: (a, b) for a, b in zip(ref, ref[1:], strict=False)}
    known = set(ref)
    split: list[tuple[str, Any]] = []
    for word, extra in hyp:
        split += [(part, extra) for part in pairs[word]] if word in pairs and word not in known else [(word, extra)]
    joined: list[tuple[str, Any]] = []
    i = 0
    while i < len(split):
        if i + 1 < len(split) and split[i][0] + split[i + 1][0] in known and split[i][0] not in known:
            joined.append((split[i][0] + split[i + 1][0], split[i][1]))
            i += 2
        else:
            joined.append(split[i])
            i += 1
    return joined


@attrs.frozen
class Comparison:
    """Expected words against heard words: the word error rate and what differs."""

    expected: tuple[str, ...]
    heard: tuple[str, ...]
    wer: float
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0


def compare(expected: str, heard: str, language: str | None = None) -> Comparison:
    """Word error rate of `heard` against `expected` (substitutions, deletions and insertions
    over the expected words), both normalized the same way."""
    ref, hyp = normalize(expected, language), normalize(heard, language)
    if not ref:
        return Comparison((), tuple(hyp), 0.0 if not hyp else 1.0, (), tuple(hyp), insertions=len(hyp))
    if not hyp:
        return Comparison(tuple(ref), (), 1.0, tuple(ref), (), deletions=len(ref))
    hyp = _compounds(ref, hyp)
    import jiwer

    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    missing, extra = [], []
    for chunk in out.alignments[0]:
        if chunk.type in ("delete", "substitute"):
            missing += ref[chunk.ref_start_idx:chunk.ref_end_idx]
        if chunk.type in ("insert", "substitute"):
            extra += hyp[chunk.hyp_start_idx:chunk.hyp_end_idx]
    return Comparison(tuple(ref), tuple(hyp), float(out.wer), tuple(missing), tuple(extra),
                      out.substitutions, out.deletions, out.insertions)


#: A dropped or repeated word weighs this many misheard ones: homophones ("pears" heard as
#: "pairs") are the listener's mistakes, skips and repeats the engine's.
SKIP_WEIGHT = 4


def word_errors(words: int, substitutions: int, deletions: int, insertions: int) -> float:
    """The weighted error rate a verdict holds against `max_wer`."""
    if not words:
        return 0.0 if not insertions else 1.0
    return (substitutions + SKIP_WEIGHT * (deletions + insertions)) / words
