"""A book's prose as script markup. Books are full of square brackets that are not markup: a
footnote or page reference (``[12]``, ``[^1]``, ``[Pg 13]``), an editor's insertion
(``[sic]``, ``she said [quietly]``), a Project Gutenberg note (``[Illustration: …]``). Read as
script markup, each would switch the speaker in mid-sentence. So in a book:

- a tag that opens a paragraph is markup, as in any script (``[Alice] Where to?``);
- inside a paragraph, only a pause (``[pause:1s]``) or a character the voice library names
  (``[Alice]``) is markup; any other bracketed words are read as words, without the brackets;
- references and editorial notes are not read at all.

A scene break (``* * *``, ``***``, ``#``, ``⁂``, ``~~~``, an HTML ``<hr>``) is not read either: it
is a pause of its own (`SCENE_BREAK`), as a narrator leaves one, and none at a chapter's ends.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from polyvox.text.speech import tidy_spaces

#: A footnote or page reference: a number, ``^1``, stars and daggers, ``Pg 13``, ``p. 7``.
_REFERENCE = re.compile(r"^\s*(?:\^?\d+[a-z]?|[*†‡§]+|(?:pg|page|p)\.?\s*[\dxivlc]+)\s*$", re.IGNORECASE)
#: A transcriber's or editor's note, never read out (Project Gutenberg's conventions).
_NOTE = re.compile(r"^\s*(?:illustrations?|footnotes?|transcriber'?s?\s+notes?|sidenotes?|blank\s+page)\b",
                   re.IGNORECASE)
#: An escaped bracket, a bracketed run (no brackets or line ends inside), or a lone bracket.
_BRACKET = re.compile(r"\\[\[\]]|\[[^\[\]\n]*\]|[\[\]]")
_PAUSE = re.compile(r"^\s*(?:pause|wait|stop)\s*:", re.IGNORECASE)
#: A scene break as a book's text holds it: a pause, a line of its own.
SCENE_BREAK = "[pause:1s]"
#: A line of scene-break marks alone: stars, hashes, an asterism, tildes, rules, bullets.
_BREAK = re.compile(r"[ \t]*(?:[*#⁂~=•·\-–—_][ \t]*){1,40}")


def is_scene_break(line: str) -> bool:
    """Whether `line` is a scene break's marks alone ("* * *", "#", "⁂", "~~~")."""
    return _BREAK.fullmatch(line) is not None


def with_breaks(lines: list[str]) -> list[str]:
    """`lines` (a chapter's paragraphs) with each run of scene breaks as one `SCENE_BREAK`, and
    none before the first words or after the last."""
    out: list[str] = []
    for line in lines:
        if line == SCENE_BREAK or is_scene_break(line):
            if out and out[-1] != SCENE_BREAK:
                out.append(SCENE_BREAK)
        else:
            out.append(line)
    while out and out[-1] == SCENE_BREAK:
        out.pop()
    return out


def as_script(text: str, characters: Collection[str] = ()) -> str:
    """`text` (prose, a paragraph a line) with only its markup left as markup: the brackets
    that are not are read as words or dropped (see the module's docstring). `characters`:
    the voice library's names, lower case."""
    return "\n".join(_line(line, characters) for line in text.split("\n"))


def _line(line: str, characters: Collection[str]) -> str:
    if "[" not in line and "]" not in line:
        return line
    opening = len(line) - len(line.lstrip())

    def bracket(match: re.Match[str]) -> str:
        found = match.group(0)
        if found.startswith("\\"):
            return found
        if len(found) == 1:  # a bracket with no partner: a literal one
            return "\\" + found
        body = found[1:-1]
        if _REFERENCE.match(body) or _NOTE.match(body) or not body.strip():
            return " "
        if match.start() == opening or _PAUSE.match(body) or _names(body) & set(characters):
            return found
        return body

    out = _BRACKET.sub(bracket, line)
    return tidy_spaces(out) if out != line else line


def _names(body: str) -> set[str]:
    """What a tag body's parts might name (``de:Alice|seed:4`` -> de, alice, seed, 4), lower case."""
    return {piece.strip().lower() for part in body.split("|") for piece in part.split(":")}
