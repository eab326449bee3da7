"""Figures read as words, the passes `Expander` takes from `Figures`: roman numerals (rulers,
chapters, French "XXIe"), fractions and mixed numbers (1 1/2 cups, 3/4 tsp)."""

from __future__ import annotations

import re
from collections.abc import Callable

from polyvox.text.normalize import numbers as n
from polyvox.text.normalize.rulers import RULERS
from polyvox.text.normalize.rules import Rules

_ROMAN = re.compile(r"M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
#: The fraction characters and what they are.
FRACTIONS = {"½": (1, 2), "⅓": (1, 3), "⅔": (2, 3), "¼": (1, 4), "¾": (3, 4), "⅛": (1, 8)}


def roman(text: str) -> int | None:
    if not text or not _ROMAN.fullmatch(text):
        return None
    values = [_ROMAN_VALUES[c] for c in text]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


class Figures:
    """The roman numeral and fraction passes; the class that mixes them in sets `rules` and
    `number` (a written number in words)."""

    rules: Rules
    number: Callable[..., str]
    _before_noun: Callable[[str], str]

    def _roman_ordinal(self, m: re.Match[str]) -> str:
        """French XXIe, Ier, IIe: a roman numeral with an ordinal's ending (le XXIe siècle)."""
        value = roman(m.group(1))
        return n.ordinal(value, self.rules, m.group(2) == "re") if value else m.group()

    def _roman_cardinal(self, m: re.Match[str]) -> str:
        value = roman(m.group(2).upper()) if m.group(2).isupper() else None
        return f"{m.group(1)} {n.cardinal(value, self.rules)}" if value else m.group()

    def _regnal(self, m: re.Match[str]) -> str:
        """Louis XIV: a ruler's ordinal (`rulers.RULERS`); Rocky II: a number; Malcolm X: as written.
        A period after the numeral is the ordinal's where the language writes one (German), and goes."""
        value = roman(m.group(2))
        if not value or m.group(1).lower() in {w.lower() for w in self.rules.roman_cardinal_after}:
            return m.group()
        period = "." if m.group(3) and self.rules.ordinal_suffixes != (".",) else ""
        if m.group(1) not in RULERS:
            return m.group() if len(m.group(2)) == 1 else f"{m.group(1)} {n.cardinal(value, self.rules)}{period}"
        cardinal_from = self.rules.regnal_cardinal_from
        template = "{cardinal}" if cardinal_from is not None and value >= cardinal_from else self.rules.regnal
        spoken = template.format(ordinal=n.ordinal(value, self.rules), cardinal=n.cardinal(value, self.rules))
        return f"{m.group(1)} {spoken}{period}"

    def _fraction(self, m: re.Match[str]) -> str:
        top, bottom = FRACTIONS[m.group(4)] if m.group(4) else (int(m.group(1)), int(m.group(2)))
        r, unit = self.rules, m.group(3) or m.group(5)
        if bottom == 0:
            return m.group()
        if r.language == "en" and top == bottom == 50 and not unit:
            return " fifty-fifty "
        if unit == "mmHg":  # 120/80 mmHg: a blood pressure, one over the other
            return f" {n.cardinal(top, r)} {r.word('over')} {n.cardinal(bottom, r)} {r.units[unit][1]} "
        if unit:  # 3/4 tsp: three quarters of a teaspoon
            one, many = r.units[unit]
            joined = f" {r.word('of')} a " if r.language == "en" and top < bottom else " "
            return self._fraction_words(top, bottom).rstrip() + joined + (one if top < bottom else many) + " "
        return self._fraction_words(top, bottom)

    def _fraction_words(self, top: int, bottom: int) -> str:
        r = self.rules
        if r.language == "en":
            name = {2: ("half", "halves"), 4: ("quarter", "quarters")}.get(bottom)
            if name is None:
                name = (n.ordinal(bottom, r), n.ordinal(bottom, r) + "s")
            return f" {n.cardinal(top, r)} {name[0] if top == 1 else name[1]} "
        named = _fraction_name(top, bottom, r)
        if named:
            return f" {named} "
        return f" {n.cardinal(top, r)} {r.word('over')} {n.cardinal(bottom, r)} "

    def _mixed(self, m: re.Match[str]) -> str:
        """1 1/2 cups, 2½: a whole number and a fraction (only a proper one: 3 4/2 stays)."""
        top, bottom = FRACTIONS[m.group(4)] if m.group(4) else (int(m.group(2)), int(m.group(3)))
        if not 0 < top < bottom:
            return m.group()
        whole, unit = self.number(m.group(1)), (f" {self.rules.units[m.group(5)][1]}" if m.group(5) else "")
        if self.rules.language == "de" and top == 1 and bottom == 2:  # 2½ Tassen: zweieinhalb
            return f"{self._before_noun(whole)}einhalb{unit}"
        if self.rules.language == "en" and top == 1 and bottom in (2, 3, 4):
            return f"{whole} and a {({2: 'half', 3: 'third', 4: 'quarter'})[bottom]}{unit}"
        return f"{whole} {self.rules.word('and')}{self._fraction_words(top, bottom).rstrip()}{unit}"


#: Denominators with a name of their own (one, many), per language; the rest are ordinals.
_DENOMINATORS = {
    "de": {2: ("halb", "halbe")},
    "fr": {2: ("demi", "demis"), 3: ("tiers", "tiers"), 4: ("quart", "quarts")},
    "es": {2: ("medio", "medios"), 3: ("tercio", "tercios")},
    "it": {2: ("mezzo", "mezzi"), 3: ("terzo", "terzi")},
    "pt": {2: ("meio", "meios"), 3: ("terço", "terços")},
}


def _fraction_name(top: int, bottom: int, r: Rules) -> str | None:
    """3/4 as German, French, Spanish, Italian and Portuguese say it ("drei Viertel", "trois
    quarts", "tres cuartos"); None for a language not here (it reads "3 over 4")."""
    language = r.language
    if language not in _DENOMINATORS or bottom < 2:
        return None
    one, many = _DENOMINATORS[language].get(bottom) or _denominator(bottom, r)
    count = r.word("one") if top == 1 else n.cardinal(top, r)  # ein Viertel, un quart
    return f"{count} {one if top == 1 else many}"


def _denominator(bottom: int, r: Rules) -> tuple[str, str]:
    ordinal = n.ordinal(bottom, r)
    if r.language == "de":  # vierte: Viertel, zwanzigste: Zwanzigstel
        name = ordinal[:-1].capitalize() + "el" if ordinal.endswith("e") else ordinal
        return name, name
    if r.language in ("es", "pt") and bottom > 10:  # onceavo, doze avos
        name = n.cardinal(bottom, r) + ("avo" if r.language == "es" else " avo")
        return name, name + "s"
    if r.language == "it":  # quarto, quarti
        return ordinal, ordinal[:-1] + "i"
    return ordinal, ordinal + "s"
