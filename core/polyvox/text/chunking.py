"""Splitting long text under an engine's max characters.

Sentence ends first (pysbd, a rule-based multilingual sentence splitter), then clause
punctuation (commas, semicolons, colons, dashes), then word boundaries; inside a word only
where the word alone is over the limit (a URL, a hash, a 4,000-letter "word", a script written
without spaces), at the limit. So no text ever reaches an engine longer than it declared: an
engine's memory and time grow with the audio one call makes (Piper's with every second of it),
and one call is what a short request waiting behind a long one waits for.
Sentences that fit together share a chunk, so short texts are never cut at all.
Each chunk after the first records how it joins the previous one (`Segment.join`), and
`joins.JoinConfig` decides what that means: silence after a sentence, a crossfade
after a clause or word split.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable
from typing import Any

import attrs

from polyvox.text.segment import Segment

#: Where a clause may end: after these, followed by whitespace.
_CLAUSE_END = re.compile(r"(?<=[,;:—–])\s+|(?<=[，、；：])\s*|\s+(?=[—–-]\s)")


_WIDE_TERMINATORS = set("。！？｡…．」』")

#: A numbered-list marker at the start of a part: "2. " (pysbd starts list items there).
_LIST_MARKER = re.compile(r"\d{1,3}\.(?=\s)")
#: What a part that ends a sentence ends with (before closing quotes and brackets).
_SENTENCE_END = set(".!?…:;") | _WIDE_TERMINATORS


def chunk_segments(segments: list[Segment], max_chars: Callable[[Segment], int],
                   speak: Callable[[Segment], Callable[[str], str] | None] | None = None) -> list[Segment]:
    """Each segment whose text exceeds `max_chars(segment)` becomes several, in order.

    `speak(segment)`: how the engine's text is made from the written one (lexicon and
    normalization), or None. The spoken text is what must fit: a segment whose spoken form is
    too long is split as written, under a limit shrunk by how much speaking lengthens it, and
    each piece is spoken on its own, so every chunk keeps its own written text."""
    out: list[Segment] = []
    for seg in segments:
        if seg.is_pause or not seg.text:
            out.append(seg)
            continue
        limit = max(1, int(max_chars(seg)))
        say = speak(seg) if speak is not None else None
        written = " ".join(seg.text.split())
        whole = None
        if say is not None:
            whole = say(written)
            if len(whole) > len(seg.text):
                limit = max(1, limit * len(seg.text) // len(whole))
        pieces = split_text(seg.text, limit, seg.language)
        for n, (text, join) in enumerate(pieces):
            spoken = None if say is None else whole if text == written else say(text)
            out.append(attrs.evolve(seg, text=text, join=seg.join if n == 0 else join,
                                    spoken=spoken if spoken != text else None))
    return out


def split_text(text: str, max_chars: int, language: str | None = None) -> list[tuple[str, str]]:
    """(chunk, how it joins the previous chunk) pairs; a text that fits is one chunk."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return [(text, "none")] if text else []
    out: list[tuple[str, str]] = []
    for sentence in _pack(sentences(text, language), max_chars):
        for clause_no, clause in enumerate(_pack(_clauses(sentence), max_chars)):
            pieces = (cut for packed in _pack(clause.split(" "), max_chars) for cut in _cut(packed, max_chars))
            for word_no, piece in enumerate(pieces):
                join = "word" if word_no else "clause" if clause_no else "sentence"
                out.append((piece, join if out else "none"))
    return out


def _cut(word: str, max_chars: int) -> list[str]:
    """`word` in pieces of at most `max_chars` characters (one piece if it fits), never between
    a character and a mark or joiner that belongs to it."""
    pieces = []
    start = 0
    while len(word) - start > max_chars:
        end = start + max_chars
        while end > start + 1 and (_attached(word[end]) or word[end - 1] == "\u200d"):
            end -= 1
        pieces.append(word[start:end])
        start = end
    pieces.append(word[start:])
    return pieces


def _attached(char: str) -> bool:
    """A combining mark, variation selector or zero-width joiner: part of the character before it."""
    return unicodedata.category(char) in ("Mn", "Mc", "Me") or char == "\u200d"


def sentences(text: str, language: str | None = None) -> list[str]:
    """Sentences of `text` (pysbd; languages it lacks use its English rules). A boundary
    pysbd puts inside a word (no whitespace there) is not taken."""
    if not isinstance(text, str):
        from polyvox.errors import ScriptError

        raise ScriptError(f"sentences() takes the text as a str, not {type(text).__name__}")
    text = text.lstrip()  # pysbd drops leading whitespace, which would read as a changed text
    found = _segmenter(_pysbd_language(language)).segment(text)
    if "".join(found) != text:  # pysbd changed the text: do not trust its boundaries
        return [text.strip()] if text.strip() else []
    out: list[str] = []
    for part in found:
        if out and not _boundary(out[-1], part):
            out[-1] += part
        else:
            out.append(part)
    return [p.strip() for p in _numbers_back(out) if p.strip()]


def _numbers_back(parts: list[str]) -> list[str]:
    """pysbd reads "he scored 1. She scored 2." as a numbered list and splits before each
    number. A list item starts after a colon, a line break or another item; anywhere else
    the number ends the sentence before it, so it goes back there."""
    out = list(parts)
    for n in range(1, len(out)):
        marker = _LIST_MARKER.match(out[n])
        before = out[n - 1]
        if marker is None or not before.strip() or before.endswith("\n") or _LIST_MARKER.match(before.lstrip()):
            continue
        if before.rstrip().rstrip("\"'”’»)]")[-1:] in _SENTENCE_END:
            continue
        out[n - 1] = before + marker.group()
        out[n] = out[n][marker.end():]
    return out


def _boundary(before: str, after: str) -> bool:
    """A sentence may end between `before` and `after`: at whitespace, or after a full-width
    terminator (scripts written without spaces)."""
    return before[-1:].isspace() or after[:1].isspace() or before[-1:] in _WIDE_TERMINATORS


def _clauses(sentence: str) -> list[str]:
    return [c for c in _CLAUSE_END.split(sentence) if c]


def _pack(parts: list[str], max_chars: int) -> list[str]:
    """Greedily join consecutive parts with spaces while the result fits; a part that is
    too long on its own is returned alone (the next level splits it further)."""
    out: list[str] = []
    for part in parts:
        if out and len(out[-1]) + 1 + len(part) <= max_chars:
            out[-1] = f"{out[-1]} {part}"
        else:
            out.append(part)
    return out


def _pysbd_language(language: str | None) -> str:
    from pysbd.languages import LANGUAGE_CODES

    base = (language or "en").split("-")[0].lower()
    return base if base in LANGUAGE_CODES else "en"


#: pysbd's Segmenter keeps the text being split on itself, so one instance shared by renders in
#: several threads (a server) mixes their texts up: each thread gets its own.
_LOCAL = threading.local()


def _segmenter(language: str) -> Any:
    cache = _LOCAL.__dict__.setdefault("segmenters", {})
    if language not in cache:
        import pysbd

        cache[language] = pysbd.Segmenter(language=language, clean=False)
    return cache[language]
