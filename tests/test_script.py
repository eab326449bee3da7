"""Script markup: a golden table of examples, malformed tags, and property tests."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import polyvox
from polyvox import ScriptError
from polyvox.errors import PolyvoxError
from polyvox.text import languages
from polyvox.text import markup as script
from polyvox.text.segment import speakable


def rows(text: str, known: tuple[str, ...] = ()) -> list[tuple]:
    """(character, language, text, pause, params) per segment: what the table compares."""
    return [(s.character, s.language, s.text, s.pause, dict(s.params)) for s in script.parse(text, known)]


GOLDEN = [
    ("Once upon a time, said the narrator.", [(None, None, "Once upon a time, said the narrator.", 0.0, {})]),
    ("[Alice] Hello Bob!", [("Alice", None, "Hello Bob!", 0.0, {})]),
    ("[Alice] Hello Bob! [pause:0.5s] How are you?",
     [("Alice", None, "Hello Bob!", 0.0, {}), ("Alice", None, "", 0.5, {}), ("Alice", None, "How are you?", 0.0, {})]),
    ("[de:Bob] Guten Tag, Alice.", [("Bob", "de", "Guten Tag, Alice.", 0.0, {})]),
    ("[fr:] Bonjour à tous.", [(None, "fr", "Bonjour à tous.", 0.0, {})]),
    ("[German:Bob] Hallo.", [("Bob", "de", "Hallo.", 0.0, {})]),
    ("[pt-BR:] Olá.", [(None, "pt-br", "Olá.", 0.0, {})]),
    ("[Deutsch:Bob] Hallo.", [("Bob", "de", "Hallo.", 0.0, {})]),
    ("[Alice|seed:42|temperature:0.6] Own parameters.",
     [("Alice", None, "Own parameters.", 0.0, {"seed": 42, "temperature": 0.6})]),
    ("[Alice|temp:0.5|cfg:0.3|exag:0.7] Aliases.",
     # Short names stay as written: each engine resolves them to its own parameter.
     [("Alice", None, "Aliases.", 0.0, {"temp": 0.5, "cfg": 0.3, "exag": 0.7})]),
    ("[de:Bob|speed=1.2] Schnell.", [("Bob", "de", "Schnell.", 0.0, {"speed": 1.2})]),
    ("[pause:1.5]", [(None, None, "", 1.5, {})]),
    ("[pause:1.5s]", [(None, None, "", 1.5, {})]),
    ("[pause:500ms]", [(None, None, "", 0.5, {})]),
    ("[wait:2]", [(None, None, "", 2.0, {})]),
    ("[PAUSE: 250 ms]", [(None, None, "", 0.25, {})]),
    ("[pause:0]", []),
    ("[pause:30s]", [(None, None, "", 30.0, {})]),
    # A tag holds until the next tag or the end of the line; each line starts as the narrator.
    ("[Alice] One. [Bob] Two.\nThree.",
     [("Alice", None, "One.", 0.0, {}), ("Bob", None, "Two.", 0.0, {}), (None, None, "Three.", 0.0, {})]),
    ("[de:Bob] Eins. [Alice] Two.", [("Bob", "de", "Eins.", 0.0, {}), ("Alice", None, "Two.", 0.0, {})]),
    ("[Alice] Hi. [narrator] Said she.", [("Alice", None, "Hi.", 0.0, {}), (None, None, "Said she.", 0.0, {})]),
    ("[Mr. Smith] Good day.", [("Mr. Smith", None, "Good day.", 0.0, {})]),
    ("Text [Alice]", [(None, None, "Text", 0.0, {})]),
    # Literal brackets are escaped; a stray ']' is text.
    (r"Array \[0\] is first.", [(None, None, "Array [0] is first.", 0.0, {})]),
    ("A smiley :] here", [(None, None, "A smiley :] here", 0.0, {})]),
    ("\ufeff[Alice] BOM first.\r\n\r\nNext.",
     [("Alice", None, "BOM first.", 0.0, {}), (None, None, "Next.", 0.0, {})]),
    ("", []),
    ("   \n\n", []),
]


@pytest.mark.parametrize(("text", "expected"), GOLDEN, ids=[g[0][:30] or "empty" for g in GOLDEN])
def test_golden_table(text: str, expected: list[tuple]) -> None:
    assert rows(text) == expected


def test_lines_are_recorded() -> None:
    segs = script.parse("One.\n\n[Alice] Three. [pause:1] More.")
    assert [s.line for s in segs] == [1, 3, 3, 3]


def test_codes_an_engine_declares_are_accepted() -> None:
    # 'nan-tw' (Taiwanese Hokkien) is in no table of polyvox's own, but an engine may declare it.
    with pytest.raises(ScriptError, match="unknown language 'nan-TW'"):
        script.parse("[nan-TW:] text", strict=True)
    assert rows("[nan-TW:] text", known=("nan-tw",)) == [(None, "nan-tw", "text", 0.0, {})]


def test_language_names_and_regions() -> None:
    cases = {"Croatian": "hr", "Cantonese": "yue", "Latin American Spanish": "es-419", "en_GB": "en-gb",
             "Filipino": "tl", "Brazilian Portuguese": "pt-br", "日本語": "ja"}
    for name, code in cases.items():
        (seg,) = script.parse(f"[{name}:Bob] x")
        assert seg.language == code, name


def test_every_language_the_installed_engines_declare_parses(kernel: polyvox.Kernel) -> None:
    codes = kernel.planner.all_language_codes()
    assert codes, "Piper declares its languages"
    for code in sorted(codes):
        (seg,) = script.parse(f"[{code}:] x", codes)
        assert seg.language == languages.normalize(code, codes)
        upper = code.upper() if "-" not in code else code.split("-")[0] + "-" + code.split("-")[1].upper()
        (seg,) = script.parse(f"[{upper}:Bob] x", codes)
        assert seg.language == languages.normalize(code, codes) and seg.character == "Bob"


MALFORMED = [
    ("[Alice Hello", r"^line 1, column 1: unclosed tag '\['"),
    ("ok\n  [pause:abc]", r"^line 2, column 3: pause 'abc' is not a duration"),
    ("[pause:31]", r"^line 1, column 1: pause '31' is out of range: expected 0 to 30 seconds"),
    ("[pause:-1]", r"not a duration"),
    ("[pause:1|seed:2]", r"takes no parameters"),
    ("[]", r"^line 1, column 1: empty tag \[\]"),
    ("x [Klingon:Bob] y", r"^line 1, column 3: unknown language 'Klingon' in tag \[Klingon:Bob\]"),
    ("[Alice|seed] x", r"tag \[Alice\|seed\] names 2 speakers"),
    ("[Alice|:3] x", r"is not key:value"),
    ("[Alice|seed:x] x", r"seed 'x' is not valid"),
    ("[../etc/passwd] x", r"^line 1, column 1: character name '../etc/passwd' in tag .* is not allowed"),
    ("[a [b] c", r"unclosed tag"),
    ("[de:Bob:x:y] z", r"has 3 ':'"),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_malformed_tags_are_script_errors_with_line_and_column_when_strict(text: str, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        script.parse(text, strict=True)


@pytest.mark.parametrize(("text", "message"), [m for m in MALFORMED if "Klingon" not in m[0]])
def test_malformed_tags_are_warnings_and_the_words_go_on_by_default(text: str, message: str) -> None:
    said: list[tuple[str, str]] = []
    segs = script.parse(text, warn=lambda kind, msg: said.append((kind, msg)))
    assert len(said) == 1 and re.search(message, said[0][1]), said
    assert said[0][0].startswith("markup-")
    # The words around the bad tag are still spoken.
    spoken = " ".join(s.text for s in segs)
    assert all(w in spoken for w in ("x", "ok", "Hello", "c") if f" {w}" in f" {text}")


def test_an_unknown_prefix_is_a_character_with_an_emotion_reference_when_lenient() -> None:
    # TAS: [Klingon:Bob] is the character Klingon with the emotion reference Bob; the planner
    # then warns that Klingon has no voice.
    (seg,) = script.parse("[Klingon:Bob] y", warn=lambda kind, msg: pytest.fail(msg))
    assert (seg.character, seg.language, seg.emotion) == ("Klingon", None, "Bob")


def test_non_text_is_refused() -> None:
    with pytest.raises(ScriptError, match="must be text"):
        script.parse(b"bytes")  # type: ignore[arg-type]


def test_without_a_warn_callback_problems_are_python_warnings() -> None:
    with pytest.warns(script.MarkupWarning, match="cut to 30 s"):
        (seg,) = script.parse("[pause:60]")
    assert seg.pause == 30.0


# -- properties -------------------------------------------------------------------------------
_WORD = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),
                                       blacklist_characters="[]\\\x85"), min_size=1, max_size=8)
_TAG = st.sampled_from(["[Alice]", "[de:Bob]", "[fr:]", "[pause:0.2]", "[wait:300ms]", "[Alice|seed:3]",
                        "[German:Carl|temp:0.4]", "[narrator]", "[pt-BR:]"])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_WORD, _TAG, st.just("\n")), max_size=40))
def test_words_are_never_lost_or_duplicated(tokens: list[str]) -> None:
    text = " ".join(tokens)
    segs = script.parse(text)
    spoken = [w for s in segs for w in s.text.split()]
    expected = [t for t in tokens if not t.startswith("[") and t != "\n"]
    assert spoken == [w for t in expected for w in t.split()]
    assert all(s.pause > 0 or s.text for s in segs)


@settings(max_examples=500)
@given(st.text(max_size=200))
def test_arbitrary_text_raises_only_script_errors(text: str) -> None:
    try:
        segs = script.parse(text, strict=True)
    except PolyvoxError:
        return
    # Text without markup characters comes through word for word (control characters and
    # terminal escapes are no words).
    if not re.search(r"[\[\]\\]", text):
        words = [w for line in speakable(text.lstrip("\ufeff")).splitlines() for w in line.split()]
        assert [w for s in segs for w in s.text.split()] == words


@settings(max_examples=300)
@given(st.text(alphabet="[]|:\\ab.-1 s\n", max_size=60))
def test_bracket_soup_raises_only_script_errors(text: str) -> None:
    try:
        script.parse(text, ("en",), strict=True)
    except PolyvoxError:
        pass
    script.parse(text, ("en",), warn=lambda kind, msg: None)  # lenient: never raises


def test_pauses_never_resynthesize_the_speech_around_them(tone_kernel: polyvox.Kernel) -> None:
    first = tone_kernel.render("[Alice] One. [pause:0.5] Two.\nThree.", engine="tone")
    assert first.stats.synthesized == 3
    for edited in ("[Alice] One. [pause:2s] Two.\nThree.", "[Alice] One. [wait:100ms] Two.\n[pause:1]\nThree.",
                   "[Alice] One. [pause:0] Two.\nThree."):
        again = tone_kernel.render(edited, engine="tone")
        assert again.stats.synthesized == 0, edited
    longer = tone_kernel.render("[Alice] One. [pause:2s] Two.\nThree.", engine="tone")
    assert longer.audio.duration == pytest.approx(first.audio.duration + 1.5, abs=0.001)


def test_segment_parameters_are_validated_against_the_engine(tone_kernel: polyvox.Kernel) -> None:
    # lenient (TTS Audio Suite): the bad value is dropped with a warning, the render goes on
    lenient = tone_kernel.render("Fine.\n[Alice|rate:9] Too fast.", engine="tone")
    assert any("rate=9" in w and "expected float in 0.5..2.0" in w and "(dropped)" in w for w in lenient.warnings)
    assert lenient.segments[1].segment.text == "Too fast."
    plain = tone_kernel.render("[Alice] Too fast.", engine="tone")
    assert lenient.segments[1].key == plain.segments[0].key  # spoken with the default rate
    with pytest.raises(polyvox.ParameterError, match=r"line 2.*rate=9.*expected float in 0.5..2.0"):
        tone_kernel.render("Fine.\n[Alice|rate:9] Too fast.", engine="tone", strict=True)
    result = tone_kernel.render("[Alice|speed:1.5|warp:3] Known alias, unknown key.", engine="tone")
    assert any("no parameter 'warp'" in w and "(dropped)" in w for w in result.warnings)


def test_speakable_drops_exactly_the_control_characters_that_are_not_white_space() -> None:
    """Every code point, against the definition (category Cc, not white space) character by character."""
    import unicodedata

    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    kept = "".join(c for c in every if c.isspace() or unicodedata.category(c) != "Cc")
    assert speakable(every) == kept and len(every) - len(kept) == 55
    assert speakable("a\x1b[1;31mb\x1b[0m\x00c\td\x85e\x9f") == "abc\td\x85e"  # NEL is white space


def test_a_stage_direction_in_brackets_is_said_to_name_a_character():
    """"[Alice] [laughs] That is funny." gave Alice nothing and a character "laughs" the line
    (with --cast auto, a voice of its own) without a word."""
    said: list[tuple[str, str]] = []
    segments = script.parse("[Alice] [laughs] That is funny.\n[Alice] Hi. [Bob] Yo.", ("en",),
                            warn=lambda kind, message: said.append((kind, message)))
    assert [(s.character, s.text) for s in segments] == [("laughs", "That is funny."), ("Alice", "Hi."), ("Bob", "Yo.")]
    assert [kind for kind, _ in said] == ["markup-stage-direction"]
    assert "[Alice] says nothing before [laughs]" in said[0][1] and said[0][1].startswith("line 1, column 9")
