"""Quantities read as words, the passes `Expander` takes from `Quantities`: money before and
after its amount ($5, 42,50 €, $0.50, $5M), percentages, units (3 km, 1 1/2 cups' cups),
scales (1.5M people) and multiples (2.5x)."""

from __future__ import annotations

import re
from collections.abc import Callable

from polyvox.text.normalize import numbers as n
from polyvox.text.normalize.rules import Rules


class Quantities:
    """The money, percent, unit and scale passes; the class that mixes them in sets `rules`,
    `number` (a written number in words), `value` (its digits) and `_is_one`."""

    rules: Rules
    number: Callable[..., str]
    value: Callable[[str], tuple[str, str]]
    _is_one: Callable[[str], bool]

    def _money(self, symbol: str, written: str, scale: str | None = None) -> str:
        one, many, cent, cents = self.rules.currencies[symbol]
        if scale:  # $1.5 million: one point five million dollars
            return f"{self.number(written)} {scale} {many}"
        whole, fraction = self.value(written)
        if not whole.strip("0") and fraction and len(fraction) <= 2 and int(fraction):  # $0.50: fifty cents
            hundredths = int(fraction.ljust(2, "0"))
            return f"{n.cardinal(hundredths, self.rules)} {cent if hundredths == 1 else cents}"
        count = self._counted(whole)
        out = f"{count} {one if whole.lstrip('0') == '1' else many}"
        if fraction and len(fraction) <= 2 and int(fraction):
            hundredths = int(fraction.ljust(2, "0"))
            name = cent if hundredths == 1 else cents
            out += f" {self.rules.word('and')} {n.cardinal(hundredths, self.rules)} {name}"
        elif fraction and int(fraction):
            out = f"{self.number(written)} {many}"
        return out


    def _money_before(self, m: re.Match[str]) -> str:
        scale = m.group(3)
        if m.group(4) and len(self.rules.scales) >= 3:  # $5M, £2bn: the scale in a letter
            scale = self.rules.scales[{"k": 0, "m": 1, "mn": 1, "b": 2, "bn": 2}[m.group(4).lower()]]
        elif m.group(4):
            return m.group()
        return self._money(m.group(1), m.group(2), scale)


    def _money_after(self, m: re.Match[str]) -> str:
        return self._money(m.group(3), m.group(1), m.group(2))


    def _percent(self, m: re.Match[str]) -> str:
        return f"{self.number(m.group(2), negative=bool(m.group(1)))} {self.rules.word('percent')}"


    def _counted(self, written: str) -> str:
        """A number before a noun: German "ein Euro", not "eins Euro"; Spanish "veintiún euros"."""
        if self._is_one(written) and self.rules.words.get("one"):
            return self.rules.words["one"]
        return self._before_noun(self.number(written))

    def _before_noun(self, spoken: str) -> str:
        """A cardinal in the form it takes before a noun it counts, where that differs: German
        "eins" is "ein", Spanish and Italian "uno" is "un" (veintiuno: veintiún)."""
        language = self.rules.language
        if language == "de" and spoken == "eins":
            return "ein"
        if language == "it" and spoken == "uno":
            return "un"
        if language == "es" and spoken.endswith("uno"):
            return spoken[:-3] + ("ún" if spoken.endswith("tiuno") else "un")
        return spoken


    def _unit(self, m: re.Match[str]) -> str:
        unit = m.group(3)
        if unit == "s" and not m.group(1) and _OF.match(m.string, m.end()):  # 100s of ships: hundreds
            return _plural(n.cardinal(int(self.value(m.group(2))[0] or "0"), self.rules))
        if unit == "m" and _HOURS_BEFORE.search(m.string, 0, m.start()) and "min" in self.rules.units:
            unit = "min"  # 1h 30m: minutes after hours
        one, many = self.rules.units[unit]
        count = self.number(m.group(2), negative=True) if m.group(1) else self._counted(m.group(2))
        return f"{count} {one if self._is_one(m.group(2)) and not m.group(1) else many}"


    def _scaled(self, m: re.Match[str]) -> str:
        """1.5M people, 3bn, a 7B model: the number and its scale word; not a house or a flat
        (221B Baker Street, Apt. 4B)."""
        if m.group(2) in ("B", "M") and m.group(1).isdigit():
            after = m.string[m.end():].lstrip()[:1]
            before = m.string[: m.start()].split()[-1:]
            if after.isupper() or (before and before[0].lower().strip(".#:") in _PLACES):
                return m.group()
        scale = self.rules.scales[{"m": 1, "mn": 1, "b": 2, "bn": 2}[m.group(2).lower()]]
        return f"{self.number(m.group(1))} {scale}"


    def _times(self, m: re.Match[str]) -> str:
        """2.5x faster: a multiple."""
        return f"{self.number(m.group(1))} {self.rules.word('times')}"


#: Words before a flat's or a room's number (4B is its name, not four billion).
_PLACES = frozenset("apt apartment flat unit suite room no number bldg building block house gate "
                    "platform seat".split())
_OF = re.compile(r"\s+of\b")
_HOURS_BEFORE = re.compile(r"\d\s?h\s*$")


def _plural(spoken: str) -> str:
    """A number's name as a plural: hundreds, thousands, tens, twenties."""
    last = spoken.split()[-1]
    return last[:-1] + "ies" if last.endswith("y") else last + "s"
