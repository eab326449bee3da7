"""Text as people write it, as words an engine can say: numbers, dates, times, money,
units, abbreviations, roman numerals, addresses and symbols, per language.

    >>> from polyvox.text.normalize import normalize
    >>> normalize("It costs $42.50.", "en")
    'It costs forty-two dollars and fifty cents.'

Each language is one table of rules (`tables_*.py`); a language pack adds or changes
entries through the `normalization_rules` hook (`Normalizers` merges them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from polyvox.errors import PluginError
from polyvox.text.normalize.expand import Expander
from polyvox.text.normalize.rules import Rules
from polyvox.text.normalize.tables_germanic import DE, EN, EN_US, NL
from polyvox.text.normalize.tables_romance import ES, FR, IT, PT

__all__ = ["BUILT_IN", "Expander", "Normalizers", "Rules", "normalize", "rules_for"]

#: The built-in tables by language code; ``en-us`` is month-first English.
BUILT_IN: dict[str, Rules] = {"en": EN, "en-us": EN_US, "de": DE, "fr": FR, "es": ES, "it": IT, "pt": PT, "nl": NL}


def _codes(language: str) -> list[str]:
    """``en_US`` -> [``en-us``, ``en``]: the most specific table first."""
    code = language.replace("_", "-").lower()
    return [code, code.split("-")[0]] if "-" in code else [code]


def rules_for(language: str, extra: Iterable[Mapping[str, Any] | Rules] = ()) -> Rules | None:
    """The rules for `language` with each of `extra` laid over them; None when there are none."""
    base = next((BUILT_IN[c] for c in _codes(language) if c in BUILT_IN), None)
    for more in extra:
        if base is None:
            base = more if isinstance(more, Rules) else Rules(language=_codes(language)[0], **dict(more))
        else:
            base = base.merged(more)
    return base


class Normalizers:
    """One `Expander` per language, made once; `extra(language)` returns what plugins add."""

    def __init__(self, extra: Any = None):
        self._extra = extra
        self._made: dict[str, Expander | None] = {}

    def languages(self) -> list[str]:
        return sorted(BUILT_IN)

    def get(self, language: str) -> Expander | None:
        if language not in self._made:
            added = []
            if self._extra is not None:
                try:
                    added = [r for r in self._extra(language) or () if r]
                except Exception as exc:  # a broken language pack must name itself
                    raise PluginError(f"a plugin failed giving normalization rules for {language!r}: "
                                      f"{type(exc).__name__}: {exc}") from exc
            rules = rules_for(language, added)
            self._made[language] = Expander(rules) if rules is not None else None
        return self._made[language]

    def __call__(self, text: str, language: str) -> str:
        expander = self.get(language)
        return expander(text) if expander is not None else text


_DEFAULT = Normalizers()


def normalize(text: str, language: str) -> str:
    """`text` with what is written in figures and abbreviations spelled out in `language`'s
    words; unchanged for a language without rules."""
    return _DEFAULT(text, language)
