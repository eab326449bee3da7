"""What of a subtitle is spoken: the words, not what the file shows around them.

Subtitles written for the screen carry things a voice should not say. Piper's phonemizer
reads ``♪`` as "symbol two six six A", ``#`` (older files' music marker) as "hash", and a lone
``!`` as "exclamation"; hearing-impaired annotations such as ``(laughs)`` would be read as
words. So, before a cue's markup is parsed:

- music notes (``♪ ♫ ♬ ♩``) go, and a ``#`` standing alone at either end of a line; the lyrics
  between them are spoken;
- a speaker's dash goes (``- Hi. - Hello.``: two people in one cue), and so does a speaker's
  label in capitals at a line's start (``JOHN: Hi.``, ``- MARY JANE: Hello.``), as subtitle
  editors' hearing-impaired removal does; ``Speaker 1:`` is markup and stays;
- text in parentheses goes (``(laughs)``, ``(DOOR CREAKS)``), as subtitle editors' "remove
  text for the hearing impaired" does; square brackets are polyvox markup (``[Alice]``,
  ``[pause:1s]``), and one that names no tag is read as a character, so ``[DOOR SLAMS]`` is
  not spoken either; a bracket that runs over a line end, never markup, goes like a
  parenthesis;

and after it, a piece with no letter or digit (``...``, ``?!``, a leftover speaker dash) is
not spoken. The cue's text itself is kept as it was (the timing report and the adjusted SRT
show ``♪`` and ``(laughs)`` still): only what reaches the engine changes. Removed text is
replaced by spaces, not cut, so the line and column of a markup problem still point into
the cue as written.
"""

from __future__ import annotations

import re

_MUSIC = re.compile(r"[\u2669\u266a\u266b\u266c]")
_HASH_MARK = re.compile(r"^[ \t]*#+(?=\s|$)|(?<=\s)#+(?=[ \t]*$)", re.MULTILINE)
#: A dash that starts a speaker's words: at a line's start, or after the end of a sentence.
_SPEAKER_DASH = re.compile(r"^[ \t]*[-\u2013\u2014](?=[ \t]|[^\W\d_])"
                           r"|(?<=[.!?\u2026][ \t])[ \t]*[-\u2013\u2014](?=[ \t])", re.MULTILINE)
_PARENTHESES = re.compile(r"\([^()]*\)")
#: A line's first words before a colon: a speaker's label when they are all capitals.
_LABEL = re.compile(r"^([ \t]*(?:[-\u2013\u2014][ \t]*)?)([^\n:\[\]()]{2,40}):(?=\s|$)", re.MULTILINE)
_BRACKET_OVER_LINES = re.compile(r"\[[^\[\]]*\n[^\[\]]*\]")


def without_screen_marks(text: str) -> str:
    """`text` (a cue's, markup kept) with music marks, speaker dashes and annotations blanked
    out; annotations first, so a dash or ``#`` they stood before is at its line's start."""
    for mark in (_BRACKET_OVER_LINES, _PARENTHESES, _MUSIC, _HASH_MARK):
        text = mark.sub(_blank, text)
    text = _LABEL.sub(_blank_label, text)
    return _SPEAKER_DASH.sub(_blank, text)


def spoken(text: str) -> str:
    """A parsed piece's words, spacing tidied; "" when it has no letter or digit to say."""
    if not any(ch.isalnum() for ch in text):
        return ""
    return " ".join(text.split())


def _blank_label(match: re.Match[str]) -> str:
    """A speaker's label (``JOHN:``, ``DR. WHO 2:``, ``JOHN (V.O.):`` once its note is blanked)
    blanked with its colon; other text kept. On a line all in capitals (older captions) a label
    is a name of one or two words: "HERE'S THE THING: WE'RE LATE" is speech."""
    label = match.group(2)
    if not any(c.isalpha() for c in label) or label != label.upper() or label.strip() != label.rstrip():
        return match.group(0)
    end = match.string.find("\n", match.end())
    line = match.string[match.end(): end if end >= 0 else None]
    shouting = any(c.isalpha() for c in line) and line == line.upper()
    if shouting and (len(label.split()) > 2 or "'" in label or "\u2019" in label):
        return match.group(0)
    return match.group(1) + " " * (len(label) + 1)


def _blank(match: re.Match[str]) -> str:
    """Spaces in place of the match, its line ends kept (lines and columns stay where they were)."""
    return re.sub(r"[^\n]", " ", match.group(0))
