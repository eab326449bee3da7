"""Dates and clock times, the passes `Expander` takes from `DatesAndTimes`: ISO and numeric
dates, a day with its month, a month with its day, 15:30 and 3.30 pm, the '80s."""

from __future__ import annotations

import re

from polyvox.text.normalize import numbers as n
from polyvox.text.normalize.rules import Rules

#: German ordinals take -n after these (am dritten März, vom ersten Mai).
_DATIVE = re.compile(r"(?:\b(?:am|vom|zum|im|dem|den|ab|seit)\s*)$", re.IGNORECASE)


#: What follows the end of a sentence: nothing, or a capital (after a quote or bracket).
_NEXT_SENTENCE = re.compile(r"\s*(?:$|[\"'“‘(\[]?[^\W\d_](?<=[A-ZÀ-ÞА-Я]))")


def ends_sentence(m: re.Match[str]) -> bool:
    """Whether the period a match swallowed ends its sentence (a capital or nothing follows)."""
    return m.group().endswith(".") and bool(_NEXT_SENTENCE.match(m.string, m.end()))


class DatesAndTimes:
    """The date and time passes; the class that mixes them in sets `rules` and `short_months`
    (a month's unambiguous three-letter prefix, lower case, to its number)."""

    rules: Rules
    short_months: dict[str, int]

    def _inflect(self, m: re.Match[str], ordinal: str) -> str:
        """German: "am 3. Mai" is "am dritten Mai"."""
        if self.rules.language == "de" and _DATIVE.search(m.string[: m.start()]):
            return ordinal + "n"
        return ordinal

    def _date(self, day: int, month: int, year: int | None, m: re.Match[str] | None = None) -> str | None:
        r = self.rules
        if not (1 <= month <= 12 and 1 <= day <= 31) or not r.months:
            return None
        day_words = n.ordinal(day, r) if r.date_day == "ordinal" else n.cardinal(day, r)
        if m is not None and r.date_day == "ordinal":
            day_words = self._inflect(m, day_words)
        if r.language == "fr" and day == 1:
            day_words = n.ordinal(1, r)
        template = r.date if year is not None else _without_year(r.date)
        return template.format(day=day_words, month=r.months[month - 1],
                               year=n.year(year, r) if year is not None else "")

    def _iso_date(self, m: re.Match[str]) -> str:
        return self._date(int(m.group(3)), int(m.group(2)), int(m.group(1)), m) or m.group()

    def _numeric_date(self, m: re.Match[str]) -> str:
        first, second, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        day, month = (second, first) if self.rules.date_order == "mdy" else (first, second)
        if month > 12 >= day:  # 12/31/2025 in British English, 31/12/2025 in American: one reading
            day, month = month, day
        return self._date(day, month, year, m) or m.group()

    def _month_number(self, name: str) -> int:
        name = name.lower().rstrip(".")
        if name in self.short_months:
            return self.short_months[name]
        return [x.lower() for x in self.rules.months].index(name) + 1

    def _day_month(self, m: re.Match[str]) -> str:
        year = int(m.group(3)) if m.group(3) else None
        return self._date(int(m.group(1)), self._month_number(m.group(2)), year, m) or m.group()

    def _month_day(self, m: re.Match[str]) -> str:
        year = int(m.group(3)) if m.group(3) else None
        day, month = int(m.group(2)), self._month_number(m.group(1))
        if not 1 <= day <= 31:
            return m.group()
        if self.rules.language == "en":
            spoken = f"{self.rules.months[month - 1]} {n.ordinal(day, self.rules)}"
            return spoken + (f", {n.year(year, self.rules)}" if year else "")
        return self._date(day, month, year) or m.group()

    def _iso_moment(self, m: re.Match[str]) -> str:
        """2026-12-07T14:30:00Z: the date, then the clock time (UTC where the stamp says so)."""
        date = self._date(int(m.group(3)), int(m.group(2)), int(m.group(1)), m)
        hour, minute = int(m.group(4)), int(m.group(5))
        if date is None or hour > 23 or minute > 59:
            return m.group()
        zone = " UTC" if m.group(7) in ("Z", "+00:00", "+0000") else ""
        return f"{date}, {self._clock(hour, minute, int(m.group(6) or 0))}{zone}"

    def _seconds(self, m: re.Match[str]) -> str:
        """14:30:05: a clock time to the second."""
        return self._clock(int(m.group(1)), int(m.group(2)), int(m.group(3)))

    def _dotted_day(self, m: re.Match[str]) -> str:
        """German "am 24.12.": a day and a month without the year (and the sentence's period)."""
        date = self._date(int(m.group(1)), int(m.group(2)), None, m)
        return date + ("." if ends_sentence(m) else "") if date else m.group()

    def _clock(self, hour: int, minute: int, second: int = 0) -> str:
        r = self.rules
        words = r.time_full.format(hour=n.cardinal(hour, r)) if not minute else r.time.format(
            hour=n.cardinal(hour, r), minute=(f"oh {n.cardinal(minute, r)}" if r.language == "en" and minute < 10
                                              else n.cardinal(minute, r)))
        if second:
            one, many = r.units.get("s", ("second", "seconds"))
            words += f" {r.word('and')} {n.cardinal(second, r)} {one if second == 1 else many}"
        return words

    def _time(self, m: re.Match[str]) -> str:
        hour, minute, half = int(m.group(1)), int(m.group(2)), (m.group(3) or "").lower()
        if minute == 0 and half and self.rules.language == "en":  # 10:00 pm: ten p m, no o'clock
            return self._with_half(n.cardinal(hour, self.rules), half, m)
        return self._with_half(self._clock(hour, minute), half, m)

    def _with_half(self, words: str, half: str, m: re.Match[str]) -> str:
        """`words` of a clock time with its half of the day ("a" or "p"; "" for none), and the
        sentence's period where the written "p.m." held it."""
        if not half:
            return words
        suffix = self.rules.word("am" if half == "a" else "pm")
        return (f"{words} {suffix}" if suffix else words) + ("." if ends_sentence(m) else "")

    def _decade(self, m: re.Match[str]) -> str:
        """'80s, the 60s: the eighties (else left for the units: 60s is sixty seconds)."""
        before = m.string[: m.start()].rstrip().rsplit(None, 1)[-1:]
        if not m.group(1) and not (before and before[0].lower() in ("the", "early", "late", "mid", "mid-")):
            return m.group()
        spoken = n.cardinal(int(m.group(2)), self.rules)
        return spoken[:-1] + "ies" if spoken.endswith("y") else spoken + "s"


def _without_year(template: str) -> str:
    """A date template without its year and the word or comma that joins it ("{day} de {month}
    de {year}" -> "{day} de {month}"; "{month} {day}, {year}" -> "{month} {day}")."""
    before, found, after = template.partition("{year}")
    if not found:
        return template
    head = before.rstrip(" ,")
    if head and not head.endswith("}"):  # a joining word: "de", "of"
        head = re.sub(r"[\s,]*[^\s{}]+$", "", head)
    return head + after
