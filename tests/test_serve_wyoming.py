"""The Wyoming server through the `wyoming` client library: describe, synthesize, and
streaming synthesis sentence by sentence, on 127.0.0.1 and a free port."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from servekit import free_port
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped

import polyvox
from polyvox.errors import PolyvoxError
from polyvox.serve import ServeConfig, create_app
from polyvox.serve.wyoming import parse_uri, serve_wyoming


async def _connect(port: int) -> AsyncTcpClient:
    """A client of the server the test just started, retried while it comes up (at most ~5 s)."""
    for _ in range(100):
        try:
            client = AsyncTcpClient("127.0.0.1", port, connect_timeout=5, read_timeout=20)
            await client.connect()
            return client
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"no Wyoming server on 127.0.0.1:{port}")


async def _session(service, port: int, events: list, stop_on: str) -> list:
    task = asyncio.create_task(serve_wyoming(f"tcp://127.0.0.1:{port}", service))
    try:
        client = await _connect(port)
        got = []
        for event in events:
            await client.write_event(event.event())
        while True:
            event = await asyncio.wait_for(client.read_event(), 20)
            assert event is not None
            got.append(event)
            if event.type in (stop_on, "error"):
                break
        await client.disconnect()
        return got
    finally:
        task.cancel()


@pytest.fixture
def service(tmp_path):
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    app = create_app(ServeConfig(voices_dir=tmp_path / "voices", model_aliases={"tts-1": "template"}), kernel)
    return app.app.state.service


def _pcm(events) -> tuple[int, np.ndarray]:
    start = next(AudioStart.from_event(e) for e in events if AudioStart.is_type(e.type))
    data = b"".join(AudioChunk.from_event(e).audio for e in events if AudioChunk.is_type(e.type))
    return start.rate, np.frombuffer(data, "<i2")


def test_describe_lists_the_program_and_voices(service):
    got = asyncio.run(_session(service, free_port(), [Describe()], "info"))
    info = Info.from_event(got[-1])
    (program,) = info.tts
    assert program.name == "polyvox" and program.supports_synthesize_streaming
    assert program.voices and all(v.languages for v in program.voices)


def test_synthesize_round_trip_gives_the_servers_audio(service):
    text = "Hello from the kitchen. The oven is ready."
    got = asyncio.run(_session(service, free_port(), [Synthesize(text=text)], "audio-stop"))
    assert [e.type for e in got][0] == "audio-start" and AudioStop.is_type(got[-1].type)
    rate, samples = _pcm(got)
    expected = service.kernel.render([polyvox.Segment(text=t, join="none" if n == 0 else "sentence")
                                      for n, t in enumerate(["Hello from the kitchen.", "The oven is ready."])],
                                     engine="template")
    assert rate == 16000
    assert np.array_equal(samples, (np.clip(expected.audio.samples, -1, 1) * 32767).astype("<i2"))


def test_streaming_synthesis_speaks_sentence_by_sentence(service):
    events = [SynthesizeStart(), SynthesizeChunk(text="The first sen"), SynthesizeChunk(text="tence ends here. "),
              SynthesizeChunk(text="And the second"), Synthesize(text="ignored while streaming"),
              SynthesizeChunk(text=" one too."), SynthesizeStop()]
    got = asyncio.run(_session(service, free_port(), events, "synthesize-stopped"))
    kinds = [e.type for e in got]
    assert kinds[0] == "audio-start" and kinds.count("audio-start") == 1
    assert kinds[-2:] == ["audio-stop", "synthesize-stopped"] and SynthesizeStopped.is_type(got[-1].type)
    _, samples = _pcm(got)
    first = service.kernel.synthesize("The first sentence ends here.", engine="template")
    second = service.kernel.synthesize("And the second one too.", engine="template")
    assert len(samples) == len(first) + len(second)  # each sentence once; the compatibility text not spoken


def test_errors_are_wyoming_errors_and_bad_uris_refused(service):
    got = asyncio.run(_session(service, free_port(), [Synthesize(text="Hi", voice=None), Synthesize(text=" ")],
                               "audio-stop"))
    assert AudioStop.is_type(got[-1].type)
    from wyoming.tts import SynthesizeVoice

    got = asyncio.run(_session(service, free_port(), [Synthesize(text="Hi", voice=SynthesizeVoice(name="zork"))],
                               "error"))
    assert Error.from_event(got[-1]).code == "voice_not_found"
    for uri in ("tcp://0.0.0.0:10200", "unix:///tmp/x", "tcp://127.0.0.1:99999"):
        with pytest.raises(PolyvoxError):
            parse_uri(uri)
    assert parse_uri("tcp://0.0.0.0:10200", no_auth=True) == ("0.0.0.0", 10200)


def test_streaming_speaks_a_complete_sentence_before_the_stop(service):
    """Audio for the first sentence arrives while the client is still sending text."""

    async def run(port: int) -> list[str]:
        task = asyncio.create_task(serve_wyoming(f"tcp://127.0.0.1:{port}", service))
        try:
            client = await _connect(port)
            await client.write_event(SynthesizeStart().event())
            await client.write_event(SynthesizeChunk(text="One whole sentence. And half of").event())
            first = await asyncio.wait_for(client.read_event(), 20)  # before any stop was sent
            kinds = [first.type]
            await client.write_event(SynthesizeChunk(text=" another.").event())
            await client.write_event(SynthesizeStop().event())
            while kinds[-1] != "synthesize-stopped":
                kinds.append((await asyncio.wait_for(client.read_event(), 20)).type)
            await client.disconnect()
            return kinds
        finally:
            task.cancel()

    kinds = asyncio.run(run(free_port()))
    assert kinds[0] == "audio-start" and "audio-chunk" in kinds and kinds[-2:] == ["audio-stop", "synthesize-stopped"]
