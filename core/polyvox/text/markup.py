"""Script markup to segments.

    Once upon a time, said the narrator.
    [Alice] Hello Bob! [pause:0.5s] How are you?
    [de:Bob] Guten Tag, Alice.          [fr:] Bonjour.        [de] Hallo.
    [Alice|seed:42|temperature:0.6]     [seed:42|Alice]       [seed:4] narrator again
    [Alice:happy_sarah] emotion reference     [sad:0.7|calm:0.2] emotion weights
    Speaker 1: Hello                    [1] Hello             [S2] Hi

A tag holds until the next tag or the end of its line; every line starts as the narrator.
The syntax is TTS Audio Suite's (TAS) and means what it meant there (see `polyvox.text.tags`
and docs/markup.md). Like TAS the parser is lenient: a tag it cannot read, a pause that is no
duration or too long, a bad parameter is a warning and the render goes on. With
``strict=True`` each of those is a one-line `ScriptError` with line and column instead.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Collection, Iterable

from polyvox.errors import ScriptError
from polyvox.text import tags
from polyvox.text.segment import Segment, speakable

#: Longest pause a tag may ask for, in seconds; a longer one is cut to it (a warning).
MAX_PAUSE = 30.0
PAUSE_WORDS = ("pause", "wait", "stop")

#: Receives each warning as (kind, message); kinds start with ``markup-``.
Warn = Callable[[str, str], None]

_PAUSE_VALUE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|sec|secs|seconds?)?\s*$", re.IGNORECASE)
#: A run of characters none of which may start markup (an escape, a tag, a break, a link).
_PLAIN = re.compile(r"[^\\<\[!]*")
_SPEAKER_LINE = re.compile(r"^\s*speaker\s*(\d+)\s*:\s*", re.IGNORECASE)


#: A pause as ElevenLabs writes it in plain text, without SSML's <speak>: <break time="1.5s" />.
BREAK_TAG = re.compile(r"<break\s+time\s*=\s*[\"']\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s)\s*[\"']\s*/?>", re.IGNORECASE)

#: A Markdown link, [the docs](https://…), said as its words; an image, ![alt](x.png), not at all;
#: a footnote's mark, [^1], not at all; a strike-through's tildes, ~~gone~~, dropped.
MARKDOWN_LINK = re.compile(r"!\[[^\]\n]*\]\([^)\s]*(?:\s+\"[^\"]*\")?\)|\[([^\]\n]*)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)"
                           r"|\[\^[^\]\s]+\]|~~(?=\S)|(?<=\S)~~")


class MarkupWarning(UserWarning):
    """A markup problem the parser stepped over (lenient mode without a `warn` callback)."""


def parse(text: str, known_languages: Iterable[str] = (), *, characters: Iterable[str] = (),
          strict: bool = False, warn: Warn | None = None) -> list[Segment]:
    """Parse script markup into speech and pause segments, in order.

    `known_languages` are codes the installed engines declare, so any code an engine speaks
    is accepted even if polyvox's own table lacks it. `characters` are the names that have a
    voice (the voice library's): ``[de]`` is German narration unless a character is called
    "de". Problems go to `warn(kind, message)` (default: Python's `warnings` as
    `MarkupWarning`); with `strict` they raise `ScriptError` instead.
    """
    if not isinstance(text, str):
        raise ScriptError(f"a script must be text, not {type(text).__name__}")
    reader = _Reader(tuple(known_languages), frozenset(c.lower() for c in characters), strict, warn)
    segments: list[Segment] = []
    for number, line in enumerate(speakable(text.lstrip("\ufeff")).splitlines(), 1):
        segments.extend(reader.line(line, number))
    return segments


class _State:
    """Who speaks, in which language, how: reset at every line and every tag."""

    def __init__(self, character: str | None = None) -> None:
        self.character = character
        self.language: str | None = None
        self.emotion: str | None = None
        self.emotion_vector: dict[str, float] = {}
        self.params: dict = {}
        #: Where the tag that set this state begins (None: the start of a line).
        self.column: int | None = None


class _Reader:
    def __init__(self, codes: tuple[str, ...], characters: Collection[str], strict: bool, warn: Warn | None):
        self.codes = codes
        self.characters = characters
        self.strict = strict
        self.warn = warn
        #: lower-case name -> the first spelling in the script: names are case-insensitive (as
        #: in TAS), so [alice] after [Alice] is the same character, not a second one.
        self.spellings: dict[str, str] = {}

    def spell(self, name: str | None) -> str | None:
        return None if name is None else self.spellings.setdefault(name.lower(), name)

    def problem(self, kind: str, message: str, number: int, column: int, then: str) -> None:
        """A warning saying what happens `then` in lenient mode, a one-line `ScriptError` in strict."""
        where = f"line {number}, column {column}"
        if self.strict:
            raise ScriptError(f"{where}: {message}")
        text = f"{where}: {message}; {then}"
        if self.warn is None:
            warnings.warn(text, MarkupWarning, stacklevel=4)
        else:
            self.warn(kind, text)

    def line(self, line: str, number: int) -> list[Segment]:
        out: list[Segment] = []
        state = _State()
        buffer: list[str] = []
        i = 0
        speaker = _SPEAKER_LINE.match(line)
        if speaker:
            state.character = self.spell(tags.speaker_name(speaker.group(1)))
            i = speaker.end()

        said = [False]  # words since the last tag

        def flush() -> None:
            spoken = "".join(buffer).strip()
            buffer.clear()
            if spoken:
                said[0] = True
                out.append(Segment(text=spoken, character=state.character, language=state.language,
                                   params=state.params, emotion=state.emotion,
                                   emotion_vector=state.emotion_vector, line=number, column=state.column))

        while i < len(line):
            plain = _PLAIN.match(line, i).end()  # up to the next character that may start markup
            if plain > i:
                buffer.append(line[i:plain])
                i = plain
                continue
            ch = line[i]
            if ch == "\\" and i + 1 < len(line) and line[i + 1] in "[]":
                buffer.append(line[i + 1])
                i += 2
                continue
            cut = BREAK_TAG.match(line, i) if ch == "<" else None
            if cut is not None:  # ElevenLabs' <break time="1.5s" /> in plain text: a pause
                flush()
                seconds = min(MAX_PAUSE, float(cut.group(1)) / (1000.0 if cut.group(2).lower() == "ms" else 1.0))
                if seconds > 0:
                    out.append(Segment(pause=seconds, character=state.character, language=state.language,
                                       line=number))
                i = cut.end()
                continue
            link = MARKDOWN_LINK.match(line, i) if ch in "[!" else None
            if link is not None and not link.group().startswith("~"):  # Markdown's, not a tag: its words
                buffer.append(link.group(1) or "")
                i = link.end()
                continue
            end = self._tag_end(line, i, number) if ch == "[" else None
            if end is None:
                buffer.append(ch)
                i += 1
                continue
            body, column = line[i + 1 : end], i + 1
            flush()
            pause = self._pause(body, number, column)
            if pause is not None:
                if pause > 0:
                    out.append(Segment(pause=pause, character=state.character, language=state.language,
                                       line=number))
            else:
                new = self._tag(body, number, column)
                self._stage_direction(state, new, said[0], number, column)
                state, said[0] = new, False
            i = end + 1
        flush()
        return out

    def _stage_direction(self, before: _State, new: _State, said: bool, number: int, column: int) -> None:
        """"[Alice] [laughs] That is funny.": Alice says nothing, and "laughs" is a character who
        says the rest. Said once (not an error in strict markup: it is readable, only unlikely)."""
        name = new.character
        if (said or self.strict or not before.character or not name or name == before.character
                or not name.islower() or name.lower() in self.characters):
            return
        message = (f"line {number}, column {column}: [{before.character}] says nothing before [{name}], which "
                   f"names a character, not a stage direction: '{name}' speaks what follows (write it as "
                   f"{before.character}'s words, or leave the direction out)")
        if self.warn is None:
            warnings.warn(message, MarkupWarning, stacklevel=4)
        else:
            self.warn("markup-stage-direction", message)

    def _tag_end(self, line: str, start: int, number: int) -> int | None:
        for j in range(start + 1, len(line)):
            if line[j] == "]":
                return j
            if line[j] == "[":
                break
        self.problem("markup-tag", "unclosed tag '[': close it with ']' or write '\\[' for a literal bracket",
                     number, start + 1, "read as text")
        return None

    def _pause(self, body: str, number: int, column: int) -> float | None:
        """Seconds of a ``[pause:…]``/``[wait:…]``/``[stop:…]`` tag (0: dropped), None if no pause."""
        head, sep, value = body.partition(":")
        if not sep or head.strip().lower() not in PAUSE_WORDS:
            return None
        if "|" in value:
            self.problem("markup-pause", f"pause tag [{body}] takes no parameters: write [pause:1.5s] alone",
                         number, column, "parameters ignored")
            value = value.split("|")[0]
        match = _PAUSE_VALUE.match(value)
        if not match:
            self.problem("markup-pause", f"pause {value.strip()!r} is not a duration: write 1.5, 1.5s or 500ms",
                         number, column, "skipped")
            return 0.0
        seconds = float(match.group(1))
        if (match.group(2) or "s").lower() == "ms":
            seconds /= 1000.0
        if seconds > MAX_PAUSE:
            self.problem("markup-pause", f"pause {value.strip()!r} is out of range: expected 0 to {MAX_PAUSE:g} "
                         "seconds", number, column, f"cut to {MAX_PAUSE:g} s")
            seconds = MAX_PAUSE
        return seconds

    def _tag(self, body: str, number: int, column: int) -> _State:
        state = _State()
        state.column = column
        try:
            tag = tags.read(body, self.codes, self.characters, strict=self.strict)
        except tags.TagProblem as exc:
            self.problem(exc.kind, str(exc), number, column, "the narrator speaks on")
            return state
        for problem in tag.problems:
            self.problem(problem.kind, f"{problem} in tag [{body}]", number, column, "ignored")
        state.character, state.language, state.emotion = self.spell(tag.character), tag.language, tag.emotion
        state.emotion_vector, state.params = tag.emotion_vector, tag.params
        return state
