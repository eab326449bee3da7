"""The parse step: a source as units of segments. The whole script is one unit; each chapter
of a book is one (its title, then its text; room tone before and after); each subtitle cue is
one. A unit is what the planner plans and the placement places as a whole."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from polyvox.books.book import Book
from polyvox.books.prose import as_script
from polyvox.errors import EmptyTextError, ScriptError
from polyvox.render import sources
from polyvox.render.chapters import book_units
from polyvox.text import markup, ssml
from polyvox.text.segment import Segment
from polyvox.voices.voice import Voice


def source_units(given: sources.Script | sources.Subtitles | Book, *, codes: Any,
                 voices: Mapping[str, Voice] | None, strict: bool, normalizers: Sequence[Any],
                 warn: Callable[[str, str], None], language: str | None = None
                 ) -> tuple[list[list[Segment]], list[str | None]]:
    """Segments per unit and each unit's label (a chapter's title, a cue's place; None for a
    script). `codes`: the language codes markup knows; `voices`' names are characters;
    `language`: the render's (what an SSML document without ``xml:lang`` is in)."""
    characters = tuple(voices or ())  # `[de]` is German unless a character is called de

    def parse(text: str, where: str | None) -> list[Segment]:
        def warn_here(kind: str, message: str) -> None:
            warn(kind, f"{where}: {message}" if where else message)

        try:
            if ssml.is_ssml(text):  # a <speak> document: the same segments and pauses
                return ssml.parse(text, warn=warn_here, normalizers=normalizers, language=language)
            return markup.parse(text, codes, characters=characters, strict=strict, warn=warn_here)
        except ScriptError as exc:
            raise ScriptError(f"{where}: {exc}" if where else str(exc)) from None

    if isinstance(given, sources.Script):
        segments = list(given.segments) if given.text is None else parse(given.text, None)
        return [segments], [None]
    if isinstance(given, Book):  # prose: only its markup read as markup ([12], [sic] are words)
        names = {c.lower() for c in characters}
        return book_units(given, lambda text, where: parse(text if ssml.is_ssml(text) else as_script(text, names),
                                                           where), warn, codes)
    from polyvox.subtitles.speech import spoken, without_screen_marks

    units, labels = [], []
    for cue in given.cues:
        where = f"subtitle {cue.index} at {_stamp(cue.start)}"
        segments = parse(without_screen_marks(cue.text), where)  # no ♪ or (annotations) read aloud
        units.append([attrs.evolve(s, line=None, column=None, text=spoken(s.text)) for s in segments])
        labels.append(where)
    return units, labels


def _stamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def refuse_nothing_to_say(given: sources.Script | sources.Subtitles | Book, units: list[list[Segment]]) -> None:
    """An `EmptyTextError` saying why, where no segment of `units` has words to speak."""
    if any(s.text.strip() for unit in units for s in unit):
        return
    if isinstance(given, sources.Subtitles):
        raise EmptyTextError(f"nothing to speak: none of the {len(given.cues)} subtitle cues has words "
                             "(music notes, annotations in brackets or parentheses and punctuation are not spoken)")
    if any(s.is_pause for unit in units for s in unit):
        raise EmptyTextError("nothing to speak: the script has pauses and no words; a pause alone is no audio to make")
    raise EmptyTextError("nothing to speak: the text is empty")

