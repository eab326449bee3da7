"""A pronunciation lexicon: words an engine says wrong, said right.

    # lexicon.txt (config key `lexicon`) or #pronunciations.txt in a voices folder
    Nguyen = Win                 every language, any case: nguyen, NGUYEN
    SQL = sequel                 capitals after the first letter: only "SQL", not "sql"
    Siobhan = /ʃɪˈvɔːn/          phonemes, for engines that take them (Piper: espeak's)
    [de]
    Chatbot = Tschättbott        German lines only

Whole words only. A respelling reaches every engine; phonemes reach engines that declare
`Capabilities.phonemes` and are skipped for the others (one warning). Applied before
normalization, so a lexicon entry for "Dr." or "1st" wins over the tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import attrs

from polyvox.errors import PolyvoxError

_SECTION = re.compile(r"^\[([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)\]$")


@attrs.frozen
class Entry:
    word: str
    #: What to say instead: a respelling, or phonemes when `phonemes` is True.
    say: str
    phonemes: bool = False
    #: None: every language; else a language code (``de``).
    language: str | None = None

    @property
    def case_sensitive(self) -> bool:
        """Capitals after the first letter (SQL, iOS) make an entry match only as written; a
        capital first letter alone (Nguyen) does not: a name is matched in any case."""
        return self.word[1:] != self.word[1:].lower()


def read_entries(text: str, where: str = "lexicon") -> list[Entry]:
    """Entries of a lexicon file; a bad line is a one-line `PolyvoxError` naming it."""
    entries: list[Entry] = []
    language: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        section = _SECTION.match(line)
        if section:
            language = section.group(1).replace("_", "-").lower()
            continue
        word, sep, say = (part.strip() for part in line.partition("="))
        if not sep or not word or not say:
            raise PolyvoxError(f"{where}, line {number}: {line!r} is not an entry: write `word = respelling`, "
                               "`word = /phonemes/` or a `[de]` section")
        phonemes = len(say) > 2 and say.startswith("/") and say.endswith("/")
        entries.append(Entry(word, say[1:-1].strip() if phonemes else say, phonemes, language))
    return entries


def read_file(path: str | Path) -> list[Entry]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolyvoxError(f"cannot read lexicon {str(path)!r}: {exc}") from None
    return read_entries(text, str(path))


class Lexicon:
    """Entries compiled per language; later entries win over earlier ones for the same word."""

    def __init__(self, entries: Iterable[Entry] = ()):
        self.entries = list(entries)
        self._compiled: dict[str, tuple[re.Pattern[str] | None, dict[str, Entry], dict[str, Entry]]] = {}

    def __bool__(self) -> bool:
        return bool(self.entries)

    def _for(self, language: str) -> tuple[re.Pattern[str] | None, dict[str, Entry], dict[str, Entry]]:
        if language not in self._compiled:
            base = language.split("-")[0]
            exact: dict[str, Entry] = {}
            folded: dict[str, Entry] = {}
            for e in self.entries:
                if e.language is None or e.language in (language, base):
                    (exact if e.case_sensitive else folded)[e.word if e.case_sensitive else e.word.lower()] = e
            words = sorted({*exact, *folded}, key=len, reverse=True)
            pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)",
                                 re.IGNORECASE) if words else None
            self._compiled[language] = (pattern, exact, folded)
        return self._compiled[language]

    def apply(self, text: str, language: str, phonemes: str = "") -> tuple[str, list[str], list[str]]:
        """(`text` with entries applied, phoneme blocks, words whose phonemes were skipped).

        Phoneme entries become placeholders, private-use characters with no digits in them, so
        normalization never touches them; `phonemes` is the engine's template (e.g.
        ``[[ {} ]]``), empty when the engine takes none (those entries are skipped)."""
        pattern, exact, folded = self._for(language)
        blocks: list[str] = []
        skipped: list[str] = []
        if pattern is None:
            return text, blocks, skipped

        def replace(m: re.Match[str]) -> str:
            word = m.group()
            entry = exact.get(word) or folded.get(word.lower())
            if entry is None:
                return word
            if not entry.phonemes:
                return entry.say
            if not phonemes:
                skipped.append(word)
                return word
            blocks.append(phonemes.format(entry.say))
            return f"\ue000{chr(0xE100 + len(blocks) - 1)}\ue001"

        return pattern.sub(replace, text), blocks, skipped


_BLOCK = re.compile("\ue000([\ue100-\uefff])\ue001")


def restore(text: str, blocks: list[str]) -> str:
    """Placeholders back to the engine's phoneme blocks."""
    return _BLOCK.sub(lambda m: blocks[ord(m.group(1)) - 0xE100], text) if blocks else text
