"""`polyvox serve` through the official `openai` client: every response format decodes to the
audio the kernel makes for the same text, streaming delivers the first bytes before the render
ends, SSE events carry the audio, and every bad request gets its documented error."""

from __future__ import annotations

import base64
import io
import json
import time

import av
import httpx
import numpy as np
import pytest
import soundfile as sf
from conftest import ToneEngine
from openai import OpenAI
from servekit import running

import polyvox
from polyvox import Segment
from polyvox.text.chunking import sentences

TEXT = "The quick brown fox jumps over the lazy dog. It was not amused. Then it slept."
KEY = "test-key-123-0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    kernel = polyvox.Kernel(cache_dir=tmp / "cache")
    slow = ToneEngine(delay=0.15, name="slowtone")
    kernel.register(slow)
    with running(kernel, tmp, api_keys=(KEY,), max_body_bytes=2 * 1024 * 1024) as srv:
        srv.slow = slow
        yield srv


@pytest.fixture
def client(server):
    return OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0, timeout=30)


def _expected(kernel: polyvox.Kernel, text: str) -> polyvox.Audio:
    parts = sentences(text)
    segments = [Segment(text=t, join="none" if n == 0 else "sentence") for n, t in enumerate(parts)]
    return kernel.render(segments, engine="template").audio


def _decode(data: bytes, fmt: str, rate: int) -> tuple[np.ndarray, int]:
    if fmt == "pcm":
        return np.frombuffer(data, "<i2").astype(np.float32) / 32767, rate
    if fmt == "aac":  # soundfile (libsndfile) cannot read AAC; FFmpeg can
        with av.open(io.BytesIO(data)) as container:
            frames = [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
            return np.concatenate(frames), container.streams.audio[0].rate
    samples, got = sf.read(io.BytesIO(data), dtype="float32")
    return samples, got


@pytest.mark.parametrize("fmt", ["wav", "pcm", "flac", "mp3", "opus", "aac"])
def test_every_format_decodes_to_the_kernels_audio(server, client, fmt):
    expected = _expected(server.kernel, TEXT)
    response = client.audio.speech.create(model="template", voice="alloy", input=TEXT, response_format=fmt)
    rate = int(response.response.headers["x-sample-rate"])
    assert rate == 16000
    samples, got_rate = _decode(response.content, fmt, rate)
    # lossy codecs pad by an encoder delay of a frame or two; lossless ones are exact in length
    slack = 0.0 if fmt in ("wav", "pcm", "flac") else 0.12
    assert abs(len(samples) / got_rate - expected.duration) <= slack + 1e-6, (len(samples) / got_rate, expected)
    if fmt in ("wav", "pcm", "flac"):  # 16-bit: equal to the kernel's audio within quantisation
        assert np.max(np.abs(samples - expected.samples)) < 1e-4
    else:  # lossy: the same loudness, so the same speech and not silence or noise
        assert abs(np.sqrt(np.mean(samples**2)) - expected.rms) < 0.25 * expected.rms


def test_streaming_gives_the_first_bytes_before_the_render_ends(server, client):
    text = " ".join(f"Sentence {n} is here." for n in range(6))  # six segments, 0.15 s each
    began = time.perf_counter()
    with client.audio.speech.with_streaming_response.create(model="slowtone", voice="alloy", input=text,
                                                            response_format="pcm") as response:
        chunks = response.iter_bytes()
        first = next(chunks)
        first_at = time.perf_counter() - began
        rest = b"".join(chunks)
        total = time.perf_counter() - began
    assert first
    assert first_at < total / 2, (first_at, total)
    assert len(first + rest) > 4 * len(first)


def test_sse_through_the_openai_client_is_the_kernels_audio(server, client):
    expected = _expected(server.kernel, TEXT)
    with client.audio.speech.with_streaming_response.create(
            model="template", voice="alloy", input=TEXT, response_format="pcm", stream_format="sse") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    kinds = [e["type"] for e in events]
    assert kinds == ["speech.audio.delta"] * (len(events) - 1) + ["speech.audio.done"] and len(events) > 2
    assert set(events[-1]["usage"]) == {"input_tokens", "output_tokens", "total_tokens"}
    audio = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])
    samples, _ = _decode(audio, "pcm", 16000)
    assert len(samples) == len(expected) and np.max(np.abs(samples - expected.samples)) < 1e-4


def test_the_sse_done_event_says_where_each_sentence_is(server):
    body = {"model": "template", "voice": "alloy", "input": TEXT, "response_format": "pcm", "stream_format": "sse"}
    sse = httpx.post(f"{server.url}/v1/audio/speech", json=body, headers={"Authorization": f"Bearer {KEY}"},
                     timeout=30)
    events = [json.loads(line[6:]) for line in sse.text.splitlines() if line.startswith("data: ")]
    audio = b"".join(base64.b64decode(e["audio"]) for e in events if e["type"] == "speech.audio.delta")
    samples = np.frombuffer(audio, "<i2").astype(np.float32) / 32767
    rate = int(sse.headers["x-sample-rate"])
    times = events[-1]["segments"]
    assert [t["text"] for t in times] == sentences(TEXT)
    assert times[0]["start"] == 0.0
    assert abs(times[-1]["end"] - len(samples) / rate) < 0.002
    for this, after in zip(times, times[1:], strict=False):
        assert this["start"] < this["end"] < after["start"]  # the gap between sentences lies between them
        speech = samples[round(this["start"] * rate):round(this["end"] * rate)]
        gap = samples[round(this["end"] * rate) + 10:round(after["start"] * rate) - 10]
        assert np.sqrt(np.mean(speech**2)) > 0.05 and np.max(np.abs(gap), initial=0.0) < 0.01


def test_sse_events_carry_the_same_audio(server):
    body = {"model": "template", "voice": "alloy", "input": TEXT, "response_format": "pcm", "stream_format": "sse"}
    plain = httpx.post(f"{server.url}/v1/audio/speech", json={**body, "stream_format": "audio"},
                       headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
    sse = httpx.post(f"{server.url}/v1/audio/speech", json=body, headers={"Authorization": f"Bearer {KEY}"},
                     timeout=30)
    assert sse.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[6:]) for line in sse.text.splitlines() if line.startswith("data: ")]
    assert [e["type"] for e in events[:-1]] == ["speech.audio.delta"] * (len(events) - 1)
    assert events[-1]["type"] == "speech.audio.done"
    assert b"".join(base64.b64decode(e["audio"]) for e in events[:-1]) == plain.content


def test_speed_halves_the_duration(server, client):
    normal = client.audio.speech.create(model="template", voice="alloy", input=TEXT, response_format="pcm")
    fast = client.audio.speech.create(model="template", voice="alloy", input=TEXT, response_format="pcm", speed=2.0)
    ratio = len(fast.content) / len(normal.content)
    assert 0.4 < ratio < 0.65, ratio  # letters at double speed; pauses between sentences stay


@pytest.mark.parametrize("speed", [2.0, 0.5])
def test_piper_speaks_at_the_speed_asked(server, client, speed):
    """Piper has no rate parameter (its length_scale is not proportional: 1/2 of it gives
    0.62 of the time), so the server stretches its audio to exactly the speed asked."""
    text = "The quick brown fox jumps over the lazy dog. It runs away into the forest."
    normal = client.audio.speech.create(model="piper", voice="alloy", input=text, response_format="pcm")
    other = client.audio.speech.create(model="piper", voice="alloy", input=text, response_format="pcm", speed=speed)
    ratio = len(other.content) / len(normal.content)
    assert abs(ratio * speed - 1) < 0.03, ratio


def test_models_and_voices_list(server):
    headers = {"Authorization": f"Bearer {KEY}"}
    models = httpx.get(f"{server.url}/v1/models", headers=headers, timeout=10).json()
    ids = {m["id"] for m in models["data"]}
    assert {"tts-1", "tts-1-hd", "gpt-4o-mini-tts", "template", "template:template-base"} <= ids
    # Open WebUI's model menu reads {"models": [{"id", "name"}]} from /v1/audio/models
    menu = httpx.get(f"{server.url}/v1/audio/models", headers=headers, timeout=10).json()["models"]
    assert {m["id"] for m in menu} == ids and all(m["name"] for m in menu)
    voices = httpx.get(f"{server.url}/v1/audio/voices", headers=headers, timeout=10).json()["voices"]
    assert {"alloy", "nova"} <= {v["id"] for v in voices}
    client = OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0, timeout=10)
    assert client.models.retrieve("template:template-base").owned_by == "template"
    assert client.models.retrieve("tts-1").id == "tts-1"
    # a dated snapshot, as speech takes it (it was a 404 here, a 200 in POST /v1/audio/speech)
    assert client.models.retrieve("gpt-4o-mini-tts-2025-03-20").id == "gpt-4o-mini-tts-2025-03-20"
    missing = httpx.get(f"{server.url}/v1/models/nope", headers=headers, timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"
    assert all(set(v) == {"id", "name", "engine", "languages", "clones"} for v in voices)


def test_openai_names_the_client_offers_are_understood(server, client):
    """The client's newest names (dated model snapshots, the voices marin and cedar) speak like
    the names they stand for; a made-up snapshot of an unknown model is still a 404."""
    plain = client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input="Hi.", response_format="pcm")
    for model, voice in (("gpt-4o-mini-tts-2025-12-15", "marin"), ("tts-1-hd", "cedar")):
        got = client.audio.speech.create(model=model, voice=voice, input="Hi.", response_format="pcm")
        assert got.content == plain.content and len(got.content) > 1000
    r = httpx.post(f"{server.url}/v1/audio/speech", json={"model": "nope-2025-12-15", "input": "Hi"},
                   headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


def test_voice_upload_then_speak_with_it_then_delete(server, tmp_path):
    headers = {"Authorization": f"Bearer {KEY}"}
    t = np.arange(32000) / 16000
    reference = io.BytesIO()
    sf.write(reference, (0.4 * np.sin(2 * np.pi * 140 * t)).astype(np.float32), 16000, format="WAV")
    up = httpx.post(f"{server.url}/v1/audio/voices", headers=headers, timeout=30,
                    files={"file": ("../../evil name.wav", reference.getvalue(), "audio/wav")},
                    data={"name": "Deep", "transcript": "A low hum."})
    assert up.status_code == 201, up.text
    voice_id = up.json()["id"]
    assert len(voice_id) == 16 and up.json()["name"] == "Deep"
    stored = sorted(p.name for p in server.state.service.store.folder.iterdir())
    assert f"{voice_id}.wav" in stored and not any("evil" in name for name in stored)
    listed = httpx.get(f"{server.url}/v1/audio/voices", headers=headers, timeout=10).json()["voices"]
    assert {"id": voice_id, "name": "Deep"}.items() <= next(v for v in listed if v["id"] == voice_id).items()
    speak = {"model": "template", "input": "Hello there.", "response_format": "pcm"}
    default = httpx.post(f"{server.url}/v1/audio/speech", headers=headers, json=speak, timeout=30)
    by_id = httpx.post(f"{server.url}/v1/audio/speech", headers=headers, json={**speak, "voice": {"id": voice_id}},
                       timeout=30)
    by_name = httpx.post(f"{server.url}/v1/audio/speech", headers=headers, json={**speak, "voice": "deep"},
                         timeout=30)
    assert by_id.status_code == 200 and by_id.content == by_name.content != default.content
    gone = httpx.delete(f"{server.url}/v1/audio/voices/{voice_id}", headers=headers, timeout=10)
    assert gone.status_code == 200
    again = httpx.post(f"{server.url}/v1/audio/speech", headers=headers, json={**speak, "voice": {"id": voice_id}},
                       timeout=30)
    assert again.status_code == 404 and again.json()["error"]["code"] == "voice_not_found"


BAD = [
    ({"model": "template", "input": ""}, 400, "empty_input", "input"),
    ({"model": "template", "input": "   "}, 400, "empty_input", "input"),
    ({"model": "nope", "input": "Hi"}, 404, "model_not_found", "model"),
    ({"model": "template:nope", "input": "Hi"}, 404, "model_not_found", "model"),
    ({"model": "template", "input": "Hi", "voice": "zork"}, 404, "voice_not_found", "voice"),
    ({"model": "template", "input": "Hi", "voice": "/etc/passwd"}, 404, "voice_not_found", "voice"),
    ({"model": "template", "input": "Hi", "response_format": "ogg"}, 400, "invalid_value", "response_format"),
    ({"model": "template", "input": "Hi", "speed": 9}, 400, "invalid_value", "speed"),
    ({"model": "template", "input": "Hi", "params": {"pitch": 99}}, 400, "invalid_value", None),
    ({"model": "template", "input": "Hi", "language": "xx"}, 400, "unsupported_language", "language"),
    ({"model": "template", "input": "x" * 5000}, 413, "too_large", "input"),
]


@pytest.mark.parametrize(("body", "status", "code", "param"), BAD)
def test_bad_requests_get_their_documented_error(server, body, status, code, param):
    r = httpx.post(f"{server.url}/v1/audio/speech", json=body, headers={"Authorization": f"Bearer {KEY}"},
                   timeout=30)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    if code is not None:
        assert error["code"] == code
    if param is not None:
        assert error["param"] == param
    assert "Traceback" not in r.text


def test_markup_characters_resolve_only_to_server_voices(server):
    """A character the server has no voice for speaks with the narrator's voice; one named like
    a file is a markup error, never read."""
    auth = {"Authorization": f"Bearer {KEY}"}
    body = {"model": "template", "response_format": "pcm", "markup": True}
    tagged = httpx.post(f"{server.url}/v1/audio/speech", json={**body, "input": "[Zed] Hello."},
                        headers=auth, timeout=30)
    plain = httpx.post(f"{server.url}/v1/audio/speech", json={**body, "input": "Hello."}, headers=auth, timeout=30)
    assert tagged.status_code == 200 and tagged.content == plain.content
    path = httpx.post(f"{server.url}/v1/audio/speech", json={**body, "input": "[../../etc/hosts] Hello."},
                      headers=auth, timeout=30)
    assert path.status_code == 400


def test_malformed_json_big_body_keys_and_uploads(server):
    url, auth = server.url, {"Authorization": f"Bearer {KEY}"}
    r = httpx.post(f"{url}/v1/audio/speech", content=b'{"model": "template", "input": ',
                   headers={**auth, "content-type": "application/json"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    big = json.dumps({"model": "template", "input": "a" * (20 * 1024 * 1024)}).encode()
    r = httpx.post(f"{url}/v1/audio/speech", content=big, headers={**auth, "content-type": "application/json"},
                   timeout=30)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"

    def unannounced():  # chunked: no Content-Length to refuse it by
        for _ in range(40):
            yield b"a" * 65536

    r = httpx.post(f"{url}/v1/audio/speech", content=unannounced(),
                   headers={**auth, "content-type": "application/json"}, timeout=30)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
        r = httpx.post(f"{url}/v1/audio/speech", json={"model": "template", "input": "Hi"}, headers=headers,
                       timeout=10)
        assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = httpx.post(f"{url}/v1/audio/voices", headers=auth, timeout=10,
                   files={"file": ("x.wav", b"this is not audio at all" * 100, "audio/wav")}, data={"name": "Nope"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_audio"
    assert httpx.delete(f"{url}/v1/audio/voices/0123456789abcdef", headers=auth, timeout=10).status_code == 404
    assert httpx.delete(f"{url}/v1/audio/voices/..%2F..%2Fx", headers=auth, timeout=10).status_code == 404
    health = httpx.get(f"{url}/health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    metrics = httpx.get(f"{url}/metrics", headers=auth, timeout=10).text
    assert 'polyvox_requests_total{protocol="http",route="/v1/audio/speech",status="401"}' in metrics
    assert "polyvox_segments_total" in metrics and "polyvox_queue_depth" in metrics


def test_browsers_may_call_only_from_the_origins_given(server, tmp_path):
    """CORS is off by default (no web page the user opens may use a server on their machine);
    with --cors-origin, that origin's pages pass the preflight and read the audio and its rate."""
    page, other = "https://reader.example", "https://evil.example"
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    body = {"model": "template", "input": "Hi.", "response_format": "pcm"}
    auth = {"Authorization": f"Bearer {KEY}"}
    closed = httpx.options(f"{server.url}/v1/audio/speech", headers={"Origin": page, **preflight}, timeout=10)
    assert "access-control-allow-origin" not in closed.headers
    with running(server.kernel, tmp_path, api_keys=(KEY,), cors_origins=(page,)) as srv:
        ok = httpx.options(f"{srv.url}/v1/audio/speech", headers={"Origin": page, **preflight}, timeout=10)
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == page
        assert "authorization" in ok.headers["access-control-allow-headers"].lower()
        refused = httpx.options(f"{srv.url}/v1/audio/speech", headers={"Origin": other, **preflight}, timeout=10)
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
        spoken = httpx.post(f"{srv.url}/v1/audio/speech", json=body, headers={"Origin": page, **auth}, timeout=30)
        assert spoken.status_code == 200 and spoken.headers["access-control-allow-origin"] == page
        assert "x-sample-rate" in spoken.headers["access-control-expose-headers"].lower()
        assert len(spoken.content) > 1000
        unauthorized = httpx.post(f"{srv.url}/v1/audio/speech", json=body, headers={"Origin": page}, timeout=10)
        assert unauthorized.status_code == 401  # CORS lets the page ask; the key still decides
        # and the page reads why (the gate's refusals went out without CORS headers: "Failed to fetch")
        assert unauthorized.headers["access-control-allow-origin"] == page
        # the openai SDK in a browser sends its own headers with every request (it got a 400 preflight)
        sdk = httpx.options(f"{srv.url}/v1/audio/speech", timeout=10, headers={
            "Origin": page, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-stainless-os,x-stainless-timeout"})
        assert sdk.status_code == 200 and "x-stainless-os" in sdk.headers["access-control-allow-headers"].lower()
        # a page on the internet reaching a server on this machine: Chrome's private-network preflight
        private = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Private-Network": "true"}
        local = httpx.options(f"{srv.url}/v1/audio/speech", headers={"Origin": page, **private}, timeout=10)
        assert local.status_code == 200 and local.headers["access-control-allow-private-network"] == "true"
        stranger = httpx.options(f"{srv.url}/v1/audio/speech", headers={"Origin": other, **private}, timeout=10)
        assert stranger.status_code == 400 and "access-control-allow-origin" not in stranger.headers
    with pytest.raises(polyvox.PolyvoxError, match="not an origin"):
        polyvox.serve.ServeConfig(cors_origins=("https://reader.example/app",))


def test_a_web_page_cannot_act_through_a_request_that_skips_the_preflight(server, tmp_path):
    """A page may post a multipart form to any address without a CORS preflight; on a server
    without a key that stored a voice for any page the user opened. Requests from an origin not
    given by --cors-origin are refused before anything happens; programs send no Origin."""
    wav = io.BytesIO()
    sf.write(wav, 0.3 * np.sin(np.arange(16000) * 2 * np.pi * 220 / 16000), 16000, format="WAV")
    upload = {"files": {"file": ("v.wav", wav.getvalue(), "audio/wav")}, "data": {"name": "Planted"}, "timeout": 30}
    page, evil = "https://reader.example", "https://evil.example"
    with running(server.kernel, tmp_path, cors_origins=(page,)) as srv:  # no key: loopback
        planted = httpx.post(f"{srv.url}/v1/audio/voices", headers={"Origin": evil}, **upload)
        assert planted.status_code == 403 and planted.json()["error"]["code"] == "origin_not_allowed"
        spoken = httpx.post(f"{srv.url}/v1/audio/speech", headers={"Origin": "null"}, timeout=30,
                            json={"model": "template", "input": "Hi."})
        assert spoken.status_code == 403
        voices = httpx.get(f"{srv.url}/v1/audio/voices", timeout=10).json()["voices"]
        assert "Planted" not in {v["name"] for v in voices}
        assert not list((tmp_path / "server-voices").glob("*.wav"))
        assert httpx.post(f"{srv.url}/v1/audio/voices", headers={"Origin": page}, **upload).status_code == 201
        other = io.BytesIO()
        sf.write(other, 0.3 * np.sin(np.arange(16000) * 2 * np.pi * 330 / 16000), 16000, format="WAV")
        program = httpx.post(f"{srv.url}/v1/audio/voices", files={"file": ("w.wav", other.getvalue(), "audio/wav")},
                             data={"name": "Scripted"}, timeout=30)  # a program sends no Origin
        assert program.status_code == 201
