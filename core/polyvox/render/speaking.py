"""Per segment, how the text its engine receives is made from the written text: the
lexicon (the kernel's file and each voices folder's ``#pronunciations.txt``), then the
language's normalization, unless the engine normalizes that language itself."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from polyvox.errors import PolyvoxError
from polyvox.plugin.registry import Plugins
from polyvox.render.planner import Planner
from polyvox.text import chunking
from polyvox.text import lexicon as lex
from polyvox.text.lexicon import Lexicon
from polyvox.text.normalize import Normalizers
from polyvox.text.segment import MARKS, Segment
from polyvox.text.speech import Mode, Speech, check_mode, has_marks, wants_normalizing

__all__ = ["PRONUNCIATIONS_FILE", "Lexicon", "Speaking", "check_mode", "folder_lexicon", "speaker"]
from polyvox.voices.voice import Voice

#: The lexicon file a voices folder may hold, beside ``#character_alias_map.txt``.
PRONUNCIATIONS_FILE = "#pronunciations.txt"

Speak = Callable[[Segment], Callable[[str], str] | None]


def folder_lexicon(folders: Sequence[Path], base: lex.Lexicon | None = None) -> lex.Lexicon | None:
    """`base`'s entries followed by those of each folder's ``#pronunciations.txt`` (later win)."""
    entries = list(base.entries) if base else []
    for folder in folders:
        path = Path(folder) / PRONUNCIATIONS_FILE
        if path.is_file():
            entries += lex.read_file(path)
    return lex.Lexicon(entries) if entries else None


class Speaking:
    """Chunks segments as their engines will receive them (`chunking.chunk_segments`)."""

    def __init__(self, planner: Planner, plugins: Plugins, warn: Callable[..., None]):
        self.planner = planner
        self.speech = Speech(Normalizers(lambda language: plugins.hook.normalization_rules(language=language)), warn)

    def chunk(self, segments: list[Segment], *, engine: str | None, language: str | None, mode: Mode,
              narrator: Voice, voices: Mapping[str, Voice] | None, lexicon: lex.Lexicon | None) -> list[Segment]:
        """Long segments split under the `max_chars` of the engine that will speak them, each
        with the text that engine receives (`Segment.spoken`)."""
        planner = self.planner

        def max_chars(seg: Segment) -> int:
            try:
                voice = planner.voice_for(seg, narrator, voices or {})
                name, _ = planner.engine_for(seg, voice, engine, language)
                return planner.spec(name).max_chars
            except PolyvoxError:
                return 10_000  # the plan step reports the real problem

        lexicon = folder_lexicon(getattr(voices, "folders", ()), lexicon)
        speak = speaker(planner, self.speech, mode=mode, lexicon=lexicon, narrator=narrator, voices=voices,
                        engine=engine, language=language)
        return chunking.chunk_segments(segments, max_chars, speak)


def speaker(planner: Planner, speech: Speech, *, mode: Mode, lexicon: lex.Lexicon | None, narrator: Voice,
            voices: Mapping[str, Voice] | None, engine: str | None, language: str | None) -> Speak:
    """`speak(segment)` for `chunking.chunk_segments`: None where the engine gets the text as written."""
    def speak(seg: Segment) -> Callable[[str], str] | None:
        try:
            voice = planner.voice_for(seg, narrator, voices or {})
            name, lang = planner.engine_for(seg, voice, engine, language)
            caps = planner.spec(name).capabilities
        except PolyvoxError:
            return None  # the plan step reports the real problem
        normalize = wants_normalizing(mode, lang, caps.normalizes)
        if not normalize and not lexicon and not any(m in seg.text for m in MARKS) and not has_marks(seg.text):
            return None  # the text as written: no SSML <phoneme>, <sub> or <say-as>, no emoji or Markdown marks either
        return lambda text: speech.spoken(text, lang, normalize=normalize, lexicon=lexicon,
                                          phonemes=caps.phonemes, engine=name)

    return speak
