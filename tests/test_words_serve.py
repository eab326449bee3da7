"""Word times over HTTP (docs/words.md): the server's words equal the library's for the same
request, in the speech route's JSON, its SSE word events and Kokoro's captioned shape."""

from __future__ import annotations

import base64
import io
import json

import httpx
import numpy as np
import pytest
import soundfile as sf
from servekit import running

import polyvox
from polyvox import Segment
from polyvox.text.chunking import sentences

TEXT = "It costs $42.50, said Ann. Then the quick brown fox ran off! Nobody saw it."


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    with running(polyvox.Kernel(cache_dir=tmp / "cache", plugins=["template"]), tmp) as srv:
        yield srv


@pytest.fixture(scope="module")
def library(server):
    """What the library gives for the server's plan of TEXT: its sentences, joined as sentences."""
    segments = [Segment(text=t, join="none" if n == 0 else "sentence") for n, t in enumerate(sentences(TEXT))]
    return server.kernel.render(segments, engine="template")


def post(server, path: str, body: dict) -> httpx.Response:
    with httpx.Client(timeout=30) as client:
        return client.post(server.url + path, json={"model": "template", "input": TEXT, **body})


def test_speech_with_timestamps_gives_the_librarys_audio_and_words(server, library):
    response = post(server, "/v1/audio/speech", {"timestamps": True, "response_format": "wav"})
    assert response.status_code == 200, response.text
    body = response.json()
    samples, rate = sf.read(io.BytesIO(base64.b64decode(body["audio"])), dtype="float32")
    assert rate == body["sample_rate"] == library.sample_rate
    assert np.max(np.abs(samples - library.audio.samples)) < 1e-4
    assert body["words"] == [w.to_dict() for w in library.words]
    assert [w["word"] for w in body["words"]] == TEXT.split()


def test_speed_given_to_the_engine_gives_its_faster_words(server, library):
    body = post(server, "/v1/audio/speech", {"timestamps": True, "response_format": "wav", "speed": 2.0}).json()
    segments = [Segment(text=t, join="none" if n == 0 else "sentence") for n, t in enumerate(sentences(TEXT))]
    fast = server.kernel.render(segments, engine="template", params={"speed": 2.0})
    assert body["words"] == [w.to_dict() for w in fast.words]
    assert body["words"][-1]["end"] < 0.6 * library.words[-1].end


def test_the_sse_stream_sends_each_segments_words(server, library):
    with httpx.Client(timeout=30) as client, client.stream(
            "POST", server.url + "/v1/audio/speech",
            json={"model": "template", "input": TEXT, "stream_format": "sse", "timestamps": True,
                  "response_format": "pcm"}) as response:  # (an MP3's words come its encoder's delay later)
        events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "speech.audio.done" and kinds.index("speech.audio.words") > kinds.index("speech.audio.delta")
    words = [w for e in events if e["type"] == "speech.audio.words" for w in e["words"]]
    assert words == [w.to_dict() for w in library.words]
    plain = post(server, "/v1/audio/speech", {"stream_format": "sse"}).text  # not asked: none sent
    assert "speech.audio.done" in plain and "speech.audio.words" not in plain


@pytest.mark.parametrize("stream", [False, True])
def test_kokoros_captioned_speech_shape(server, library, stream):
    response = post(server, "/dev/captioned_speech", {"stream": stream, "response_format": "wav"})
    assert response.status_code == 200, response.text
    lines = response.text.splitlines() if stream else [response.text]
    answer = json.loads(lines[0])
    assert set(answer) == {"audio", "audio_format", "timestamps"} and answer["audio_format"] == "audio/wav"
    assert answer["timestamps"] == [{"word": w.word, "start_time": round(w.start, 4), "end_time": round(w.end, 4)}
                                    for w in library.words]
    samples, _ = sf.read(io.BytesIO(base64.b64decode(answer["audio"])), dtype="float32")
    assert len(samples) == len(library.audio)


def test_a_bad_captioned_request_is_an_openai_error(server):
    response = post(server, "/dev/captioned_speech", {"input": "   "})
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_word_times_heard_on_the_server_are_the_librarys_heard_words(tmp_path, monkeypatch):
    """`polyvox serve --word-times heard`: an engine with no word times of its own (Piper with a
    graph that gives no durations) gets its words heard by the listener (whisper tiny.en, real)
    for a request with timestamps, the same words the library's `word_times="heard"` gives;
    a request without timestamps loads no listener; the default server estimates them."""
    pytest.importorskip("polyvox_whisper")
    from polyvox.builtins import piper as piper_engine

    monkeypatch.setattr(piper_engine, "aligns_words", lambda: False)
    text = "The keeper climbed the stairs. Then he lit the lamp."
    segments = [Segment(text=t, join="none" if n == 0 else "sentence") for n, t in enumerate(sentences(text))]
    quiet = {"noise_scale": 0.0, "noise_w_scale": 0.0}
    heard = polyvox.Kernel(cache_dir=tmp_path / "lib").render(segments, engine="piper", params=quiet,
                                                              word_times="heard").words
    assert {w.source for w in heard} == {"heard"}
    body = {"model": "piper", "input": text, "params": quiet, "response_format": "wav"}
    for setting, source in (("heard", "heard"), ("auto", "estimated")):
        kernel = polyvox.Kernel(cache_dir=tmp_path / setting)
        with running(kernel, tmp_path / f"s-{setting}", word_times=setting) as srv, httpx.Client(timeout=60) as client:
            plain = client.post(srv.url + "/v1/audio/speech", json=body)
            assert plain.status_code == 200, plain.text
            assert kernel.hearing.calls == 0  # no timestamps asked: nothing heard
            answer = client.post(srv.url + "/v1/audio/speech", json={**body, "timestamps": True}).json()
        assert {w["source"] for w in answer["words"]} == {source}
        assert [w["word"] for w in answer["words"]] == text.split()
        if setting == "heard":
            assert answer["words"] == [w.to_dict() for w in heard]
            assert kernel.hearing.calls == len(segments)
    with pytest.raises(polyvox.PolyvoxError, match="word_times='seen'"):
        polyvox.serve.ServeConfig(word_times="seen")


def test_the_done_events_segments_are_ssml_as_written(server):
    """The done event's segments (for captions as the audio plays) show a <sub> as written, not
    the markers that carry its alias to the engine."""
    doc = '<speak>Visit <sub alias="World Wide Web">WWW</sub> today.</speak>'
    with httpx.Client(timeout=30) as client:
        text = client.post(server.url + "/v1/audio/speech",
                           json={"model": "template", "input": doc, "stream_format": "sse"}).text
    done = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")][-1]
    assert done["type"] == "speech.audio.done"
    assert [s["text"] for s in done["segments"]] == ["Visit WWW today."]


@pytest.mark.parametrize("fmt", ["mp3", "aac"])
def test_word_times_are_in_seconds_of_the_audio_as_decoded(server, fmt):
    """A streamed MP3 (no LAME header) or ADTS answer is heard after the encoder's delay: the
    words are moved by what a decoder plays first, so they fall on their words in the file."""
    av = pytest.importorskip("av")
    wav = post(server, "/v1/audio/speech", {"timestamps": True, "response_format": "wav"}).json()
    coded = post(server, "/v1/audio/speech", {"timestamps": True, "response_format": fmt}).json()
    reference, rate = sf.read(io.BytesIO(base64.b64decode(wav["audio"])), dtype="float32")
    with av.open(io.BytesIO(base64.b64decode(coded["audio"]))) as container:
        decoded = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
    lag = int(np.argmax(np.correlate(decoded[: rate // 2 + 4096], reference[: rate // 2], "valid")))
    assert lag > 500  # the delay is there in the decoded audio
    moved = [c["start"] - w["start"] for c, w in zip(coded["words"], wav["words"], strict=True)]
    assert moved == pytest.approx([lag / rate] * len(moved), abs=0.0015)


def test_a_wav_made_whole_has_its_real_sizes(server):
    """The JSON answer's WAV is made whole: its header says its length (the "unknown length"
    sizes of a stream made Python's wave module read 2,147,483,647 frames)."""
    import wave

    body = post(server, "/v1/audio/speech", {"timestamps": True, "response_format": "wav"}).json()
    data = base64.b64decode(body["audio"])
    with wave.open(io.BytesIO(data)) as w:
        frames, rate = w.getnframes(), w.getframerate()
    assert frames * 2 + 44 <= len(data) and frames == pytest.approx(body["words"][-1]["end"] * rate, abs=rate)
