"""What the Template engine does with text, parameters, voices and models: measured on its audio."""

from __future__ import annotations

import json

import numpy as np
import pytest
from polyvox_template import SAMPLE_RATE, Template

import polyvox
from polyvox.testing import reference_voice


@pytest.fixture
def kernel(tmp_path) -> polyvox.Kernel:
    return polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=["template"])


def pitch(audio: polyvox.Audio) -> float:
    """The strongest frequency below 400 Hz, from the spectrum of the middle of the clip."""
    middle = audio.samples[len(audio) // 4 : 3 * len(audio) // 4]
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle)), 8 * len(middle)))
    freqs = np.fft.rfftfreq(8 * len(middle), 1 / audio.sample_rate)
    band = (freqs > 60) & (freqs < 400)
    return float(freqs[band][np.argmax(spectrum[band])])


def test_installed_engine_is_found_by_its_entry_point(kernel):
    assert [s.name for s in kernel.engines()] == ["template"]
    assert "template" in [p.name for p in kernel.plugin_info()]


def test_speech_follows_the_text(kernel):
    short = kernel.synthesize("Hi there.", engine="template")
    long = kernel.synthesize("Hi there, this sentence is a good deal longer.", engine="template")
    assert short.sample_rate == SAMPLE_RATE
    assert short.rms > 0.05 and long.duration > 2.5 * short.duration


def test_speed_and_pitch_parameters(kernel):
    normal = kernel.synthesize("aaaa oooo", engine="template", breathiness=0)
    fast = kernel.synthesize("aaaa oooo", engine="template", breathiness=0, rate=2.0)  # alias of speed
    assert fast.duration == pytest.approx(normal.duration / 2, rel=0.05)
    up = kernel.synthesize("aaaa oooo", engine="template", breathiness=0, pitch=12)
    assert pitch(normal) == pytest.approx(120, rel=0.05)
    assert pitch(up) == pytest.approx(240, rel=0.05)
    with pytest.raises(polyvox.ParameterError, match="speed"):
        kernel.synthesize("aaaa", engine="template", speed=5)


def test_the_voice_is_conditioned_on_the_reference_audio(kernel, tmp_path):
    voice = reference_voice(tmp_path, "high", 200.0)
    audio = kernel.synthesize("aaaa oooo", engine="template", voice=voice, breathiness=0)
    assert pitch(audio) == pytest.approx(200, rel=0.05)


def test_a_reference_that_is_no_audio_is_refused_before_anything_is_made(kernel, tmp_path):
    (tmp_path / "Broken.wav").write_bytes(b"not audio at all")
    made: list[object] = []
    kernel.subscribe(lambda e: made.append(e) if type(e).__name__ == "SegmentFinished" else None)
    with pytest.raises(polyvox.VoiceError, match="Broken.wav"):
        kernel.render("The narrator starts.\n[Broken] Hello there.", engine="template", voices=tmp_path)
    assert made == []  # the narrator's line was not made first


def test_seed_changes_the_noise_and_only_the_noise(kernel):
    a = kernel.synthesize("Say it twice.", engine="template", seed=1)
    b = kernel.synthesize("Say it twice.", engine="template", seed=2)
    assert len(a) == len(b) and not np.array_equal(a.samples, b.samples)


def test_a_checkpoint_file_is_a_model(kernel, tmp_path):
    checkpoint = tmp_path / "deep.json"
    checkpoint.write_text(json.dumps({"f0": 90.0, "letter_seconds": 0.075, "vowels": {"a": [700, 1200]}}))
    audio = kernel.synthesize("aaaa", engine="template", model=str(checkpoint), breathiness=0)
    assert pitch(audio) == pytest.approx(90, rel=0.05)
    checkpoint.write_text("{not json")
    with pytest.raises(polyvox.ModelError, match="not a valid checkpoint"):
        Template().load(str(checkpoint), "cpu")


def test_a_script_renders_through_the_engine(kernel, tmp_path):
    result = kernel.render("Hello. [pause:0.5s] [Bob] Hi!", engine="template", output=tmp_path / "out.wav")
    assert result.stats.speech_segments == 2
    assert polyvox.Audio.read(result.output).duration > 1.0
