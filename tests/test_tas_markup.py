"""TTS Audio Suite's documented script forms mean in polyvox what they mean in TAS.

The forms are our own copies of the kinds of example TAS's guides and parser show; the
expected readings are TAS's (its character parser, pause processor and language table).
"""

from __future__ import annotations

import pytest

from polyvox import ParamSpec
from polyvox.errors import ScriptError
from polyvox.plugin.spec import EngineSpec
from polyvox.text import languages
from polyvox.text import markup as script

V = {}  # no emotion weights


def read(text: str, characters: tuple[str, ...] = ()) -> list[tuple]:
    said: list[str] = []
    segs = script.parse(text, characters=characters, warn=lambda kind, msg: said.append(msg))
    assert not said, said
    return [(s.character, s.language, s.text, s.pause, dict(s.params), s.emotion, dict(s.emotion_vector))
            for s in segs]


# (script, [(character, language, text, pause, params, emotion, emotion weights), ...])
TAS_EXAMPLES = [
    # Languages by country, name, abbreviation; TAS's readings of the ambiguous ones.
    ("[Brazil:Bob] Olá.", [("Bob", "pt-br", "Olá.", 0.0, {}, None, V)]),
    ("[USA:] Hi.", [(None, "en", "Hi.", 0.0, {}, None, V)]),
    ("[Portugal:] Olá.", [(None, "pt-pt", "Olá.", 0.0, {}, None, V)]),
    ("[jp:Alice] Konnichiwa.", [("Alice", "ja", "Konnichiwa.", 0.0, {}, None, V)]),
    ("[se:] Hej.", [(None, "sv", "Hej.", 0.0, {}, None, V)]),
    ("[uk:] Cheers.", [(None, "en", "Cheers.", 0.0, {}, None, V)]),
    ("[Portuguese:] Olá.", [(None, "pt-pt", "Olá.", 0.0, {}, None, V)]),
    ("[mandarin:] Ni hao.", [(None, "zh-cn", "Ni hao.", 0.0, {}, None, V)]),
    ("[germany:Karl] Hallo.", [("Karl", "de", "Hallo.", 0.0, {}, None, V)]),
    ("[gr:] Yia.", [(None, "el", "Yia.", 0.0, {}, None, V)]),
    ("[cz:] Ahoj.", [(None, "cs", "Ahoj.", 0.0, {}, None, V)]),
    ("[kr:] Annyeong.", [(None, "ko", "Annyeong.", 0.0, {}, None, V)]),
    ("[dk:] Hej.", [(None, "da", "Hej.", 0.0, {}, None, V)]),
    ("[br:] Oi.", [(None, "pt-br", "Oi.", 0.0, {}, None, V)]),
    ("[Taiwan:] Ni hao.", [(None, "zh-tw", "Ni hao.", 0.0, {}, None, V)]),
    # A language alone, without the colon, is narration in that language.
    ("[de] Hallo zusammen.", [(None, "de", "Hallo zusammen.", 0.0, {}, None, V)]),
    ("[it] Ciao a tutti.", [(None, "it", "Ciao a tutti.", 0.0, {}, None, V)]),
    ("[French] Bonjour.", [(None, "fr", "Bonjour.", 0.0, {}, None, V)]),
    # A trailing colon is stripped from a character's name.
    ("[Alice:] Hello.", [("Alice", None, "Hello.", 0.0, {}, None, V)]),
    # Pauses: pause, wait and stop, seconds or milliseconds.
    ("Wait. [stop:2] Go.", [(None, None, "Wait.", 0.0, {}, None, V), (None, None, "", 2.0, {}, None, V),
                            (None, None, "Go.", 0.0, {}, None, V)]),
    ("[Alice] One [wait:500ms] two", [("Alice", None, "One", 0.0, {}, None, V), ("Alice", None, "", 0.5, {}, None, V),
                                      ("Alice", None, "two", 0.0, {}, None, V)]),
    # Parameters in any order, with or without a language.
    ("[seed:42|Alice] Order does not matter.", [("Alice", None, "Order does not matter.", 0.0, {"seed": 42}, None, V)]),
    ("[seed:123|de:Alice] Hallo.", [("Alice", "de", "Hallo.", 0.0, {"seed": 123}, None, V)]),
    ("[de:Alice|seed:42|temp:0.7] Hallo.", [("Alice", "de", "Hallo.", 0.0, {"seed": 42, "temp": 0.7}, None, V)]),
    ("[SEED:7|Bob] Case.", [("Bob", None, "Case.", 0.0, {"seed": 7}, None, V)]),
    ("[Narrator|temp:0.4] Precise.", [(None, None, "Precise.", 0.0, {"temp": 0.4}, None, V)]),
    ("[Alice|instruction:Speak softly and calmly] Hello there.",
     [("Alice", None, "Hello there.", 0.0, {"instruction": "Speak softly and calmly"}, None, V)]),
    ("[Bob|quality:Telephone call quality|ambient_sound:Office room tone] Hear me?",
     [("Bob", None, "Hear me?", 0.0, {"quality": "Telephone call quality", "ambient_sound": "Office room tone"},
       None, V)]),
    # Parameter-only tags: the narrator speaks on with those parameters (TAS's reading).
    ("[seed:4|exag:1.0] Narrated.", [(None, None, "Narrated.", 0.0, {"seed": 4, "exag": 1.0}, None, V)]),
    ("[Alice] Hi [seed:4] again", [("Alice", None, "Hi", 0.0, {}, None, V),
                                   (None, None, "again", 0.0, {"seed": 4}, None, V)]),
    # Emotion references: the first name speaks, the second lends its emotion.
    ("[Alice:happy_sarah] Wonderful!", [("Alice", None, "Wonderful!", 0.0, {}, "happy_sarah", V)]),
    ("[de:Alice:angry_bob] Nein!", [("Alice", "de", "Nein!", 0.0, {}, "angry_bob", V)]),
    ("[Bob:br_ivan_raiva3|seed:3] Grr.", [("Bob", None, "Grr.", 0.0, {"seed": 3}, "br_ivan_raiva3", V)]),
    # Inline emotion weights, by name or as the eight-number vector.
    ("[sad:0.7|calm:0.2] Quietly.", [(None, None, "Quietly.", 0.0, {}, None, {"sad": 0.7, "calm": 0.2})]),
    ("[Alice|sad:0.5] Oh.", [("Alice", None, "Oh.", 0.0, {}, None, {"sad": 0.5})]),
    ("[vector:0,0,0.7,0,0,0.4,0,0.2] Low.",
     [(None, None, "Low.", 0.0, {}, None, {"happy": 0.0, "angry": 0.0, "sad": 0.7, "afraid": 0.0, "disgusted": 0.0,
                                            "melancholic": 0.4, "surprised": 0.0, "calm": 0.2})]),
    # A character may be named after an emotion: only a number makes it a weight.
    ("[sad:happy_ref] Hm.", [("sad", None, "Hm.", 0.0, {}, "happy_ref", V)]),
    # Speaker formats.
    ("Speaker 1: Hello there.", [("Speaker 1", None, "Hello there.", 0.0, {}, None, V)]),
    ("speaker2: Hi.", [("Speaker 2", None, "Hi.", 0.0, {}, None, V)]),
    ("[1] Hello.", [("Speaker 1", None, "Hello.", 0.0, {}, None, V)]),
    ("[S2] Hi.", [("Speaker 2", None, "Hi.", 0.0, {}, None, V)]),
    # Every line starts again as the narrator.
    ("[Alice] Wait for me,\nplease!", [("Alice", None, "Wait for me,", 0.0, {}, None, V),
                                       (None, None, "please!", 0.0, {}, None, V)]),
]


@pytest.mark.parametrize(("text", "expected"), TAS_EXAMPLES, ids=[t for t, _ in TAS_EXAMPLES])
def test_tas_examples_mean_what_they_mean_in_tas(text: str, expected: list[tuple]) -> None:
    assert read(text) == expected


def test_names_that_are_also_three_letter_codes_stay_characters_when_bare() -> None:
    # Ben, Cat, Dan, Yue are ISO 639-2/3 codes (Bengali, Catalan, Danish, Cantonese) and names.
    for name in ("Ben", "Cat", "Dan", "Yue", "Per", "May", "Mar"):
        assert read(f"[{name}] Hi.") == [(name, None, "Hi.", 0.0, {}, None, V)], name
    assert read("[eng] Hi.") == [(None, "en", "Hi.", 0.0, {}, None, V)]  # one TAS lists
    assert read("[USA] Hi.") == [(None, "en", "Hi.", 0.0, {}, None, V)]  # a TAS name, not a code
    assert read("[ben:Bob] x") == [("Bob", "bn", "x", 0.0, {}, None, V)]  # with a colon: a language


def test_a_known_character_wins_over_a_language_of_the_same_name() -> None:
    assert read("[de] Hallo.", characters=("De",)) == [("de", None, "Hallo.", 0.0, {}, None, V)]
    assert read("[it:Bob] x", characters=("it",)) == [("it", None, "x", 0.0, {}, "Bob", V)]
    assert read("[de:Bob] x", characters=("Bob",)) == [("Bob", "de", "x", 0.0, {}, None, V)]
    assert read("[S1] Hi", characters=("S1",)) == [("S1", None, "Hi", 0.0, {}, None, V)]
    assert read("Speaker 1: Hi", characters=("Speaker 1",)) == [("Speaker 1", None, "Hi", 0.0, {}, None, V)]


@pytest.mark.parametrize(("text", "warning", "expected"), [
    ("[pause:60] x", "pause '60' is out of range: expected 0 to 30 seconds; cut to 30 s",
     [(None, None, "", 30.0), (None, None, "x", 0.0)]),
    ("[Alice|seed:-3] Hi", "seed '-3' is not valid", [("Alice", None, "Hi", 0.0)]),
    ("[Alice|Bob] Hi", "names 2 speakers", [(None, None, "Hi", 0.0)]),
    ("[sad:+0.3] Hm", "relative adjustment", [(None, None, "Hm", 0.0)]),
    ("[calm:3] Hm", "out of range", [(None, None, "Hm", 0.0)]),
    ("[wait:soon] ok", "is not a duration", [(None, None, "ok", 0.0)]),
    # TAS reads [lang:Name:emotion] with an unknown language as Name speaking (its engine gets the
    # unknown code and falls back): the character still speaks, only the language is dropped.
    ("[Klingon:Alice:angry_bob] Hi", "unknown language 'Klingon'", [("Alice", None, "Hi", 0.0)]),
])
def test_lenient_problems_warn_and_the_render_goes_on(text: str, warning: str, expected: list[tuple]) -> None:
    said: list[tuple[str, str]] = []
    segs = script.parse(text, warn=lambda kind, msg: said.append((kind, msg)))
    assert len(said) == 1 and warning in said[0][1] and said[0][1].startswith("line 1, column 1: "), said
    assert [(s.character, s.language, s.text, s.pause) for s in segs] == expected
    with pytest.raises(ScriptError, match=r"^line 1, column 1: "):
        script.parse(text, strict=True)


def test_a_character_is_one_character_whatever_the_case_of_its_tags() -> None:
    # TAS lowercases every name; here the first spelling in the script stands for all of them,
    # so [alice] and [ALICE] are never told apart (as "characters that sound the same").
    segs = script.parse("[Alice] Hi.\n[alice] Hello.\n[de:ALICE] Hallo.\n[wizard] Ho.\n[Wizard] Ha.")
    assert [s.character for s in segs] == ["Alice", "Alice", "Alice", "wizard", "wizard"]


def test_commas_inside_a_name_are_dropped_as_tas_does() -> None:
    # TAS deletes , and the full-width ，： from a name wherever they are, not only at its ends.
    assert [s.character for s in script.parse("[Dr, Who] Hi.\n[小明，小红：] Yes.")] == ["Dr Who", "小明小红"]


def test_a_seed_written_as_a_whole_float_is_that_integer() -> None:
    # TAS reads integer parameters as int(float(value)): seed:42.0 is seed 42.
    (seg,) = script.parse("[Alice|seed:42.0] Hi.", warn=lambda kind, msg: pytest.fail(msg))
    assert seg.params == {"seed": 42}


def test_strict_refuses_an_emotion_form_whose_speaker_is_no_known_character() -> None:
    with pytest.raises(ScriptError, match="unknown language 'Alicia'"):
        script.parse("[Alicia:happy] x", strict=True, characters=("Alice",))
    (seg,) = script.parse("[Alice:happy] x", strict=True, characters=("Alice",))
    assert (seg.character, seg.emotion) == ("Alice", "happy")


def test_every_language_alias_of_tas_resolves_to_tas_code() -> None:
    # A sample across the table: names, native names, countries, abbreviations.
    table = {"deutschland": "de", "america": "en", "britain": "en", "brasil": "pt-br", "ptbr": "pt-br",
             "po": "pt-pt", "español": "es", "holland": "nl", "nihongo": "ja", "simplified": "zh-cn",
             "russia": "ru", "south korea": "ko", "odia": "or", "assamese": "as", "israel": "he", "iw": "he",
             "philippines": "tl", "pakistan": "ur", "south africa": "af", "kenya": "sw", "türkiye": "tr"}
    for name, code in table.items():
        assert languages.normalize(name) == code, name
        assert languages.normalize_bare(name) == code, name  # [america] Hi works too
    # uk is TAS's United Kingdom even when an engine declares Ukrainian's code; Ukrainian by name or region.
    assert languages.normalize("uk", ("uk",)) == "en"
    assert languages.normalize("ukrainian") == "uk" and languages.normalize("uk-UA") == "uk"


def _spec(*params: ParamSpec) -> EngineSpec:
    return EngineSpec("e", 16000, ("en",), "m", params=params)


def test_short_parameter_names_resolve_per_engine() -> None:
    chatterbox = _spec(ParamSpec("cfg_weight", 0.5, aliases=("cfg",)), ParamSpec("temperature", 0.8),
                       ParamSpec("exaggeration", 0.5), ParamSpec("top_p", 1.0))
    f5 = _spec(ParamSpec("cfg_strength", 2.0, aliases=("cfg", "cfg_weight")), ParamSpec("nfe_step", 32, type="int"))
    assert chatterbox.param("cfg").name == "cfg_weight"
    assert f5.param("cfg").name == "cfg_strength"
    assert chatterbox.param("temp").name == "temperature"
    assert chatterbox.param("exag").name == "exaggeration"
    assert chatterbox.param("topp").name == "top_p" and chatterbox.param("top-p").name == "top_p"
    # TAS's other short names: cfgweight is its cfg, on every engine that has one.
    assert chatterbox.param("cfgweight").name == "cfg_weight" and f5.param("cfgweight").name == "cfg_strength"
    echo = _spec(ParamSpec("sequence_length", 640, type="int"), ParamSpec("guidance_scale", 3.0),
                 ParamSpec("duration_seconds", 5.0), ParamSpec("inference_steps", 20, type="int"))
    assert [echo.param(n).name for n in ("seq_len", "guidance", "seconds", "num_step")] == [
        "sequence_length", "guidance_scale", "duration_seconds", "inference_steps"]
    # A common short name only applies where the engine has what it stands for.
    assert f5.param("temp") is None and f5.param("exag") is None
    final, unknown = f5.resolve_params({"cfg": 2.5, "temp": 0.3}, strict=False)
    assert final["cfg_strength"] == 2.5 and unknown == ["temp"]


def test_the_real_engine_specs_resolve_cfg_to_their_own_parameter() -> None:
    import runpy
    from pathlib import Path

    # The engines' parameter tables are plain data (no torch), read straight from the plugins.
    root = Path(__file__).resolve().parents[1] / "plugins"
    f5 = _spec(*runpy.run_path(str(root / "f5tts/polyvox_f5tts/params.py"))["PARAMS"])
    chatterbox = _spec(*runpy.run_path(str(root / "chatterbox/polyvox_chatterbox/params.py"))["PARAMS"])
    assert f5.param("cfg").name == "cfg_strength" and f5.param("cfg_weight").name == "cfg_strength"
    assert chatterbox.param("cfg").name == "cfg_weight"
    assert chatterbox.param("temp").name == "temperature" and chatterbox.param("exag").name == "exaggeration"
    assert f5.param("temp") is None
