"""SSML input to segments, pauses and parameters; malformed and hostile documents (issue #35)."""

from __future__ import annotations

import pytest
from test_text_engines import Reader, _kernel

from polyvox.errors import ScriptError
from polyvox.text import ssml

DOC = """<speak xml:lang="en">Hello <break time="500ms"/>
<voice name="Alice"><prosody rate="slow">Take it slow.</prosody></voice>
<p>A <say-as interpret-as="characters">BBC</say-as> show, <sub alias="World Wide Web">WWW</sub>.</p>
<say-as interpret-as="ordinal">3</say-as> <say-as interpret-as="cardinal">42</say-as>
<say-as interpret-as="telephone">555-1234</say-as> <say-as interpret-as="date">12/03/2025</say-as>
<lang xml:lang="de">Guten Tag.</lang><break strength="strong"/><s>End.</s></speak>"""


def test_a_document_becomes_segments_pauses_and_parameters():
    warnings: list[str] = []
    segments = ssml.parse(DOC, warn=lambda kind, message: warnings.append(message))
    # what is said; as written (for word times and captions), each <say-as> and <sub> is its content
    got = [(ssml.said(s.text), s.pause, s.character, s.language, dict(s.params)) for s in segments]
    assert [ssml.as_written(s.text) for s in segments[3:5]] == ["A BBC show, WWW.",
                                                               "3 42 555-1234 12/03/2025"]
    assert got == [
        ("Hello", 0.0, None, "en", {}),
        ("", 0.5, None, "en", {}),
        ("Take it slow.", 0.0, "Alice", "en", {"speed": 0.8}),
        ("A B B C show, World Wide Web.", 0.0, None, "en", {}),
        ("third forty-two five five five, one two three four the twelfth of March twenty twenty-five",
         0.0, None, "en", {}),
        ("Guten Tag.", 0.0, None, "de", {}),
        ("", 0.7, None, "en", {}),
        ("End.", 0.0, None, "en", {}),
    ]
    assert warnings == []


def test_unsupported_elements_keep_their_text_with_one_warning_each():
    warnings: list[str] = []
    doc = "<speak><emphasis>very</emphasis> <emphasis>much</emphasis> <audio src='x.wav'>so</audio></speak>"
    (segment,) = ssml.parse(doc, warn=lambda kind, message: warnings.append(message))
    assert segment.text == "very much so"
    assert len(warnings) == 2 and "<emphasis>" in warnings[0] and "<audio>" in warnings[1]


def test_a_say_as_date_is_read_in_the_order_its_format_names():
    def said(layout: str, date: str = "12/03/2025") -> str:
        doc = f'<speak>On <say-as interpret-as="date" format="{layout}">{date}</say-as>.</speak>'
        return ssml.said(ssml.parse(doc)[0].text)

    assert said("mdy") == "On the third of December twenty twenty-five."
    assert said("dmy") == said("") == "On the twelfth of March twenty twenty-five."
    assert said("ymd", "2025-12-03") == "On the third of December twenty twenty-five."
    # two parts, a month alone, an eight-digit date (03/15 was "three fifteenths", 20240315 twenty million…)
    assert said("md", "03/15") == said("dm", "15/03") == "On the fifteenth of March."
    assert said("my", "03/2024") == said("ym", "2024-03") == "On March twenty twenty-four."
    assert said("m", "3") == "On March." and said("", "20240315") == "On the fifteenth of March twenty twenty-four."


def test_a_break_longer_than_markups_limit_is_cut_with_a_warning():
    warnings: list[str] = []
    segments = ssml.parse('<speak>One.<break time="99999s"/>Two.</speak>', warn=lambda k, m: warnings.append(m))
    assert [s.pause for s in segments if s.pause] == [30.0]
    assert len(warnings) == 1 and "99999s" in warnings[0] and "cut to 30 s" in warnings[0]


@pytest.mark.parametrize(("doc", "where"), [
    ("<speak>Hello <break time='1s'></speak>", "line 1, column 33"),
    ("<speak>\n  Hello\n  <voice name='A'>x</speak>", "line 3, column 22"),
    ("<speak>Tom & Jerry</speak>", "line 1, column 13"),
])
def test_malformed_ssml_is_one_line_with_line_and_column(doc, where):
    with pytest.raises(ScriptError) as info:
        ssml.parse(doc)
    assert where in str(info.value) and "\n" not in str(info.value)


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<speak>&lol3;</speak>"""
EXTERNAL = """<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><speak>&e;</speak>"""


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, EXTERNAL])
def test_entity_expansion_is_refused(doc):
    assert ssml.is_ssml(doc)
    with pytest.raises(ScriptError, match="SSML refused: EntitiesForbidden"):
        ssml.parse(doc)


def test_not_a_speak_document():
    assert not ssml.is_ssml("Hello <b>there</b>")
    with pytest.raises(ScriptError, match="one <speak> element"):
        ssml.parse("<voice>x</voice>")


def test_the_kernel_reads_ssml_and_phonemes_reach_a_phoneme_engine(tmp_path):
    doc = '<speak>I paid $5 to <phoneme ph="ʃɪˈvɔːn">Siobhan</phoneme>.<break time="1s"/>Bye.</speak>'
    phonemes = Reader(phonemes="[[ {} ]]")
    timed = _kernel(tmp_path / "a", phonemes).render(doc, engine="tone")
    assert phonemes.calls == ["I paid five dollars to [[ ʃɪˈvɔːn ]].", "Bye."]
    # the words as written: the name, not its phonemes or the markers that carry them
    assert [w.word for w in timed.words] == ["I", "paid", "$5", "to", "Siobhan.", "Bye."]
    # and a <sub>'s or <say-as>'s content, timed over the words it is said as
    said = _kernel(tmp_path / "c", Reader()).render(
        '<speak>I like <sub alias="World Wide Web Consortium">W3C</sub> a lot on the '
        '<say-as interpret-as="ordinal">3</say-as>.</speak>', engine="tone")
    assert [w.word for w in said.words] == ["I", "like", "W3C", "a", "lot", "on", "the", "3."]
    plain = Reader()
    result = _kernel(tmp_path / "b", plain).render(doc, engine="tone")
    assert plain.calls == ["I paid five dollars to Siobhan.", "Bye."]
    assert result.audio.duration > 1.0  # the break is in the audio


def test_the_server_reads_an_ssml_input(tmp_path):
    import httpx
    from servekit import running

    import polyvox

    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=[])
    engine = Reader()
    kernel.register(engine)
    doc = '<speak>It costs $5.<break time="300ms"/><sub alias="okay">OK</sub></speak>'
    with running(kernel, tmp_path) as server:
        ok = httpx.post(f"{server.url}/v1/audio/speech", timeout=30,
                        json={"model": "tone", "input": doc, "voice": "alloy", "response_format": "wav"})
        bad = httpx.post(f"{server.url}/v1/audio/speech", timeout=30,
                         json={"model": "tone", "input": "<speak>x <break></speak>", "voice": "alloy"})
    assert ok.status_code == 200, ok.text
    assert engine.calls == ["It costs five dollars.", "okay"]
    assert bad.status_code == 400 and "malformed SSML at line 1" in bad.json()["error"]["message"]


@pytest.mark.parametrize("language", ["de", "German"])
def test_a_document_without_xml_lang_is_read_in_the_renders_language(tmp_path, language):
    """A <speak> without xml:lang, rendered in German: its <say-as> are German words, as the
    plain text around them is (they were English: "Die twenty-one Katzen")."""
    reader = Reader()
    doc = ('<speak>Die <say-as interpret-as="cardinal">21</say-as> Katzen kamen um '
           '<say-as interpret-as="time">15:30</say-as>.</speak>')
    _kernel(tmp_path, reader).render(doc, engine="tone", language=language)
    assert reader.calls == ["Die einundzwanzig Katzen kamen um fünfzehn Uhr dreißig."]


@pytest.mark.parametrize("doc", ['<?xml version="1.0" encoding="UTF-8"?>\n<!-- generated -->\n'
                                 '<speak>Hi <break time="1s"/> there</speak>',
                                 '\n\n<?xml version="1.0"?>\n<speak>Hi <break time="1s"/> there</speak>'])
def test_a_comment_or_blank_line_before_speak_is_still_ssml(doc):
    """What SSML editors write first (a comment after the declaration, a blank line) keeps the
    document SSML: it was read aloud as text, tags and all, or refused."""
    assert ssml.is_ssml(doc)
    assert [(s.text, s.pause) for s in ssml.parse(doc)] == [("Hi", 0.0), ("", 1.0), ("there", 0.0)]


def test_say_as_characters_are_read_character_by_character_and_not_normalized_again(tmp_path):
    """`characters` spells what it holds: "1-2" is "one dash two" (it was read again as the range
    "one to two", and "10.5" as "one zero." with a sentence's end); a cardinal with thousands
    separators is a number (it warned that cardinal was not supported)."""
    reader = Reader()
    result = _kernel(tmp_path, reader).render(
        '<speak>Code <say-as interpret-as="characters">1-2</say-as>, <say-as interpret-as="characters">10.5'
        '</say-as> and <say-as interpret-as="cardinal">1,234</say-as> people.</speak>', engine="tone")
    assert reader.calls == ["Code one dash two, one zero dot five and one thousand two hundred and thirty-four "
                            "people."]
    assert not result.warnings


def test_a_prosody_rate_reaches_piper_and_relative_rates_are_relative(tmp_path):
    """Every Azure or Polly document has a <prosody rate>: the server refused it for Piper (400,
    "engine 'piper' has no parameter 'speed'"), and +20% was read as a rate of 0.2."""
    import httpx
    from servekit import running

    import polyvox

    rates = ssml.parse('<speak><prosody rate="+20%">a</prosody><prosody rate="-20%">b</prosody>'
                       '<prosody rate="150%">c</prosody></speak>')
    assert [dict(s.params) for s in rates if s.text] == [{"speed": 1.2}, {"speed": 0.8}, {"speed": 1.5}]
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=["piper"])
    doc = '<speak><prosody rate="slow">Slow words here.</prosody></speak>'
    (job,) = [j for j in kernel.plan(doc, strict=True) if j.request]
    assert job.request.params["length_scale"] == pytest.approx(1.25)  # Piper's, the inverse of the rate
    with running(kernel, tmp_path) as server:
        got = httpx.post(f"{server.url}/v1/audio/speech", timeout=60,
                         json={"model": "piper", "input": doc, "response_format": "pcm"})
    assert got.status_code == 200, got.text


def test_elevenlabs_breaks_in_plain_text_are_pauses(tmp_path):
    """ElevenLabs' clients put <break time="1.5s" /> in plain text, without <speak>: it was read
    aloud ("less than break time equals one point five second slash")."""
    import httpx
    import numpy as np
    from servekit import running

    import polyvox

    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=[])
    engine = Reader()
    kernel.register(engine)
    result = kernel.render('Hello <break time="1.5s" /> world & co.', engine="tone")
    assert [s.segment.pause for s in result.segments] == [0.0, 1.5, 0.0]
    assert engine.calls == ["Hello", "world and co."]
    engine.calls.clear()
    with running(kernel, tmp_path) as server:
        got = httpx.post(f"{server.url}/v1/audio/speech", timeout=30, json={
            "model": "tone", "input": 'Good <break time="1s"/> night & see you.', "response_format": "pcm"})
    assert got.status_code == 200, got.text
    assert engine.calls == ["Good", "night and see you."]
    samples = np.frombuffer(got.content, "<i2")
    silent = np.convolve(np.abs(samples) < 30, np.ones(1600), "valid") == 1600  # 0.1 s windows of silence
    assert silent.sum() > 8000  # about a second of it between the words


def test_documents_written_for_polly_speak_as_polly_reads_them():
    """<amazon:effect> without a declared prefix refused the whole document ("unbound prefix");
    say-as digits read a PIN as a number; an expletive was spoken in full; Japanese say-as put
    English words in a Japanese line (then refused as Latin script)."""
    said: list[str] = []
    polly = ssml.parse('<speak><amazon:effect name="whispered">Quiet.</amazon:effect> PIN '
                       '<say-as interpret-as="digits">2024</say-as>. Oh <say-as interpret-as="expletive">damn'
                       '</say-as> it.</speak>', warn=lambda kind, message: said.append(message))
    assert [(ssml.said(s.text), s.pause) for s in polly] == [("Quiet. PIN two zero two four. Oh", 0.0), ("", 0.5),
                                                             ("it.", 0.0)]
    assert any("<effect> is not supported" in m for m in said) and any("expletive" in m for m in said)
    japanese = ssml.parse('<speak xml:lang="ja-JP">番号は<say-as interpret-as="cardinal">123</say-as>です。</speak>')
    assert [ssml.said(s.text) for s in japanese] == ["番号は123です。"]


def test_a_telephone_number_keeps_its_plus():
    (segment,) = ssml.parse('<speak><say-as interpret-as="telephone">+1-800-555-0199</say-as></speak>')
    assert ssml.said(segment.text).startswith("plus one, eight zero zero")
