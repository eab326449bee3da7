"""Numbers in words, through num2words, per language; cached (texts repeat their numbers)."""

from __future__ import annotations

from functools import lru_cache

from polyvox.text.normalize.rules import Rules


@lru_cache(maxsize=4096)
def _words(value: int, language: str, to: str) -> str:
    from num2words import num2words

    try:
        out = num2words(value, lang=language, to=to)
    except (NotImplementedError, OverflowError, TypeError, ValueError):
        if to == "cardinal":
            return " ".join(str(value))  # a language num2words lacks: the digits one by one
        out = num2words(value, lang=language) if to != "year" else _words(value, language, "cardinal")
    return out.replace(", ", " ")


def cardinal(value: int, rules: Rules) -> str:
    if value < 0:
        return f"{rules.word('minus')} {_words(-value, rules.numbers, 'cardinal')}"
    return _words(value, rules.numbers, "cardinal")


def ordinal(value: int, rules: Rules, feminine: bool = False) -> str:
    out = _words(value, rules.numbers, "ordinal")
    if feminine and rules.language in ("es", "pt", "it") and out.endswith("o"):
        out = " ".join(w[:-1] + "a" if w.endswith("o") else w for w in out.split(" "))
    if feminine and rules.language == "fr" and out.endswith("premier"):  # la 1re fois: la première
        out = out[:-7] + "première"
    return out


def year(value: int, rules: Rules) -> str:
    return _words(value, rules.numbers, "year" if rules.years else "cardinal")


def digits(text: str, rules: Rules) -> str:
    """Each digit in words: "0 5" -> "zero five"."""
    return " ".join(_words(int(d), rules.numbers, "cardinal") for d in text if d.isdigit())


def decimal(whole: str, fraction: str, rules: Rules, negative: bool = False) -> str:
    """A number written with a decimal part: the whole part, "point", then the digits."""
    out = cardinal(int(whole or "0"), rules)
    if fraction and rules.decimals_whole and len(fraction) <= 2 and fraction[0] != "0":
        out = f"{out} {rules.word('point')} {cardinal(int(fraction), rules)}"
    elif fraction:
        out = f"{out} {rules.word('point')} {digits(fraction, rules)}"
    return f"{rules.word('minus')} {out}" if negative else out
