"""The one render path: a single engine resolution for chunking and planning, streams that end
in the same result as renders, subtitles placed as they come, and outputs never half-written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import ToneEngine

import polyvox
from polyvox import Audio, EngineSpec, Voice

SENTENCE = "This sentence has a handful of words in it, enough to need a chunk of its own. "
LONG = SENTENCE * 6  # ~480 characters


class Sized(polyvox.Engine):
    """A tone engine with its own language and max_chars, for engine-resolution cases."""

    def __init__(self, name: str, languages: tuple[str, ...], max_chars: int, priority: int = 0):
        self.name = name
        self._spec = EngineSpec(name=name, sample_rate=16000, languages=languages, default_model=f"{name}-1",
                                max_chars=max_chars, priority=priority)
        self.texts: list[str] = []

    def spec(self) -> EngineSpec:
        return self._spec

    def load(self, model: str, device: str) -> str:
        return model

    def synthesize(self, model: str, request: polyvox.Request, conditioning: object) -> Audio:
        self.texts.append(request.text)
        t = np.arange(len(request.text) * 80) / 16000
        return Audio(0.2 * np.sin(2 * np.pi * (150 + len(request.text)) * t), 16000)


@pytest.fixture
def engines() -> tuple[polyvox.Kernel, Sized, Sized]:
    kernel = polyvox.Kernel(cache=False, load_entry_points=False)
    wide = Sized("wide", ("en",), 400, priority=10)
    narrow = Sized("narrow", ("en", "cy"), 60)
    kernel.register(wide)
    kernel.register(narrow)
    return kernel, wide, narrow


def _within_limits(kernel: polyvox.Kernel, jobs: list) -> list:
    speech = [j for j in jobs if j.request is not None]
    for job in speech:
        limit = kernel.engine(job.engine).max_chars
        assert len(job.request.text) <= limit, f"{job.engine} got {len(job.request.text)} > {limit} characters"
    return speech


@pytest.mark.parametrize("how", ["call-language", "tag", "voice-engine", "voice-language", "named-engine"])
def test_every_request_fits_the_engine_that_speaks_it(engines, how: str) -> None:
    kernel, _, _ = engines
    kwargs: dict = {}
    text = LONG
    if how == "call-language":
        kwargs["language"] = "cy"
    elif how == "tag":
        text = f"[cy:] {LONG}"
    elif how == "voice-engine":
        text, kwargs["voices"] = f"[Hans] {LONG}", {"Hans": Voice(name="Hans", engine="narrow")}
    elif how == "voice-language":
        text, kwargs["voices"] = f"[Hans] {LONG}", {"Hans": Voice(name="Hans", language="cy")}
    else:
        kwargs["engine"] = "narrow"
    speech = _within_limits(kernel, kernel.plan(text, **kwargs))
    assert {j.engine for j in speech} == {"narrow"}
    assert len(speech) >= 8  # ~480 characters in pieces of at most 60


def test_the_wide_engine_keeps_long_chunks(engines) -> None:
    kernel, _, _ = engines
    speech = _within_limits(kernel, kernel.plan(LONG))
    assert {j.engine for j in speech} == {"wide"} and len(speech) == 2


def test_an_alias_language_wins_over_the_call_default(engines) -> None:
    kernel, _, _ = engines
    jobs = kernel.plan("[Hans] Bore da.\nGood morning.", language="en",
                       voices={"Hans": Voice(name="Hans", language="cy", language_wins=True)})
    assert [(j.request.language, j.engine) for j in jobs] == [("cy", "narrow"), ("en", "wide")]


def test_a_stream_ends_with_the_result_a_render_returns(tmp_path: Path) -> None:


    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", load_entry_points=False)
    kernel.register(ToneEngine())
    script = "[Alice] One. [pause:0.2s] Two.\nThree."
    stream = kernel.stream(script, engine="tone")
    assert stream.result is None and stream.sample_rate == 16000
    chunks = list(stream)
    streamed = stream.result
    rendered = kernel.render(script, engine="tone")
    assert Audio.concatenate(chunks, 16000) == rendered.audio
    assert streamed.audio is None and streamed.sample_rate == 16000
    assert streamed.stats.audio_seconds == pytest.approx(rendered.audio.duration)
    assert [(s.engine, s.segment.text, round(s.start, 4)) for s in streamed.segments] == \
        [(s.engine, s.segment.text, round(s.start, 4)) for s in rendered.segments]
    assert (streamed.stats.synthesized, rendered.stats.cached) == (3, 3)


def test_bad_input_fails_when_the_stream_is_asked_for_before_any_audio(tmp_path: Path) -> None:
    kernel = polyvox.Kernel(cache=False, load_entry_points=False)
    engine = ToneEngine()
    kernel.register(engine)
    with pytest.raises(polyvox.ScriptError, match="unclosed tag"):
        kernel.stream("Fine.\n[Alice Hello", engine="tone", strict=True)
    with pytest.raises(polyvox.UnknownEngineError):
        kernel.stream("Fine.\nHello", engine="no-such-engine")
    assert engine.calls == []


def test_a_failed_render_leaves_no_file_and_keeps_what_was_made(tmp_path: Path) -> None:


    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", load_entry_points=False)
    kernel.register(ToneEngine(fail_on="Three."))
    out = tmp_path / "out.wav"
    out.write_bytes(b"the previous render")
    with pytest.raises(polyvox.SegmentError, match="Three"):
        kernel.render("One.\nTwo.\nThree.", engine="tone", output=out)
    assert out.read_bytes() == b"the previous render"  # untouched, not truncated
    assert not list(tmp_path.glob(".out.partial*"))
    again = polyvox.Kernel(cache_dir=tmp_path / "cache", load_entry_points=False)
    again.register(ToneEngine())
    result = again.render("One.\nTwo.\nThree.", engine="tone", output=out)
    assert (result.stats.cached, result.stats.synthesized) == (2, 1)
    assert sf.info(str(out)).duration == pytest.approx(result.stats.audio_seconds, abs=1e-3)


@pytest.mark.parametrize("fmt", ["wav", "pcm", "flac"])
def test_renders_write_to_a_binary_stream(tmp_path: Path, fmt: str) -> None:
    import io



    kernel = polyvox.Kernel(cache=False, load_entry_points=False)
    kernel.register(ToneEngine())
    buffer = io.BytesIO()
    result = kernel.render("One.\nTwo.", engine="tone", output=buffer, format=fmt)
    data = buffer.getvalue()
    frames = round(result.stats.audio_seconds * 16000)
    if fmt == "pcm":
        assert len(data) == 2 * frames
    else:
        audio = Audio.read(io.BytesIO(data))
        assert len(audio) == frames and audio.sample_rate == 16000


def test_subtitles_are_placed_as_they_come(tmp_path: Path) -> None:
    """A subtitle render hands audio to its sink before the last cue is synthesized."""


    kernel = polyvox.Kernel(cache=False, load_entry_points=False)
    engine = ToneEngine()
    kernel.register(engine)
    cues = "".join(f"{n}\n00:00:{2 * n:02d},000 --> 00:00:{2 * n + 1:02d},500\nLine {n}.\n\n" for n in range(1, 9))
    stream = kernel.stream(cues, engine="tone")
    first = next(stream)
    assert len(first) > 0 and len(engine.calls) < 8
    rest = list(stream)
    whole = kernel.render(cues, engine="tone")
    assert Audio.concatenate([first, *rest], 16000) == whole.audio
    assert [round(t.start, 3) for t in stream.result.timing] == [float(2 * n) for n in range(1, 9)]


def test_an_engines_declared_join_applies_unless_the_caller_gives_one() -> None:
    import attrs

    class Smooth(Sized):
        def spec(self) -> EngineSpec:
            return attrs.evolve(super().spec(), join=polyvox.JoinConfig(method="crossfade", crossfade_ms=50))

    kernel = polyvox.Kernel(cache=False, load_entry_points=False)
    engine = Smooth("smooth", ("en",), 60)
    kernel.register(engine)
    declared = kernel.render(LONG, engine="smooth")
    pieces = [s for s in declared.segments if s.engine]
    clips = sum(round(s.duration * 16000) for s in pieces)
    overlap = round(0.050 * 16000)  # clips are ~0.17 s: room for a 50 ms crossfade on both sides
    assert len(pieces) >= 8
    assert len(declared.audio) == clips - overlap * (len(pieces) - 1)
    given = kernel.render(LONG, engine="smooth", join=polyvox.JoinConfig(method="crossfade", crossfade_ms=20))
    assert len(given.audio) == clips - round(0.020 * 16000) * (len(pieces) - 1)


def test_a_language_pack_that_raises_is_left_out_and_the_host_still_speaks() -> None:
    class BrokenPack:
        @polyvox.hookimpl
        def map_language(self, engine: str, language: str) -> str | None:
            raise RuntimeError("pack data missing")

    kernel = polyvox.Kernel(cache=False, load_entry_points=False)
    kernel.register(Sized("wide", ("en",), 400))
    kernel.register(BrokenPack(), name="broken-pack")
    result = kernel.render("Hello there.")
    assert result.segments[0].engine == "wide" and result.audio.duration > 0
    assert any("'broken-pack'" in w and "pack data missing" in w for w in result.warnings)
    (failure,) = [f for f in kernel.failures if f.name == "broken-pack"]
    assert "RuntimeError: pack data missing" in failure.error


def test_the_cli_batch_size_reaches_engines_that_batch(tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from polyvox.cli import cli
    from polyvox.cli import render as cli_render

    monkeypatch.setenv("POLYVOX_PLUGINS", "template")
    monkeypatch.setenv("POLYVOX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("POLYVOX_CONFIG", str(tmp_path / "config.toml"))
    (tmp_path / "config.toml").write_text("")
    script = tmp_path / "s.txt"
    script.write_text("\n".join(f"Line number {n} of the script." for n in range(8)))

    def calls(*args: str) -> int:
        out = CliRunner().invoke(cli, ["render", str(script), "-o", str(tmp_path / "o.wav"), "--no-cache", *args])
        assert out.exit_code == 0, out.output
        (kernel,) = cli_render._KERNELS.values()
        return kernel.scheduler.calls

    one = calls()
    assert calls("--batch-size", "4") - one == 2  # eight lines of one voice: two engine calls
    monkeypatch.setenv("POLYVOX_BATCH_SIZE", "8")
    before = calls()
    assert calls() - before == 1


def test_control_characters_and_terminal_colours_are_not_text(tmp_path):
    """Text pasted from a terminal or a C string (a NUL, colour codes, a bell) speaks like the
    clean text on Piper, whose espeak-ng fails on a NUL, and the colour codes are no tags."""
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    quiet = {"noise_scale": 0.0, "noise_w_scale": 0.0}
    pasted = "\x1b[1;32m[Alice]\x1b[0m Hello\x00 there.\x07 Goodbye\x1b]0;title\x07 now."
    clean = "[Alice] Hello there. Goodbye now."
    from polyvox.text.markup import parse

    assert [(s.character, s.text) for s in parse(pasted)] == [(s.character, s.text) for s in parse(clean)]
    got = kernel.render(pasted, engine="piper", params=quiet, seed=1)
    expected = kernel.render(clean, engine="piper", params=quiet, seed=1)
    assert got.audio.duration > 1.0 and expected.stats.synthesized == 0  # the same segments: cached
    assert np.array_equal(got.audio.samples, expected.audio.samples)
    spoken = polyvox.Segment(text="Hi\x00 there")  # also when a program builds the segments
    assert spoken.text == "Hi there"


@pytest.mark.parametrize("grows", ["in place", "by copying"])
def test_concatenate_joins_clips_as_they_come_into_memory_that_grows(monkeypatch, grows) -> None:
    import mmap

    from polyvox import audio

    if grows == "by copying":  # a system without mremap (macOS): the map cannot be resized

        class Fixed(mmap.mmap):
            def resize(self, size):
                raise SystemError("mmap: resizing not available--no mremap()")

        monkeypatch.setattr(audio, "_anonymous", lambda size: Fixed(-1, size))
    rng = np.random.default_rng(5)
    lengths = [0, 1, 300_000, 5, 1_500_000, 0, 2_600_001, 3]  # across the first map's size and two growths
    clips = [Audio(rng.uniform(-1, 1, n).astype(np.float32), 16000) for n in lengths]
    clips.append(Audio(rng.uniform(-1, 1, 8000).astype(np.float32), 8000))  # resampled on the way
    expected = np.concatenate([c.resample(16000).samples for c in clips])
    joined = Audio.concatenate(iter(clips))  # an iterator, read once
    assert joined.sample_rate == 16000 and np.array_equal(joined.samples, expected)
    assert not joined.samples.flags.writeable
    short = Audio.concatenate(iter(clips[:4]))  # under `SMALL`: kept as they come, joined once
    assert np.array_equal(short.samples, expected[:300_006]) and not short.samples.flags.writeable
    assert Audio.concatenate([], 22050) == Audio(np.zeros(0, np.float32), 22050)
    assert Audio.concatenate([Audio(np.zeros(0, np.float32), 8000)]) == Audio(np.zeros(0, np.float32), 8000)
    with pytest.raises(polyvox.PolyvoxError, match="without a sample rate"):
        Audio.concatenate([])


def test_two_renders_to_one_name_at_once_leave_one_of_them_whole(tmp_path: Path) -> None:
    """Both wrote into one hidden .out.partial.wav: one failed ("No such file or directory")
    after all its work, and the file left was spliced from both, or the other one's."""
    import threading

    import soundfile as sf

    out = tmp_path / "out.wav"
    script = "\n".join(f"Line {n} of a script written twice at once." for n in range(12))
    made: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def render(seed: int) -> None:
        kernel = polyvox.Kernel(cache=False, load_entry_points=False)
        kernel.register(ToneEngine(delay=0.01))
        made[seed] = kernel.render(script, engine="tone", seed=seed).audio.samples
        start.wait(timeout=30)
        try:
            kernel.render(script, engine="tone", seed=seed, output=out)
        except BaseException as exc:  # noqa: BLE001 - kept for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=render, args=(seed,)) for seed in (501, 502)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    written, _ = sf.read(out, dtype="float32")
    whole = [np.allclose(written, made[s], atol=1e-4) for s in made if len(made[s]) == len(written)]
    assert any(whole)  # one render's audio, all of it
    assert not list(tmp_path.glob(".out.partial*"))


def test_a_partial_file_a_killed_render_left_is_removed(tmp_path: Path) -> None:
    orphan = tmp_path / ".out.partial-999999999-abcdef.wav"  # no process has this pid
    orphan.write_bytes(b"half a render")
    kernel = polyvox.Kernel(cache=False, load_entry_points=False)
    kernel.register(ToneEngine())
    kernel.render("Hi.", engine="tone", output=tmp_path / "out.wav")
    assert not orphan.exists() and (tmp_path / "out.wav").exists()
