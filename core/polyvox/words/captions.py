"""Captions from word times: WebVTT (webvtt-py), SRT (srt) or JSON, cues of at most N words or
one line, with each word's time inside the cue (WebVTT karaoke: ``<00:00:01.200><c>word</c>``)
on request."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs

from polyvox.errors import ParameterError
from polyvox.words.timing import WordTime

FORMATS = ("vtt", "srt", "json")


def _at_least_one(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value < 1:
        raise ParameterError(f"{attribute.name.replace('_', '-')} of {value!r} is out of range: expected 1 or more")


@attrs.frozen
class CaptionOptions:
    #: A cue holds at most this many words ...
    max_words: int = attrs.field(default=7, converter=int, validator=_at_least_one)
    #: ... and at most one line of this many characters (a longer single word gets a cue of its own).
    max_chars: int = attrs.field(default=42, converter=int, validator=_at_least_one)
    #: A silence this long (seconds) between two words starts a new cue.
    max_gap: float = 1.0
    #: Time each word inside its cue (WebVTT timestamp tags; JSON always has them).
    karaoke: bool = False


def cues(words: Sequence[WordTime], options: CaptionOptions = CaptionOptions()) -> list[tuple[WordTime, ...]]:
    """`words` in order, grouped into cues; a sentence's end ends its cue (so one cue never holds
    the end of a line and the start of the next, often another speaker's)."""
    out: list[list[WordTime]] = []
    full: set[int] = set()  # cues closed by the word count alone (their sentence goes on)
    for w in (piece for word in words for piece in _lines(word, options.max_chars)):
        cue = out[-1] if out else None
        if cue is not None and len(cue) >= options.max_words:
            full.add(len(out) - 1)
        if (cue is None or len(cue) >= options.max_words or w.start - cue[-1].end >= options.max_gap
                or w.start < cue[-1].start  # a line placed before the one above (subtitle cues that overlap)
                or (_ends_sentence(cue[-1].word) and not w.word[:1].islower())  # "5 p.m. on" goes on
                or len(" ".join(x.word for x in cue)) + 1 + len(w.word) > options.max_chars):
            out.append([w])
        else:
            cue.append(w)
    for i in sorted(full):  # "… at five" / "pm.": a word left alone takes the last word before it
        after = out[i + 1] if i + 1 < len(out) else []
        if len(out[i]) > 2 and len(after) == 1 and len(out[i][-1].word) + 1 + len(after[0].word) <= options.max_chars:
            after.insert(0, out[i].pop())
    # in time order, as WebVTT requires (a cue that overruns its slot may start after the next)
    return sorted((tuple(c) for c in out), key=lambda c: c[0].start)


def vtt(words: Sequence[WordTime], options: CaptionOptions = CaptionOptions()) -> str:
    import webvtt

    captions = []
    for cue in cues(words, options):
        if options.karaoke:  # the first word starts with the cue; each later one at its own time
            text = " ".join(f"<c>{_escape(w.word)}</c>" if i == 0
                            else f"<{_clock(w.start, '.')}><c>{_escape(w.word)}</c>" for i, w in enumerate(cue))
        else:
            text = " ".join(_escape(w.word) for w in cue)
        captions.append(webvtt.Caption(_clock(cue[0].start, "."), _clock(_end(cue), "."), text))
    return webvtt.WebVTT(captions=captions).content


def srt(words: Sequence[WordTime], options: CaptionOptions = CaptionOptions()) -> str:
    import srt as srt_lib

    subs = [srt_lib.Subtitle(i + 1, timedelta(seconds=cue[0].start), timedelta(seconds=_end(cue)),
                             " ".join(w.word for w in cue)) for i, cue in enumerate(cues(words, options))]
    return srt_lib.compose(subs)


def as_json(words: Sequence[WordTime], options: CaptionOptions = CaptionOptions()) -> str:
    return json.dumps({
        "words": [w.to_dict() for w in words],
        "cues": [{"start": round(c[0].start, 4), "end": round(_end(c), 4), "text": " ".join(w.word for w in c),
                  "words": [w.to_dict() for w in c]} for c in cues(words, options)],
    }, ensure_ascii=False, indent=1) + "\n"


def caption_format(path: str | Path) -> str:
    """The caption format of `path` by its extension, or `ParameterError` naming what is allowed."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ParameterError(f"captions file {str(path)!r} has no caption extension: use .vtt, .srt or .json")
    return suffix


def write(path: str | Path, words: Sequence[WordTime], options: CaptionOptions = CaptionOptions()) -> Path:
    """Write `words` as captions to `path` (.vtt, .srt or .json)."""
    writer = {"vtt": vtt, "srt": srt, "json": as_json}[caption_format(path)]
    path = Path(path)
    path.write_text(writer(words, options), encoding="utf-8")
    return path


#: A word that ends a sentence: . ! ? … (then closing quotes or brackets).
_SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’»)\]」』]*$")
#: A sentence of a text without spaces: up to its 。！？ (and what closes after it), or the rest.
_CJK_END = re.compile(r"[。！？](?![」』）)\"”’]*$)")
_CJK_SENTENCE = re.compile(r"[^。！？]+(?:[。！？][」』）)\"”’]*)?|[。！？][」』）)\"”’]*")
#: ... unless it is a short capitalized abbreviation (Mr., Dr., St.) or an initial (J.).
_ABBREVIATION = re.compile(r"^[A-Z][a-z]{0,2}\.$")


def _lines(word: WordTime, limit: int) -> list[WordTime]:
    """A word of several sentences or longer than a line (Japanese and Chinese have no spaces to
    break at) in pieces: at its sentences' ends (。！？), then each longer than `limit` characters
    as evenly as it comes; each piece timed by its share of the word's characters."""
    if len(word.word) <= limit and not _CJK_END.search(word.word[:-1]):
        return [word]
    texts = []
    for sentence in _CJK_SENTENCE.findall(word.word):
        count = -(-len(sentence) // limit)
        size = -(-len(sentence) // count)
        texts += [sentence[first:first + size] for first in range(0, len(sentence), size)]
    pieces, at, span = [], word.start, word.end - word.start
    for text in texts:
        end = at + span * len(text) / len(word.word)
        pieces.append(WordTime(text, at, end, word.source))
        at = end
    return pieces


def _ends_sentence(word: str) -> bool:
    return bool(_SENTENCE_END.search(word)) and not _ABBREVIATION.match(word)


def _end(cue: Sequence[WordTime]) -> float:
    return max(cue[-1].end, cue[0].start + 0.001)  # a cue lasts, even if its words were squeezed to nothing


def _clock(seconds: float, dot: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{dot}{ms:03d}"


def _escape(word: str) -> str:
    return word.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
