"""`Rules`: everything normalization needs to know about one language, as data.

One `Rules` per language (see `tables_*.py`), readable top to bottom: how numbers are
written (decimal and thousands separators), the order of a numeric date, and the words for
abbreviations, currencies, units, symbols and months. A language pack plugin adds or
changes entries through the `normalization_rules` hook; `Rules.merged` lays its table over
the built-in one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from polyvox.errors import PluginError
from polyvox.voices.voice import frozen_mapping

DATE_ORDERS = ("dmy", "mdy", "ymd")


def _months(instance: Any, attribute: attrs.Attribute, value: tuple[str, ...]) -> None:
    if value and len(value) != 12:
        raise PluginError(f"normalization rules for {instance.language!r}: months must name 12 months, "
                          f"not {len(value)}")


@attrs.frozen
class Rules:
    """How one language writes what normalization reads aloud."""

    #: A language code (``en``, ``de``); num2words speaks the numbers in `number_language`.
    language: str
    #: num2words' code for the numbers (``pt_BR``); empty: `language`.
    number_language: str = ""
    decimal: str = "."
    #: Read a decimal part of one or two digits as a number (French "trois virgule quatorze"),
    #: not digit by digit (English "three point one four").
    decimals_whole: bool = False
    #: Characters that group thousands (``,`` in English, ``.`` and space in German).
    thousands: str = ","
    #: How 12/03/2025 is read: day first (most), month first (en-US).
    date_order: str = attrs.field(default="dmy", validator=attrs.validators.in_(DATE_ORDERS))
    months: tuple[str, ...] = attrs.field(default=(), converter=tuple, validator=_months)
    #: Single words: "point", "minus", "percent", "to" (ranges), "and" (currency cents),
    #: "dot", "at", "slash", "o'clock", "am", "pm", "half", "over" (fractions), "plus",
    #: "score" (3:1), "times" (2.5x).
    words: Mapping[str, str] = attrs.field(factory=dict, converter=frozen_mapping)
    #: ``"Dr."`` -> ``"doctor"``; matched whole, case-sensitively, with the dot.
    abbreviations: Mapping[str, str] = attrs.field(factory=dict, converter=frozen_mapping)
    #: Abbreviations that are read only before a number ("No. 5"; "No." alone is the word no).
    before_numbers: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    #: Abbreviations that may end a sentence ("etc.", "Jr."): before a capital, the period stays.
    closing: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    #: Abbreviations read one way before a capitalized name and another elsewhere:
    #: ``"St." -> ("saint", "street")``.
    name_abbreviations: Mapping[str, tuple[str, str]] = attrs.field(factory=dict, converter=frozen_mapping)
    #: ``"$"``/``"USD"`` -> (one, many, one cent, many cents).
    currencies: Mapping[str, tuple[str, str, str, str]] = attrs.field(factory=dict, converter=frozen_mapping)
    #: True where the symbol goes after the amount (``42,50 €``); both forms are read anyway.
    currency_after: bool = False
    #: Words of scale read between an amount and its currency: "$1.5 million".
    scales: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    #: ``"km"`` -> (one, many).
    units: Mapping[str, tuple[str, str]] = attrs.field(factory=dict, converter=frozen_mapping)
    #: ``"&"`` -> ``"and"``.
    symbols: Mapping[str, str] = attrs.field(factory=dict, converter=frozen_mapping)
    #: Words after which a roman numeral is a number: ``chapter`` (cardinal), and the
    #: template a ruler's numeral is read with: ``"the {ordinal}"`` (Louis XIV).
    roman_cardinal_after: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    regnal: str = "{ordinal}"
    #: From this value on, a ruler's numeral is a cardinal (Spanish: Felipe II is segundo,
    #: Alfonso XIII trece); None: `regnal` for every value.
    regnal_cardinal_from: int | None = None
    #: The ordinal suffixes written after a digit (``st``, ``nd``; ``º``, ``ª``; ``.`` in German).
    ordinal_suffixes: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    #: Where the ordinal suffix is a period (German): words after which "3." before a capital is
    #: an ordinal ("der 3. Platz"); elsewhere that period ends a sentence ("Er hat 5. Das…").
    ordinal_after: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset)
    #: Read a four-digit number 1100..2099 as a year (English: nineteen ninety-nine).
    years: bool = False
    #: Date template; fields {day} (ordinal or cardinal per `date_day`), {month}, {year}.
    date: str = "{day} {month} {year}"
    date_day: str = attrs.field(default="cardinal", validator=attrs.validators.in_(("cardinal", "ordinal")))
    #: Clock times: fields {hour}, {minute}; `time_full` for a full hour (10:00).
    time: str = "{hour} {minute}"
    time_full: str = "{hour}"

    @property
    def numbers(self) -> str:
        return self.number_language or self.language

    def word(self, name: str) -> str:
        return self.words.get(name, name)

    def merged(self, extra: Mapping[str, Any] | Rules) -> Rules:
        """These rules with `extra`'s entries laid over them: mappings are merged entry by
        entry, everything else replaced."""
        given = attrs.asdict(extra, recurse=False) if isinstance(extra, Rules) else dict(extra)
        fields = attrs.fields_dict(Rules)
        changes: dict[str, Any] = {}
        for name, value in given.items():
            if name not in fields:
                raise PluginError(f"normalization rules for {self.language!r} have no field {name!r}; "
                                  f"fields: {', '.join(fields)}")
            if name == "language":
                continue
            old = getattr(self, name)
            changes[name] = {**old, **value} if isinstance(old, Mapping) else value
        return attrs.evolve(self, **changes)
