"""polyvox serve --verify: every segment heard before it is sent, the verdicts in the SSE done
event and a header saying the response is verified. Loopback only, two requests."""

from __future__ import annotations

import json

import httpx
from servekit import running

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
