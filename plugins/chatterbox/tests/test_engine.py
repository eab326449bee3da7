"""The English model through the kernel: audio, seeds, voices, caching, short text, errors."""

from __future__ import annotations

import attrs
import numpy as np
import pytest

import polyvox
from polyvox import Segment
from polyvox.testing import differ
from polyvox_chatterbox import conditioning

from .conftest import FAST, loaded

#: What the engine declares for the CPU (docs/benchmarks.md, the ChatterBox batching sweep).
CPU_BATCH = 4


def test_audio_is_24khz_float32_finite_and_not_empty(kernel: polyvox.Kernel, voices: list[polyvox.Voice]) -> None:
    audio = kernel.synthesize("Hello there, how are you?", engine="chatterbox", voice=voices[0], **FAST)
    assert audio.sample_rate == 24000
    assert audio.samples.dtype == np.float32
    assert audio.duration >= 0.1 and np.all(np.isfinite(audio.samples))
    assert audio.rms > 1e-3 and audio.peak <= 1.0
    # the reference recording and the text both reach the output
    other_voice = kernel.synthesize("Hello there, how are you?", engine="chatterbox", voice=voices[1], **FAST)
    other_text = kernel.synthesize("A different sentence altogether.", engine="chatterbox", voice=voices[0], **FAST)
    assert differ(audio, other_voice) and differ(audio, other_text)


def test_same_seed_same_samples_other_seed_other_samples(kernel: polyvox.Kernel,
                                                         voices: list[polyvox.Voice]) -> None:
    def say(seed: int) -> polyvox.Audio:
        return kernel.synthesize("Seeds decide.", engine="chatterbox", voice=voices[0], seed=seed,
                                 use_cache=False, **FAST)

    first = say(11)
    assert say(11) == first
    assert say(12) != first


def test_voice_prepared_once_across_a_twenty_segment_render(kernel: polyvox.Kernel, voices: list[polyvox.Voice],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = conditioning.prepare

    def counting(model, voice, exaggeration):  # noqa: ANN001, ANN202
        calls.append(voice.name)
        return real(model, voice, exaggeration)

    monkeypatch.setattr(conditioning, "prepare", counting)
    voice = attrs.evolve(voices[1], params={"exaggeration": 0.7})  # a conditioning no other test made
    segments = [Segment(text=f"Line number {n}.") for n in range(20)]
    result = kernel.render(segments, engine="chatterbox", voice=voice, params=FAST, use_cache=False)
    assert result.stats.synthesized == 20
    assert calls == ["high"]
    assert result.stats.voice_preparations == 1


def test_builtin_voice_and_its_absence(kernel: polyvox.Kernel, voices: list[polyvox.Voice]) -> None:
    audio = kernel.synthesize("No reference given.", engine="chatterbox", **FAST)
    assert audio.duration >= 0.1 and audio.rms > 1e-3
    cloned = kernel.synthesize("No reference given.", engine="chatterbox", voice=voices[0], **FAST)
    assert differ(audio, cloned), "the built-in voice and a reference voice gave the same audio"
    model = attrs.evolve(loaded(kernel, "english"), builtin=None)
    with pytest.raises(polyvox.VoiceError, match="no built-in voice"):
        conditioning.prepare(model, polyvox.Voice(), 0.5)


def test_reference_too_short_is_a_voice_error(kernel: polyvox.Kernel, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "blip.wav"
    polyvox.Audio(np.full(2400, 0.1, np.float32), 24000).write(path)
    with pytest.raises(polyvox.SegmentError, match="at least 0.5 s"):
        kernel.synthesize("Hi.", engine="chatterbox", voice=polyvox.Voice(name="blip", audio=path), **FAST)


@pytest.mark.parametrize("text", ["7", "Hi"])
def test_very_short_text(kernel: polyvox.Kernel, voices: list[polyvox.Voice], text: str) -> None:
    audio = kernel.synthesize(text, engine="chatterbox", voice=voices[0], use_cache=False,
                              max_new_tokens=1, flow_steps=1)
    # one speech token at most, padded with silence to S3Gen's minimum of 3 (25 tokens a second)
    assert audio.duration >= 0.1 and np.all(np.isfinite(audio.samples))


def test_re_render_is_served_from_the_cache(kernel: polyvox.Kernel, voices: list[polyvox.Voice]) -> None:
    script = [Segment(text="Cached once."), Segment(text="Cached twice.")]
    first = kernel.render(script, engine="chatterbox", voice=voices[0], params=FAST)
    calls = kernel.scheduler.calls
    again = kernel.render(script, engine="chatterbox", voice=voices[0], params=FAST)
    assert kernel.scheduler.calls == calls
    assert again.stats.cached == 2 and again.stats.synthesized == 0
    assert again.audio == first.audio


def test_language_mapping(kernel: polyvox.Kernel) -> None:
    models = kernel.models_for("chatterbox")
    assert models["en"] == "english"
    assert models["de"] == "multilingual" and models["zh"] == "multilingual"
    (job,) = kernel.plan("Guten Morgen.", engine="chatterbox", language="de")
    assert job.model == "multilingual" and job.request.language == "de"


def test_declared_defaults_follow_upstream(kernel: polyvox.Kernel) -> None:
    spec = kernel.engine("chatterbox")
    assert spec.sample_rate == 24000 and spec.max_chars <= 300
    assert spec.capabilities.batch and not spec.capabilities.thread_safe and spec.capabilities.seeded
    defaults = spec.defaults()
    assert defaults["exaggeration"] == 0.5 and defaults["cfg_weight"] == 0.5 and defaults["temperature"] == 0.8
    assert spec.param("exaggeration").affects_voice


def test_characters_interleaved_in_one_render_equal_each_alone(kernel: polyvox.Kernel,
                                                               voices: list[polyvox.Voice]) -> None:
    low, high = voices
    cast = {"Low": low, "High": high}
    script = [Segment(text="Interleaved first.", character="Low"),
              Segment(text="Interleaved second.", character="High"),
              Segment(text="Interleaved third.", character="Low")]
    together = kernel.render(script, engine="chatterbox", voices=cast, params=FAST)
    assert together.stats.synthesized == 3
    for result, seg in zip(together.segments, script, strict=True):
        cached = kernel.cache.get(result.key)  # the two Low lines were one batch: equal within float noise
        # read first: a use_cache=False take replaces the entry it makes
        alone = kernel.synthesize(seg.text, engine="chatterbox", voice=cast[seg.character], use_cache=False, **FAST)
        assert len(cached) == len(alone) and np.abs(cached.samples - alone.samples).max() < 1e-4, seg.text


def test_cfg_weight_zero_works(kernel: polyvox.Kernel, voices: list[polyvox.Voice]) -> None:
    audio = kernel.synthesize("No guidance.", engine="chatterbox", voice=voices[0], cfg_weight=0.0, **FAST)
    assert audio.duration >= 0.1 and audio.rms > 1e-3
    guided = kernel.synthesize("No guidance.", engine="chatterbox", voice=voices[0], cfg_weight=0.5, **FAST)
    assert differ(audio, guided), "cfg_weight 0 and 0.5 gave the same audio: is the weight passed on?"


def test_host_threads_calling_the_hook_directly_still_get_their_own_seed(kernel: polyvox.Kernel,
                                                                         voices: list[polyvox.Voice]) -> None:
    """A host may call synthesize_segment from several threads without the kernel's model lock:
    seeding and sampling share one process-wide lock, so each segment depends on its seed only."""
    from concurrent.futures import ThreadPoolExecutor

    from polyvox.testing import call_engine, plan_requests

    jobs = [j for seed in (21, 22, 23, 24)
            for j in plan_requests(kernel, "chatterbox", ["Threads agree."], voice=voices[0], seed=seed, params=FAST)]
    alone = [call_engine(kernel, [job])[0] for job in jobs]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda job: call_engine(kernel, [job])[0], jobs))
    assert together == alone
    assert len({a.samples.tobytes() for a in alone}) == 4


def test_renders_batch_by_the_declared_size_unless_the_user_sets_one(kernel: polyvox.Kernel) -> None:
    caps = kernel.engine("chatterbox").capabilities
    assert caps.batch_size_for("cuda:0") == 8 and caps.batch_size_for("cpu") == CPU_BATCH
    script = "Rain fell all night.\nThe ships came home.\nBread and apples."
    calls = kernel.scheduler.calls
    declared = kernel.render(script, engine="chatterbox", params=FAST, use_cache=False)  # device auto
    assert kernel.scheduler.calls - calls == 1  # three lines of one voice, one call
    calls = kernel.scheduler.calls
    single = kernel.render(script, engine="chatterbox", params=FAST, use_cache=False, batch_size=1)
    assert kernel.scheduler.calls - calls == 3
    assert len(declared.audio) == len(single.audio)
    assert np.abs(declared.audio.samples - single.audio.samples).max() < 1e-4
