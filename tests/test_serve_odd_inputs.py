"""What real clients send that a happy-path test never does: a NUL or a terminal escape in the
text, half of an emoji's UTF-16 pair, text with nothing to say, a body that is not JSON, a
method the route does not have. Each gets audio a player can open or a clear 4xx, never a 500
or an engine failure dressed as a 503."""

from __future__ import annotations

import io
from typing import Any

import attrs
import av
import httpx
import numpy as np
import pytest
from conftest import ToneEngine
from servekit import running

import polyvox
from polyvox import Audio


class CText(ToneEngine):
    """Behaves like an engine on a C library (Piper on espeak-ng): a NUL in the text is an
    error, and text without a letter or digit gives no samples at all. It has one named voice."""

    def spec(self) -> Any:
        return attrs.evolve(super().spec(), voices=("clara",))

    def synthesize(self, model: Any, request: Any, conditioning: Any) -> Audio:
        if "\x00" in request.text:
            raise ValueError("embedded null character")
        if not any(c.isalnum() for c in request.text):
            return Audio(np.zeros(0, np.float32), 16000)
        return super().synthesize(model, request, conditioning)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("odd")
    kernel = polyvox.Kernel(cache_dir=tmp / "cache")
    kernel.register(CText(name="ctext"))
    with running(kernel, tmp) as srv:
        yield srv


def _speak(server, timeout: float = 30, **body: Any) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/audio/speech", json={"model": "ctext", "voice": "alloy", **body},
                      timeout=timeout)


def test_control_characters_are_not_spoken_and_do_not_break_the_engine(server):
    clean = _speak(server, input="Hello there. Goodbye.", response_format="pcm")
    assert clean.status_code == 200 and len(clean.content) > 1000
    for noisy in ("Hello\x00 there. Good\x1bbye.", "\x07Hello there.\x00 Goodbye.\x7f"):
        got = _speak(server, input=noisy, response_format="pcm")
        assert got.status_code == 200, got.text
        assert got.content == clean.content  # the same sentences, the controls dropped
    nothing = _speak(server, input="\x00\x1b", response_format="pcm")
    assert nothing.status_code == 400 and nothing.json()["error"]["code"] == "empty_input"


@pytest.mark.parametrize(("raw", "param"), [
    (b'{"model": "ctext", "input": "Hi \\ud83d there."}', "input"),
    (b'{"model": "ctext", "input": "\\udc00"}', "input"),
    (b'{"model": "ctext", "input": "Hi.", "params": {"rate": "\\ud800"}}', "params"),
    (b'{"model": "ctext", "input": "Hi.", "instructions": "calm \\udfff"}', "instructions"),
])
def test_half_an_emoji_is_a_400_naming_the_field(server, raw, param):
    got = httpx.post(f"{server.url}/v1/audio/speech", content=raw, headers={"content-type": "application/json"},
                     timeout=30)
    assert got.status_code == 400, got.text
    error = got.json()["error"]
    assert error["param"] == param and ("surrogate" in error["message"] or "unicode" in error["message"])
    # a whole pair is one character and is fine
    whole = httpx.post(f"{server.url}/v1/audio/speech", headers={"content-type": "application/json"}, timeout=30,
                       content=b'{"model": "ctext", "input": "Hi \\ud83d\\ude00 there.", "response_format": "pcm"}')
    assert whole.status_code == 200 and len(whole.content) > 1000


def _decoded_samples(data: bytes) -> tuple[int, int]:
    with av.open(io.BytesIO(data)) as container:
        rate = container.streams.audio[0].rate
        return sum(frame.samples for frame in container.decode(audio=0)), rate


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "flac"])
def test_nothing_to_say_is_still_a_file_a_player_opens(server, fmt):
    """Piper says nothing for "—" or "?!": the response must still be one valid, (nearly)
    silent file, not an empty body that players and decoders refuse."""
    got = _speak(server, input="— ?! …", response_format=fmt)
    assert got.status_code == 200 and got.content, got.text
    samples, rate = _decoded_samples(got.content)
    assert samples / rate < 0.2
    with httpx.stream("POST", f"{server.url}/v1/audio/speech", timeout=30,
                      json={"model": "ctext", "input": "...", "response_format": fmt}) as streamed:
        body = b"".join(streamed.iter_bytes())
    assert _decoded_samples(body)[0] / rate < 0.2


@pytest.mark.parametrize("text", ["👍", "🎉 ♥", "***"])
def test_an_emoji_or_a_rule_alone_is_nothing_to_say_as_punctuation_is(server, text):
    """A chat UI sends a reply's last line on its own, often "👍" alone: it was a 400
    ("the script has no text") where "?!" was a (silent) 200."""
    got = _speak(server, input=text, response_format="wav")
    assert got.status_code == 200 and len(got.content) == 44 and got.content[:4] == b"RIFF", got.text


def test_nothing_to_say_in_wav_and_pcm_is_exactly_empty(server):
    wav = _speak(server, input="— ?!", response_format="wav")
    assert wav.status_code == 200 and len(wav.content) == 44 and wav.content[:4] == b"RIFF"
    pcm = _speak(server, input="— ?!", response_format="pcm")
    assert pcm.status_code == 200 and pcm.content == b""


@pytest.mark.parametrize(("content", "content_type", "says"), [
    (b'{"model": "ctext", "input": "Hi."}', "application/x-www-form-urlencoded", "Content-Type: application/json"),
    (b'{"model": "ctext", "input": "Hi."}', "text/plain", "Content-Type: application/json"),
    (b"[1, 2]", "application/json", "JSON object"),
    (b'{"model": "ctext", "input": "Hi \xff."}', "application/json", "JSON text"),
])
def test_a_body_that_is_not_a_json_object_says_how_to_send_one(server, content, content_type, says):
    """`curl -d '{...}'` sends form data; the answer says what to send instead of a pydantic line."""
    got = httpx.post(f"{server.url}/v1/audio/speech", content=content, headers={"content-type": content_type},
                     timeout=30)
    assert got.status_code == 400 and got.json()["error"]["code"] == "invalid_json", got.text
    assert says in got.json()["error"]["message"]


def test_voice_errors_name_the_field_not_pydantic_branches(server):
    for voice in (5, {"name": "x"}):  # (null is the field left out: test_optional_fields_sent_as_null...)
        got = _speak(server, input="Hi.", voice=voice)
        assert got.status_code == 400 and got.json()["error"]["param"] == "voice", got.text
        assert got.json()["error"]["message"].startswith("voice: give a voice name")


def test_wrong_methods_say_which_are_allowed_and_health_answers_head(server):
    wrong = httpx.get(f"{server.url}/v1/audio/speech", timeout=10)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert httpx.head(f"{server.url}/health", timeout=10).status_code == 200


def test_a_voice_of_another_engine_is_named_as_such(server):
    """Voice menus (Open WebUI's) list every engine's voices; a voice of another engine than the
    model's is refused with a message that says whose voice it is and what to ask for."""
    assert _speak(server, input="Hi.", voice="clara", response_format="pcm").status_code == 200
    got = _speak(server, model="template", input="Hi.", voice="clara")
    assert got.status_code == 404 and got.json()["error"]["code"] == "voice_not_found"
    assert "engine 'ctext'" in got.json()["error"]["message"] and "model 'ctext'" in got.json()["error"]["message"]


def test_optional_fields_sent_as_null_are_fields_left_out(server):
    """Generated clients send every field, unset ones as null: that was a 400 ("not null")."""
    got = _speak(server, input="Hi.", voice=None, speed=None, response_format=None, stream_format=None, seed=None)
    assert got.status_code == 200 and got.headers["content-type"] == "audio/mpeg", got.text
    assert _speak(server, input=None).status_code == 400  # the text itself is still required


def test_a_voice_named_in_voice_speaks_though_the_model_names_another(tmp_path):
    """Open WebUI lists kokoro:jm_kumo as a model; with voice jf_alpha the model's voice spoke and
    voice was ignored without a word. An engine's voice in `voice` wins; OpenAI's names do not."""

    class Two(ToneEngine):
        def spec(self) -> Any:
            return attrs.evolve(super().spec(), voices=("clara", "dora"))

        def synthesize(self, model: Any, request: Any, conditioning: Any) -> Audio:
            self.calls.append(f"model {model['model']}")
            return super().synthesize(model, request, conditioning)

    engine = Two(name="two")
    kernel = polyvox.Kernel(cache=False)
    kernel.register(engine)
    with running(kernel, tmp_path) as srv:
        for voice, spoken in (("dora", "dora"), ("alloy", "clara"), ("clara", "clara")):
            engine.calls.clear()
            got = httpx.post(f"{srv.url}/v1/audio/speech", timeout=30, json={
                "model": "two:clara", "voice": voice, "input": f"Hello {voice}.", "response_format": "pcm"})
            assert got.status_code == 200, got.text
            assert f"model {spoken}" in engine.calls, (voice, engine.calls)
