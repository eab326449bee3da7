"""Which writing system a text is in, and which languages are written in it.

An engine given text in a script its language does not use reads it letter by letter ("Hebrew
letter shin, Hebrew letter lamed...") or not at all. The kernel refuses such a segment, or,
where nobody named a language, speaks it in a language written in that script that an
installed engine speaks (`polyvox.render.planner`).

A text's script is the script of most of its letters (Unicode letters only: digits,
punctuation, symbols and marks do not count), so a few foreign words in a text change
nothing, and a text with no letters (``2024``, ``...``) has no script. Scripts are Unicode's
names (Latin, Hebrew, Arabic, Cyrillic, Greek, Han, Hiragana, ...), read from the character
names `unicodedata` has; a letter of a script not listed here (or a mathematical or
letter-like symbol such as ℓ) does not count.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter

#: The first word(s) of a letter's Unicode name -> its script.
_NAME_SCRIPTS = {
    "LATIN": "Latin", "GREEK": "Greek", "COPTIC": "Coptic", "CYRILLIC": "Cyrillic", "ARMENIAN": "Armenian",
    "HEBREW": "Hebrew", "ARABIC": "Arabic", "SYRIAC": "Syriac", "THAANA": "Thaana", "NKO": "Nko",
    "DEVANAGARI": "Devanagari", "BENGALI": "Bengali", "GURMUKHI": "Gurmukhi", "GUJARATI": "Gujarati",
    "ORIYA": "Oriya", "TAMIL": "Tamil", "TELUGU": "Telugu", "KANNADA": "Kannada", "MALAYALAM": "Malayalam",
    "SINHALA": "Sinhala", "THAI": "Thai", "LAO": "Lao", "TIBETAN": "Tibetan", "MYANMAR": "Myanmar",
    "GEORGIAN": "Georgian", "HANGUL": "Hangul", "ETHIOPIC": "Ethiopic", "CHEROKEE": "Cherokee",
    "CANADIAN": "Canadian Aboriginal", "KHMER": "Khmer", "MONGOLIAN": "Mongolian", "HIRAGANA": "Hiragana",
    "KATAKANA": "Katakana", "BOPOMOFO": "Bopomofo", "CJK": "Han", "TIFINAGH": "Tifinagh", "VAI": "Vai",
}

#: Language (base tag) -> the scripts it is written in; every language not listed: Latin.
_LANGUAGE_SCRIPTS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("ar", "fa", "ur", "ps", "ug", "sd", "ku"), ("Arabic",)),
    **dict.fromkeys(("he", "yi"), ("Hebrew",)),
    **dict.fromkeys(("ru", "uk", "bg", "be", "mk", "kk", "ky", "tg", "tt", "ba", "cv", "mn"), ("Cyrillic",)),
    **dict.fromkeys(("sr", "bs", "uz", "az"), ("Latin", "Cyrillic")),
    "el": ("Greek",),
    **dict.fromkeys(("hi", "mr", "ne", "sa", "mai", "bho"), ("Devanagari",)),
    **dict.fromkeys(("bn", "as"), ("Bengali",)),
    "pa": ("Gurmukhi",), "gu": ("Gujarati",), "or": ("Oriya",), "ta": ("Tamil",), "te": ("Telugu",),
    "kn": ("Kannada",), "ml": ("Malayalam",), "si": ("Sinhala",), "th": ("Thai",), "lo": ("Lao",),
    "bo": ("Tibetan",), "dz": ("Tibetan",), "my": ("Myanmar",), "ka": ("Georgian",), "hy": ("Armenian",),
    **dict.fromkeys(("am", "ti"), ("Ethiopic",)),
    "km": ("Khmer",), "dv": ("Thaana",), "chr": ("Cherokee",), "iu": ("Canadian Aboriginal", "Latin"),
    **dict.fromkeys(("zh", "yue", "wuu", "cmn"), ("Han", "Bopomofo")),
    "ja": ("Han", "Hiragana", "Katakana"),
    "ko": ("Hangul", "Han"),
}

#: Everything in ASCII text that is not a letter.
_NOT_ASCII_LETTERS = re.compile("[^A-Za-z]+")


@functools.lru_cache(maxsize=4096)
def script_of(char: str) -> str | None:
    """The script of one letter (``"ש"`` -> ``"Hebrew"``); None for anything that is no letter
    of a listed script (a digit, a space, ``"ℓ"``)."""
    if not unicodedata.category(char).startswith("L"):
        return None
    words = unicodedata.name(char, "").split()
    if words[:1] in (["FULLWIDTH"], ["HALFWIDTH"]):
        words = words[1:]
    return _NAME_SCRIPTS.get(words[0]) if words else None


def script_counts(text: str) -> Counter[str]:
    """How many letters of each script `text` has."""
    if text.isascii():  # the common case: no look-up per character
        letters = len(_NOT_ASCII_LETTERS.sub("", text))
        return Counter({"Latin": letters} if letters else {})
    return Counter(s for s in map(script_of, text) if s is not None)


@functools.lru_cache(maxsize=4096)  # the planner asks for each segment's more than once
def main_script(text: str) -> str | None:
    """The script most of the letters of `text` are in; None when it has no letters, or when two
    scripts have as many letters each. Japanese writes kanji (Han) among its kana: where kana
    are, Han letters count with them (今日は良い天気ですね is Japanese, not a tie)."""
    counts = script_counts(text)
    kana = [k for k in ("Hiragana", "Katakana") if counts.get(k)]
    if kana and counts.get("Han"):
        counts[max(kana, key=lambda k: counts[k])] += counts.pop("Han")
    ranked = counts.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def written_in(language: str) -> tuple[str, ...]:
    """The scripts `language` (a tag such as ``he`` or ``pt-br``) is written in."""
    return _LANGUAGE_SCRIPTS.get(language.lower().split("-")[0], ("Latin",))


def writes(language: str, script: str | None) -> bool:
    """Whether text in `script` can be spoken in `language` (text with no script always can)."""
    return script is None or script in written_in(language)
