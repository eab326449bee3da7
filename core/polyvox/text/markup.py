"""Script markup to segments.

    Once upon a time, said the narrator.
    [Alice] Hello Bob! [pause:0.5s] How are you?
    [de:Bob] Guten Tag, Alice.
    [fr:] Bonjour à tous.
    [Alice|seed:42|temperature:0.6] A segment with its own parameters.

A tag holds until the next tag or the end of its line; every line starts as the narrator.
Tags are the TTS Audio Suite ones; where that syntax is loose this parser is strict, so a
typo is a `ScriptError` with line and column instead of words spoken in the wrong voice.
See docs/markup.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from polyvox.errors import ScriptError
from polyvox.text import languages
from polyvox.text.segment import Segment

#: Longest pause a tag may ask for, in seconds (a Segment refuses more).
MAX_PAUSE = 30.0
PAUSE_WORDS = ("pause", "wait")

#: Short parameter names people type, mapped to the names engines declare. An engine's own
#: aliases (ParamSpec.aliases) work as well; these make the common ones work everywhere.
PARAM_ALIASES = {
    "temp": "temperature",
    "cfg": "cfg_weight",
    "exag": "exaggeration",
    "top-p": "top_p",
    "top-k": "top_k",
}

_PAUSE_VALUE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|sec|secs|seconds?)?\s*$", re.IGNORECASE)
_PARAM_KEY = re.compile(r"^[a-z_][a-z0-9_-]*$")
_FORBIDDEN_IN_NAME = set("/\\:|[]")


def parse(text: str, known_languages: Iterable[str] = ()) -> list[Segment]:
    """Parse script markup into speech and pause segments, in order.

    `known_languages` are codes the installed engines declare, so any code an engine
    speaks is accepted in a language tag even if polyvox's own table lacks it.
    Raises `ScriptError` (with line and column) for a malformed tag.
    """
    if not isinstance(text, str):
        raise ScriptError(f"a script must be text, not {type(text).__name__}")
    codes = tuple(known_languages)
    segments: list[Segment] = []
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        segments.extend(_parse_line(line, number, codes))
    return segments


class _State:
    """Who speaks, in which language, with which parameters: reset at every line."""

    def __init__(self) -> None:
        self.character: str | None = None
        self.language: str | None = None
        self.params: dict[str, Any] = {}


def _parse_line(line: str, number: int, codes: tuple[str, ...]) -> list[Segment]:
    out: list[Segment] = []
    state = _State()
    buffer: list[str] = []

    def flush() -> None:
        spoken = "".join(buffer).strip()
        buffer.clear()
        if spoken:
            out.append(Segment(text=spoken, character=state.character, language=state.language,
                               params=state.params, line=number))

    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line) and line[i + 1] in "[]":
            buffer.append(line[i + 1])
            i += 2
            continue
        if ch != "[":
            buffer.append(ch)
            i += 1
            continue
        end = _tag_end(line, i, number)
        body = line[i + 1 : end]
        column = i + 1
        pause = _pause_seconds(body, number, column)
        if pause is not None:
            flush()
            if pause > 0:
                out.append(Segment(pause=pause, character=state.character, language=state.language, line=number))
        else:
            flush()
            _apply_tag(body, state, number, column, codes)
        i = end + 1
    flush()
    return out


def _where(number: int, column: int) -> str:
    return f"line {number}, column {column}"


def _tag_end(line: str, start: int, number: int) -> int:
    for j in range(start + 1, len(line)):
        if line[j] == "]":
            return j
        if line[j] == "[":
            break
    raise ScriptError(f"unclosed tag '[' at {_where(number, start + 1)}: close it with ']' "
                      "or write '\\[' for a literal bracket")


def _pause_seconds(body: str, number: int, column: int) -> float | None:
    """Seconds of a ``[pause:…]``/``[wait:…]`` tag, or None when the tag is no pause."""
    head, sep, value = body.partition(":")
    if not sep or head.strip().lower() not in PAUSE_WORDS:
        return None
    if "|" in value:
        raise ScriptError(f"pause tag [{body}] at {_where(number, column)} takes no parameters: "
                          "write [pause:1.5s] alone")
    match = _PAUSE_VALUE.match(value)
    if not match:
        raise ScriptError(f"pause {value.strip()!r} at {_where(number, column)} is not a duration: "
                          "write 1.5, 1.5s or 500ms")
    seconds = float(match.group(1))
    if (match.group(2) or "s").lower() == "ms":
        seconds /= 1000.0
    if seconds > MAX_PAUSE:
        raise ScriptError(f"pause {value.strip()!r} at {_where(number, column)} is out of range: "
                          f"expected 0 to {MAX_PAUSE:g} seconds")
    return seconds


def _apply_tag(body: str, state: _State, number: int, column: int, codes: tuple[str, ...]) -> None:
    head, *pairs = body.split("|")
    if ":" in head:
        lang_text, _, name = head.partition(":")
        language = languages.normalize(lang_text, codes)
        if language is None:
            raise ScriptError(
                f"unknown language {lang_text.strip()!r} in tag [{body}] at {_where(number, column)}: "
                "use a code such as de or pt-BR, a name such as German, or [Name] for a character")
        state.language = language
        state.character = _character(name, body, number, column, allow_empty=True)
    else:
        state.language = None
        state.character = _character(head, body, number, column, allow_empty=False)
    state.params = _params(pairs, body, number, column)


def _character(name: str, body: str, number: int, column: int, *, allow_empty: bool) -> str | None:
    name = " ".join(name.split())
    if not name:
        if allow_empty:
            return None
        raise ScriptError(f"empty tag [{body}] at {_where(number, column)}: write [Name], [lang:Name], "
                          "[lang:] or [pause:1s]")
    bad = sorted(c for c in set(name) if c in _FORBIDDEN_IN_NAME or not c.isprintable())
    if bad or name in (".", ".."):
        raise ScriptError(f"character name {name!r} at {_where(number, column)} is not allowed: "
                          "names may not contain / \\ : | [ ] or control characters")
    return None if name.lower() == "narrator" else name


def _params(pairs: list[str], body: str, number: int, column: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition(":")
        if not sep:
            key, sep, value = pair.partition("=")
        key = key.strip().lower()
        value = value.strip()
        if not sep or not value or not _PARAM_KEY.match(key):
            raise ScriptError(f"parameter {pair.strip()!r} in tag [{body}] at {_where(number, column)} "
                              "is not key:value (e.g. seed:42 or temperature:0.6)")
        out[PARAM_ALIASES.get(key, key)] = _value(value)
    return out


def _value(text: str) -> Any:
    """'42' -> 42, '0.6' -> 0.6, anything else stays text (the engine's spec validates it)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return number if number == number and abs(number) != float("inf") else text
