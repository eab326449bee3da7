"""What a text must hold for each of `Expander`'s passes to have anything to do.

A pass's own expression starts with a look-behind, which keeps the regular-expression engine
from skipping ahead to where a match could start: it tries every position of the text, and
forty such scans are most of what normalizing a line costs. Each gate here is a necessary
condition of its pass, written so the engine can skip (it starts with a character, a class or a
list of literal words): where it finds nothing the pass is not run. A gate may let through a text
its pass then leaves alone, never the other way round (tests/test_normalize_gates.py runs every
test text through the passes with and without the gates). A pass with no gate always runs.

Templates name the language's own lists: ``{months}``, ``{money}``, ``{units}``, ``{suffixes}``
and ``{abbreviations}`` (alternations of escaped words, as the passes use them).
"""

from __future__ import annotations

import re

_DASH = "[-–—−]"
_FRACTION = "/|[½⅓⅔¼¾⅛]"

#: pass (the name of its replacement method) -> the gate's template
GATES: dict[str, str] = {
    "_grouped": r"\d \d",
    "_url": r"(?i)://|www\.",
    "_email": "@",
    "_sharp": "#",
    "_hashtag": "#",
    "_abbreviation": "{abbreviations}",
    "_compare": "[<>]|!=",
    "_isbn": "ISBN",
    "_no_dash": ",[-–—]",
    "_feet": r"\d['′]",
    "_bare_decimal": r"\.\d",
    "_numeric_date": r"\d[/.-]\d",
    "_phone": r"\d[\s./-]\d|[+(]\d",
    "_iso_moment": r"\d-\d\d[T ]\d",
    "_iso_date": r"\d-\d\d-\d",
    "_dotted_day": r"\d\.\d",
    "_seconds": r"\d:\d\d:\d",
    "_range_of": _DASH,
    "_day_month": "{months}",
    "_dotted": r"\d\.\d+\.\d",
    "_month_day": "{months}",
    "_score": r"\d:\d",
    "_time": r"\d[:.]\d",
    "_hour": r"(?i)\d\s?[ap]\.?m",
    "_heures": r"\d\s?h",
    "_decade": "0s",
    "_year": r"\d\d\d\d",
    "_minus": "[-−]",
    "_money_before": "{money}",
    "_money_after": "{money}",
    "_percent": "%",
    "_scaled": r"\d(?:M|B|bn|mn)",
    "_times": r"\dx",
    "_mixed": _FRACTION,
    "_fraction": _FRACTION,
    "_unit": r"\d\s?(?:{units})",
    "_power": "[⁰¹²³⁴⁵⁶⁷⁸⁹]",
    "_range": rf"\d\s?{_DASH}\s?\d",
    "_ordinal": r"\d(?:{suffixes})",
    "_roman_cardinal": r"(?i)\s[IVXLCDM]+\b",
    "_roman_ordinal": r"[IVXLC](?:er|re|e|ème)\b",
    "_regnal": r"\s[IVX]",
    "_early_year": r"10[1-9]\d",
    "_negative": rf"{_DASH}\d",
    "_number": r"\d",
}


def gate(name: str, lists: dict[str, str]) -> re.Pattern[str] | None:
    """The compiled gate of the pass `name` with the language's `lists` filled in; None for a
    pass without one."""
    template = GATES.get(name)
    if template is None:
        return None
    for key, alternation in lists.items():
        template = template.replace("{" + key + "}", alternation)
    return re.compile(template)
