"""`polyvox check`: hear a finished render (or any audio file) against its script or subtitles
and report each segment (each cue): the words expected and heard, the word error rate, the
language, and flags.

Subtitles are heard cue by cue (each cue's stretch of the audio). A script is heard whole,
once, and the words heard are aligned with the script's words, so each segment gets the heard
words that line up with its own, wherever its audio lies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import attrs

from polyvox.audio import Audio
from polyvox.errors import EmptyTextError
from polyvox.listen import audiochecks
from polyvox.listen.heard import Heard
from polyvox.listen.hearing import Hearing, label
from polyvox.listen.verdict import LANGUAGE_CONFIDENCE, MAX_WER
from polyvox.listen.words import compounds, normalize, word_errors
from polyvox.render import sources
from polyvox.text import languages, markup, scripts

#: Audio flags that make sense for a stretch cut out of a longer file.
_STRETCH_FLAGS = ("silent", "clipped")


@attrs.frozen
class CheckRow:
    """One segment (or subtitle cue) of the file checked."""

    index: int
    text: str
    heard: str
    wer: float
    flags: tuple[str, ...]
    language: str | None = None
    heard_language: str | None = None
    #: Where its heard words are in the file (None: nothing of it heard).
    start: float | None = None
    end: float | None = None

    @property
    def passed(self) -> bool:
        return not self.flags

    def to_dict(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["wer"] = round(self.wer, 4)
        out["passed"] = self.passed
        return out


@attrs.frozen
class CheckReport:
    listener: str
    rows: tuple[CheckRow, ...]
    #: Flags of the whole file (silence, clipping).
    flags: tuple[str, ...] = ()
    #: What the check could not do (a language the listener does not hear: its audio alone checked).
    warnings: tuple[str, ...] = ()

    @property
    def failing(self) -> tuple[int, ...]:
        return tuple(r.index for r in self.rows if not r.passed)

    def to_dict(self) -> dict[str, Any]:
        return {"listener": self.listener, "flags": list(self.flags), "warnings": list(self.warnings),
                "failing": list(self.failing),
                "worst_wer": round(max((r.wer for r in self.rows), default=0.0), 4),
                "segments": [r.to_dict() for r in self.rows]}


def check(hearing: Hearing, audio: Audio, source: Any, *, listener: str | None = None, language: str | None = None,
          max_wer: float = MAX_WER, known_languages: Iterable[str] = ()) -> CheckReport:
    """`language`: of lines without a tag; None: read from each line's letters (Japanese for
    kana, English for Latin script), as a render reads them."""
    known_languages = tuple(known_languages)
    spec, model = hearing.resolve(listener)
    given = sources.read_source(source)
    multilingual = spec.multilingual(model)
    if isinstance(given, sources.Subtitles):
        return _cues(hearing, spec, model, audio, given, language or "en", max_wer, multilingual)
    segments = list(given.segments) if given.text is None else markup.parse(
        given.text, known_languages, warn=lambda kind, message: None)
    spoken = [(i, s.text, s.language or language or _by_letters(s.text, known_languages))
              for i, s in enumerate(segments) if not s.is_pause and s.text.strip()]
    if not any(c.isalnum() for _, text, _ in spoken for c in text):  # nothing any audio could be checked against
        raise EmptyTextError("nothing to check: the script has no words to hear (give the script the audio was "
                             "rendered from)")
    first = spoken[0][2]
    hint = None if multilingual or not spec.hears(model, first) else first
    heard = hearing.hear_with(spec, model, audio, hint)
    unheard = sorted({lang for _, _, lang in spoken if not spec.hears(model, lang)})
    rows = _align(spoken, heard, max_wer, multilingual, set(unheard))
    file_flags = tuple(f for f in audiochecks.flags(audio, 0) if f in _STRETCH_FLAGS)
    warnings = tuple(f"listener {label(spec, model)} does not hear {lang!r}: its lines' audio alone is checked "
                     "(a listener that hears it: --listener whisper:small)" for lang in unheard)
    return CheckReport(label(spec, model), tuple(rows), file_flags, warnings)


def _by_letters(text: str, known: tuple[str, ...]) -> str:
    """The language a line without a tag is in, by its letters: English for Latin script (or
    none), else the first language written in its script (Japanese for kana)."""
    script = scripts.main_script(text)
    if scripts.writes("en", script):
        return "en"
    return next((code for code in (*known, *languages.known_codes()) if script in scripts.written_in(code)), "en")


def _cues(hearing: Hearing, spec: Any, model: str, audio: Audio, given: sources.Subtitles, language: str,
          max_wer: float, multilingual: bool) -> CheckReport:
    from polyvox.listen.verdict import judge
    from polyvox.subtitles.speech import spoken, without_screen_marks

    rows = []
    for cue in given.cues:
        text = spoken(" ".join(s.text for s in markup.parse(without_screen_marks(cue.text), (),
                                                             warn=lambda kind, message: None) if s.text))
        if not text.strip():
            continue
        first, last = round(cue.start * audio.sample_rate), round(cue.end * audio.sample_rate)
        stretch = Audio(audio.samples[first:max(first, last)], audio.sample_rate)
        hint = None if multilingual or not spec.hears(model, language) else language
        heard = hearing.hear_with(spec, model, stretch, hint) if len(stretch.samples) else Heard(words=())
        verdict = judge(text, heard, stretch, language=language, max_wer=max_wer, multilingual=multilingual,
                        hears_language=spec.hears(model, language), listener=label(spec, model))
        flags = tuple(f for f in verdict.flags if f in ("words", "language", *_STRETCH_FLAGS))
        words = heard.words
        rows.append(CheckRow(cue.index, text, heard.text, verdict.wer, flags, language, heard.language,
                             cue.start + words[0].start if words else None,
                             cue.start + words[-1].end if words else None))
    if not rows:
        raise EmptyTextError(f"nothing to check: none of the {len(given.cues)} subtitle cues has words to hear")
    return CheckReport(label(spec, model), tuple(rows))


def _align(spoken: list[tuple[int, str, str]], heard: Heard, max_wer: float, multilingual: bool,
           unheard: set[str] = frozenset()) -> list[CheckRow]:
    """Each segment's share of the words heard in the whole file, by aligning all heard words
    with all expected words (an inserted word belongs to the segment of the word before it)."""
    ref: list[str] = []
    owner: list[int] = []  # the position in `spoken` of each expected word
    for n, (_, text, lang) in enumerate(spoken):
        words = normalize(text, lang)
        ref += words
        owner += [n] * len(words)
    hyp = compounds(ref, _heard_tokens(heard.words, spoken[0][2] if spoken else None))
    counts = [[0, 0, 0] for _ in spoken]  # substitutions, deletions, insertions
    got: list[list[Any]] = [[] for _ in spoken]
    if ref and hyp:
        import jiwer

        out = jiwer.process_words(" ".join(ref), " ".join(word for word, _ in hyp))
        for chunk in out.alignments[0]:
            if chunk.type == "insert":
                at = owner[chunk.ref_start_idx - 1] if chunk.ref_start_idx > 0 else 0
                counts[at][2] += chunk.hyp_end_idx - chunk.hyp_start_idx
                got[at] += hyp[chunk.hyp_start_idx:chunk.hyp_end_idx]
                continue
            for k in range(chunk.ref_end_idx - chunk.ref_start_idx):
                at = owner[chunk.ref_start_idx + k]
                if chunk.type == "delete":
                    counts[at][1] += 1
                    continue
                counts[at][0] += chunk.type == "substitute"
                got[at].append(hyp[chunk.hyp_start_idx + k])
    elif ref:
        for at in owner:
            counts[at][1] += 1
    rows = []
    language_off = (multilingual and heard.language is not None
                    and (heard.language_probability or 1.0) >= LANGUAGE_CONFIDENCE)
    for n, (index, text, lang) in enumerate(spoken):
        expected = sum(1 for o in owner if o == n)
        subs, dels, ins = counts[n]
        wer = (subs + dels + ins) / expected if expected else float(bool(ins))
        flags = ["words"] if word_errors(expected, subs, dels, ins) > max_wer and lang not in unheard else []
        if language_off and heard.language and heard.language.split("-")[0] != lang.split("-")[0]:
            flags.append("language")
        times = [w for _, w in got[n]]
        rows.append(CheckRow(index, text, " ".join(word for word, _ in got[n]), wer, tuple(flags), lang,
                             heard.language, times[0].start if times else None, times[-1].end if times else None))
    return rows


def _heard_tokens(words: Any, language: str | None) -> list[tuple[str, Any]]:
    """The heard words as normalized tokens, each with the word it came from (its times). A
    figure a listener writes in pieces ("$1", ",234", ".56"; "555-", "0142") is read whole, as
    `verify` reads a take's whole text: piece by piece it was "one dollar two hundred…"."""
    groups: list[tuple[str, Any]] = []
    for word in words:
        text = word.text.strip()
        before = groups[-1][0] if groups else ""
        if before and text and (text[0] in ",.:%" or (text[0].isdigit() and before[-1:] in "$£€-:/")
                                or (text[:1] == "-" and text[1:2].isdigit() and before[-1:].isdigit())):
            groups[-1] = (before + text, groups[-1][1])
        elif before[-1:].isdigit() and _HALF_DAY.fullmatch(text):  # "930" "PM": one time
            groups[-1] = (f"{before} {text}", groups[-1][1])
        else:
            groups.append((text, word))
    return [(token, word) for text, word in groups for token in normalize(text, language)]


_HALF_DAY = re.compile(r"[AaPp]\.?[Mm]\.?")
