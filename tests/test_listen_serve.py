"""polyvox serve --verify: every segment heard before it is sent, the verdicts in the SSE done
event and a header saying the response is verified, and in Wyoming's audio-stop. Loopback only,
a few requests."""

from __future__ import annotations

import asyncio
import json

import httpx
from servekit import free_port, running

import polyvox
from polyvox.listen.report import VerifyOptions


def test_sse_done_event_carries_the_verdicts(tmp_path) -> None:
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    body = {"model": "piper", "input": "Hello there. The quick brown fox jumps over the lazy dog.",
            "voice": "en_US-joe-medium", "response_format": "pcm", "stream_format": "sse"}
    with running(kernel, tmp_path, verify=VerifyOptions(listener="whisper:tiny.en")) as server:
        with httpx.Client(timeout=120) as client:
            response = client.post(f"{server.url}/v1/audio/speech", json=body)
            assert response.status_code == 200, response.text
            assert response.headers["x-polyvox-verify"] == "whisper:tiny.en"
            events = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
            done = events[-1]
            assert done["type"] == "speech.audio.done"
            heard = done["verification"]
            # every segment heard at least once (a take tiny.en mishears is retaken and heard again)
            assert heard["listener"] == "whisper:tiny.en" and len(heard["segments"]) == 2 <= heard["heard"]
            assert [s["text"] for s in heard["segments"]] == ["Hello there.",
                                                             "The quick brown fox jumps over the lazy dog."]
            assert all(s["wer"] <= 0.2 and s["takes"] >= 1 for s in heard["segments"])
            again = client.post(f"{server.url}/v1/audio/speech", json=body)
            last = [json.loads(line[6:]) for line in again.text.splitlines() if line.startswith("data: ")][-1]
            assert last["verification"]["heard"] == 0  # the verdicts came from the cache


def test_a_server_without_verify_says_nothing_of_it(tmp_path) -> None:
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    body = {"model": "piper", "input": "Hello there.", "voice": "en_US-joe-medium", "response_format": "pcm",
            "stream_format": "sse"}
    with running(kernel, tmp_path) as server, httpx.Client(timeout=60) as client:
        response = client.post(f"{server.url}/v1/audio/speech", json=body)
        assert "x-polyvox-verify" not in response.headers
        done = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")][-1]
        assert done["type"] == "speech.audio.done" and "verification" not in done


def test_a_segment_that_still_fails_is_sent_with_its_verdict(tmp_path) -> None:
    """The server reads a client's markup strictly, but a failing take is no reason to cut the
    response short: the audio is sent and the done event says which segment failed."""
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    body = {"model": "piper", "input": "Zyzzyva quorble flimbat snargle.", "voice": "en_US-joe-medium",
            "response_format": "pcm", "stream_format": "sse"}
    with running(kernel, tmp_path, verify=VerifyOptions(retakes=0)) as server, httpx.Client(timeout=120) as client:
        response = client.post(f"{server.url}/v1/audio/speech", json=body)
    events = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    assert [e["type"] for e in events][-1] == "speech.audio.done", events[-1]
    assert any(e["type"] == "speech.audio.delta" for e in events)
    assert events[-1]["verification"]["still_failing"] == [0]


async def _wyoming(service, port: int, text: str) -> list:
    """One Wyoming synthesize to a server started on 127.0.0.1: every event up to audio-stop."""
    from wyoming.client import AsyncTcpClient
    from wyoming.tts import Synthesize

    from polyvox.serve.wyoming import serve_wyoming

    task = asyncio.create_task(serve_wyoming(f"tcp://127.0.0.1:{port}", service))
    try:
        for _ in range(100):  # the server comes up (at most ~5 s)
            try:
                client = AsyncTcpClient("127.0.0.1", port, connect_timeout=5, read_timeout=120)
                await client.connect()
                break
            except OSError:
                await asyncio.sleep(0.05)
        await client.write_event(Synthesize(text=text).event())
        got = []
        while not got or got[-1].type not in ("audio-stop", "error"):
            got.append(await asyncio.wait_for(client.read_event(), 120))
        await client.disconnect()
        return got
    finally:
        task.cancel()


def _service(kernel: polyvox.Kernel, tmp_path, **settings: object):
    from polyvox.serve import ServeConfig, create_app

    config = ServeConfig(voices_dir=tmp_path / "voices", model_aliases={"tts-1": "piper"}, **settings)
    return create_app(config, kernel).state.service


def test_the_wyoming_server_verifies_and_says_so_in_audio_stop(tmp_path) -> None:
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    service = _service(kernel, tmp_path, verify=VerifyOptions(listener="whisper:tiny.en"))
    text = "Hello there. The quick brown fox jumps over the lazy dog."
    heard_before = kernel.hearing.calls
    events = asyncio.run(_wyoming(service, free_port(), text))
    assert [e.type for e in events][-1] == "audio-stop" and any(e.type == "audio-chunk" for e in events)
    verdicts = events[-1].data["polyvox_verification"]
    assert verdicts["listener"] == "whisper:tiny.en" and verdicts["still_failing"] == []
    assert [s["text"] for s in verdicts["segments"]] == ["Hello there.", "The quick brown fox jumps over the lazy dog."]
    assert verdicts["heard"] == kernel.hearing.calls - heard_before >= 2  # heard here, before it was sent

    again = asyncio.run(_wyoming(service, free_port(), text))
    assert again[-1].data["polyvox_verification"]["heard"] == 0  # the verdicts came from the cache

    plain = _service(polyvox.Kernel(cache_dir=tmp_path / "plain"), tmp_path)
    stop = asyncio.run(_wyoming(plain, free_port(), text))[-1]
    assert stop.type == "audio-stop" and "polyvox_verification" not in stop.data
