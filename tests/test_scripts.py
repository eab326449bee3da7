"""The script a text is written in, and what the kernel does with text in a script the
language it would be spoken in is not written in: refuse it in one line (an engine would read
it letter by letter), or, where nobody named a language, speak it with an engine that can."""

from __future__ import annotations

import attrs
import httpx
import pytest
from click.testing import CliRunner
from conftest import ToneEngine
from servekit import running

import polyvox
from polyvox.cli import cli
from polyvox.errors import UnsupportedScriptError
from polyvox.text.scripts import main_script, script_counts, writes, written_in

HEBREW = "שלום עולם, מה שלומך היום? הכל בסדר."


@pytest.mark.parametrize(("text", "script"), [
    (HEBREW, "Hebrew"), ("مرحبا بالعالم", "Arabic"), ("Привет, как дела?", "Cyrillic"),
    ("Καλημέρα κόσμε", "Greek"), ("你好，世界。", "Han"), ("こんにちは", "Hiragana"), ("नमस्ते दुनिया", "Devanagari"),
    ("안녕하세요", "Hangul"), ("สวัสดีครับ", "Thai"), ("Grüße aus Köln, ça va?", "Latin"), ("ｈｅｌｌｏ", "Latin"),
    ("Hello", "Latin"), ("今日は良い天気ですね。", "Hiragana"), ("日本語を話します。", "Hiragana"),  # kanji among kana
    ("コンピューター科学", "Katakana"),
])
def test_the_script_of_a_text_is_that_of_most_of_its_letters(text, script):
    assert main_script(text) == script


def test_digits_punctuation_and_ties_have_no_script():
    for text in ("2024", "3.14 ... 42!", "", "  ", "—", "ℓ = 5 µ"):  # letter-like symbols are no script's
        assert main_script(text) is None, text
    assert main_script("ab שש") is None  # as many letters of each: no decision
    assert script_counts("I said שלום today") == {"Latin": 10, "Hebrew": 4}
    assert main_script("I said shalom, שלום, to my friend today.") == "Latin"  # a few foreign words


def test_languages_and_their_scripts():
    assert written_in("he") == ("Hebrew",) and written_in("en-US") == ("Latin",) and written_in("de") == ("Latin",)
    assert "Cyrillic" in written_in("sr") and "Latin" in written_in("sr")
    assert writes("ja", "Han") and writes("ja", "Katakana") and not writes("en", "Hebrew")
    assert writes("en", None)  # digits are sayable in every language


def test_hebrew_to_an_english_voice_is_one_line_naming_the_script_and_the_languages(kernel):
    with pytest.raises(UnsupportedScriptError) as caught:
        kernel.plan(HEBREW, engine="piper")
    message = str(caught.value)
    assert "\n" not in message
    assert "Hebrew" in message and "en-us, en" in message and "'piper'" in message
    with pytest.raises(UnsupportedScriptError):  # said to be English: the same
        kernel.plan(HEBREW, engine="piper", language="en")


def test_latin_languages_digits_and_a_few_foreign_words_still_plan(kernel):
    for text in ("Guten Tag, wie geht es Ihnen? Ich heiße Müller.", "2024 ... 3.14!",
                 "I said shalom, שלום, to my friend today."):
        jobs = [j for j in kernel.plan(text, engine="piper") if j.request]
        assert jobs and {j.request.language for j in jobs} == {"en"}


def test_polyvox_say_refuses_hebrew_with_one_line_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("POLYVOX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("POLYVOX_PLUGINS", "piper")
    out = tmp_path / "out.wav"
    result = CliRunner().invoke(cli, ["say", HEBREW, "-o", str(out)])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Hebrew" in lines[0] and "Traceback" not in result.output, result.output
    assert not out.exists()


class HebrewTone(ToneEngine):
    """A tone engine that speaks Hebrew only, below the others in priority."""

    def spec(self) -> polyvox.EngineSpec:
        return attrs.evolve(super().spec(), languages=("he",), priority=-200)


def test_text_in_a_script_nobody_named_goes_to_an_engine_that_speaks_it(tmp_path):
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    kernel.register(HebrewTone(name="hebtone"))
    jobs = [j for j in kernel.plan(HEBREW) if j.request]
    assert {(j.engine, j.request.language) for j in jobs} == {("hebtone", "he")}
    assert {j.engine for j in kernel.plan("Hello there.") if j.request} != {"hebtone"}  # English as before
    with pytest.raises(UnsupportedScriptError, match="engine 'hebtone' speaks Hebrew"):  # a chosen engine stays
        kernel.plan(HEBREW, engine="piper")


def test_the_server_answers_400_or_routes_and_says_so(tmp_path):
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    kernel.register(HebrewTone(name="hebtone"))
    with running(kernel, tmp_path) as srv:
        def speak(model: str, text: str) -> httpx.Response:
            return httpx.post(f"{srv.url}/v1/audio/speech", timeout=60,
                              json={"model": model, "input": text, "voice": "alloy", "response_format": "wav"})

        refused = speak("piper", HEBREW)
        routed = speak("tts-1", HEBREW)
        english = speak("tts-1", "Hello there.")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", "input", "unsupported_language")
    assert "Hebrew" in error["message"] and "en-us, en" in error["message"]
    assert routed.status_code == 200 and len(routed.content) > 1000
    assert routed.headers["x-polyvox-engine"] == "hebtone" and routed.headers["x-polyvox-language"] == "he"
    assert english.headers["x-polyvox-engine"] == "piper" and english.headers["x-polyvox-language"] == "en"
