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
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped, SynthesizeVoice

import polyvox
from polyvox.errors import PolyvoxError
from polyvox.serve import ServeConfig, create_app
from polyvox.serve.wyoming import describe, parse_uri, serve_wyoming
from polyvox.text.chunking import sentences


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
    return app.state.service


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
    # Home Assistant links the attribution: the project's page (it was a bare organisation), and
    # an engine's voice names its engine
    assert program.attribution.url == "https://github.com/polyvox/polyvox"
    every = describe(create_app(ServeConfig(voices_dir=service.config.voices_dir), service.kernel).state.service)
    heart = next(v for v in every.tts[0].voices if v.name == "heart")
    assert heart.attribution.name.startswith("hibari")


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


async def _exchange(port: int, events: list, stop_on: str | None = None) -> list:
    """What the server answers to `events` on one connection: up to an event of type `stop_on`,
    or (without one) until it hangs up."""
    client = await _connect(port)
    for event in events:
        await client.write_event(event.event())
    got: list = []
    while (event := await asyncio.wait_for(client.read_event(), 20)) is not None:
        got.append(event)
        if event.type == stop_on:
            break
    await client.disconnect()
    return got


def test_errors_are_wyoming_errors_then_a_hang_up(service):
    """Home Assistant reads until the audio stops or the connection ends: an error must end it."""

    async def run(port: int) -> tuple[list, list, list]:
        task = asyncio.create_task(serve_wyoming(f"tcp://127.0.0.1:{port}", service))
        try:
            unknown = await _exchange(port, [Synthesize(text="Hi", voice=SynthesizeVoice(name="zork"))])
            blank = await _exchange(port, [Synthesize(text="Hi", voice=None), Synthesize(text=" ")])
            later = await _exchange(port, [Synthesize(text="Still here.")], "audio-stop")
            return unknown, blank, later
        finally:
            task.cancel()

    unknown, blank, later = asyncio.run(run(free_port()))
    assert [e.type for e in unknown] == ["error"] and Error.from_event(unknown[0]).code == "voice_not_found"
    assert "zork" in Error.from_event(unknown[0]).text
    kinds = [e.type for e in blank]
    assert kinds[0] == "audio-start" and kinds[-2:] == ["audio-stop", "error"]  # the first answered, then refused
    assert Error.from_event(blank[-1]).code == "empty_input"
    assert AudioStop.is_type(later[-1].type) and len(_pcm(later)[1]) > 0  # and the server lives on


def test_a_stream_event_without_its_start_is_answered_not_left_to_time_out(service):
    async def run(port: int) -> tuple[list, list]:
        task = asyncio.create_task(serve_wyoming(f"tcp://127.0.0.1:{port}", service))
        try:
            stop = await _exchange(port, [SynthesizeStop()], "synthesize-stopped")
            chunk = await _exchange(port, [SynthesizeChunk(text="Hello.")])
            return stop, chunk
        finally:
            task.cancel()

    stop, chunk = asyncio.run(run(free_port()))
    assert [e.type for e in stop] == ["synthesize-stopped"]
    assert [e.type for e in chunk] == ["error"] and Error.from_event(chunk[0]).code == "no_stream"


def test_bad_uris_are_refused():
    for uri in ("tcp://[::]:10200", "unix:///tmp/x", "tcp://127.0.0.1:99999"):
        with pytest.raises(PolyvoxError):
            parse_uri(uri)
    assert parse_uri("tcp://[::]:10200", no_auth=True) == ("::", 10200)  # parsed only, never bound


def test_describe_lists_a_voice_uploaded_while_serving(service, tmp_path):
    import soundfile as sf

    port = free_port()

    async def run() -> tuple[Info, Info]:
        task = asyncio.create_task(serve_wyoming(f"tcp://127.0.0.1:{port}", service))
        try:
            before = Info.from_event((await _exchange(port, [Describe()], "info"))[-1])
            tone = 0.3 * np.sin(np.arange(16000 * 2) / 16000 * 2 * np.pi * 220)
            wav = tmp_path / "upload.wav"
            sf.write(wav, tone, 16000)
            service.store.add(wav.read_bytes(), "Kitchen", None)
            after = Info.from_event((await _exchange(port, [Describe()], "info"))[-1])
            return before, after
        finally:
            task.cancel()

    before, after = asyncio.run(run())
    names = lambda info: {v.description for v in info.tts[0].voices}  # noqa: E731
    assert "Kitchen" not in names(before) and "Kitchen" in names(after)


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


def test_a_streamed_sentence_with_nothing_to_say_does_not_end_the_answer(service):
    """An assistant's answer "Great! 👍 Anything else?" streamed: the "👍" sentence is skipped
    (it was an error that hung up, and "Anything else?" was never spoken)."""
    events = [SynthesizeStart(), SynthesizeChunk(text="Great! 👍\n\n"), SynthesizeChunk(text="Anything else?"),
              SynthesizeStop()]
    got = asyncio.run(_session(service, free_port(), events, "synthesize-stopped"))
    types = [e.type for e in got]
    assert "error" not in types and types[-2:] == ["audio-stop", "synthesize-stopped"]
    whole = asyncio.run(_session(service, free_port(), [Synthesize(text="Great! Anything else?")], "audio-stop"))
    assert len(_pcm(got)[1]) > 0.8 * len(_pcm(whole)[1])  # both sentences spoken


def test_streaming_keeps_the_space_a_chunk_ends_with(service):
    """A chunk that ends a sentence and then a word with its space ("... here. The ") is
    followed by the next word: the words stay apart, as they were sent."""
    events = [SynthesizeStart(), SynthesizeChunk(text="Sentence one is here. The "),
              SynthesizeChunk(text="end is\n"), SynthesizeChunk(text="near. Mr. Smi"),
              SynthesizeChunk(text="th waits."), SynthesizeStop()]
    got = asyncio.run(_session(service, free_port(), events, "synthesize-stopped"))
    _, samples = _pcm(got)
    said = b"".join(service.kernel.synthesize(t, engine="template").to_bytes("pcm")
                   for t in sentences("Sentence one is here. The end is\nnear. Mr. Smith waits."))
    assert samples.tobytes() == said


def test_every_voice_described_can_be_spoken(tmp_path):
    """Home Assistant offers the voices and languages `describe` lists: with tts-1 mapped to one
    engine, another engine's voices and languages must not be offered (they would be refused)."""
    import attrs
    from conftest import ToneEngine

    class Voiced(ToneEngine):
        def spec(self):
            return attrs.evolve(super().spec(), voices=("bob", "ann"))

    async def offered_and_answers(service, port: int) -> tuple[list[str], dict[str, str]]:
        task = asyncio.create_task(serve_wyoming(f"tcp://127.0.0.1:{port}", service))
        try:
            (info,) = await _exchange(port, [Describe()], "info")
            offered = Info.from_event(info).tts[0].voices
            # Home Assistant asks by voice name, or (no voice chosen) by a language the voices claim
            asks = [SynthesizeVoice(name=v.name) for v in offered]
            asks += [SynthesizeVoice(language=code) for code in sorted({c for v in offered for c in v.languages})]
            answers = {}
            for ask in asks:
                # a language asked for is spoken in its own script (Latin text asked as Japanese is
                # refused by design: the text is not written the way the language is)
                text = {"ja": "こんにちは。"}.get(ask.language or "", "Hi there.")
                got = await _exchange(port, [Synthesize(text=text, voice=ask)], "audio-stop")
                answers[ask.name or ask.language] = got[-1].type
            return [v.name for v in offered], answers
        finally:
            task.cancel()

    for aliases, listed in (({"tts-1": "template"}, False), ({}, True)):
        kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
        kernel.register(Voiced(name="voiced"))
        app = create_app(ServeConfig(voices_dir=tmp_path / "voices", model_aliases=aliases), kernel)
        names, answers = asyncio.run(offered_and_answers(app.state.service, free_port()))
        assert ("bob" in names) is listed, names
        assert answers and set(answers.values()) == {"audio-stop"}, answers


def test_a_long_answer_over_the_input_limit_is_spoken_whole(tmp_path):
    """Home Assistant sends a long assistant answer in one synthesize and cannot split it:
    it is spoken in pieces cut between sentences, not refused as too large."""
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    app = create_app(ServeConfig(voices_dir=tmp_path / "voices", model_aliases={"tts-1": "template"},
                                 max_input_chars=100), kernel)
    service = app.state.service
    text = " ".join(f"Sentence number {n} of a long answer." for n in range(8))  # ~290 characters
    got = asyncio.run(_session(service, free_port(), [Synthesize(text=text)], "audio-stop"))
    kinds = [e.type for e in got]
    assert kinds[0] == "audio-start" and kinds.count("audio-start") == 1 and kinds[-1] == "audio-stop", kinds
    _, samples = _pcm(got)
    one = service.kernel.synthesize("Sentence number 0 of a long answer.", engine="template")
    assert len(samples) > 7 * len(one)  # every sentence spoken
    # an SSML document cannot be cut so: said so, not "malformed SSML: no element found"
    ssml = asyncio.run(_session(service, free_port(), [Synthesize(text=f"<speak>{text}</speak>")], "audio-stop"))
    assert ssml[-1].type == "error" and ssml[-1].data["code"] == "too_large", ssml[-1].data
    assert "cannot be spoken in pieces" in ssml[-1].data["text"]


def test_a_stream_that_never_ends_a_sentence_is_spoken_in_pieces(tmp_path):
    """Streaming text without a sentence end (a run-on list, a model that never writes a full
    stop) is spoken between words once it passes the input limit: audio comes before the stop
    and the text the server holds stays bounded; every word is spoken once."""
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    app = create_app(ServeConfig(voices_dir=tmp_path / "voices", model_aliases={"tts-1": "template"},
                                 max_input_chars=60), kernel)
    service = app.state.service
    words = [f"item{n}" for n in range(40)]  # ~260 characters, no sentence end

    async def run(port: int) -> tuple[str, list]:
        task = asyncio.create_task(serve_wyoming(f"tcp://127.0.0.1:{port}", service))
        try:
            client = await _connect(port)
            await client.write_event(SynthesizeStart().event())
            for word in words:
                await client.write_event(SynthesizeChunk(text=word + " ").event())
            first = await asyncio.wait_for(client.read_event(), 20)  # before the stop
            await client.write_event(SynthesizeStop().event())
            got = [first]
            while got[-1].type != "synthesize-stopped":
                got.append(await asyncio.wait_for(client.read_event(), 20))
            await client.disconnect()
            return first.type, got
        finally:
            task.cancel()

    first, got = asyncio.run(run(free_port()))
    assert first == "audio-start"
    _, samples = _pcm(got)
    whole = sum(len(service.kernel.synthesize(w, engine="template")) for w in words)
    assert 0.9 * whole < len(samples) < 1.3 * whole, len(samples) / whole  # each word once, spaces aside


def test_uploads_are_offered_only_where_an_engine_clones(tmp_path):
    """With tts-1 on Piper (no cloning) an uploaded voice would speak as Piper's default: it is
    not offered to Home Assistant; on an engine that clones it is."""
    import soundfile as sf

    wav = tmp_path / "upload.wav"
    sf.write(wav, 0.3 * np.sin(np.arange(32000) / 16000 * 2 * np.pi * 220), 16000)
    offered = {}
    for engine in ("piper", "template"):
        app = create_app(ServeConfig(voices_dir=tmp_path / f"voices-{engine}", model_aliases={"tts-1": engine}),
                         polyvox.Kernel(cache_dir=tmp_path / "cache"))
        service = app.state.service
        service.store.add(wav.read_bytes(), "Kitchen", None)
        offered[engine] = {v.description for v in describe(service).tts[0].voices}
    assert "Kitchen" not in offered["piper"] and "Kitchen" in offered["template"]
