"""Real speech through the kernel with Piper, and every bad input the API can get."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import QUIET

import polyvox


def test_synthesize_real_speech(kernel):
    text = "The quick brown fox jumps over the lazy dog."
    audio = kernel.synthesize(text)
    assert audio.sample_rate == 22050
    assert audio.samples.dtype == np.float32
    # ~9 words: a sane English rate is 2-5 words per second.
    assert 1.5 < audio.duration < 5.0
    assert audio.rms > 0.02 and audio.peak <= 1.0
    # speech has pauses and voiced parts: the loudness varies over time
    frames = audio.samples[: len(audio) // 441 * 441].reshape(-1, 441)
    energy = np.sqrt((frames**2).mean(axis=1))
    assert (energy < 0.01).any() and (energy > 0.05).any()


def test_longer_text_takes_longer(kernel):
    short = kernel.synthesize("Hello.", **QUIET)
    long = kernel.synthesize("Hello. This sentence is a good deal longer than the first one.", **QUIET)
    assert long.duration > 2.5 * short.duration


def test_deterministic_with_noise_off(tmp_path):
    a = polyvox.Kernel(cache=False).synthesize("Same words, same samples.", **QUIET)
    b = polyvox.Kernel(cache=False).synthesize("Same words, same samples.", **QUIET)
    assert a == b


def test_length_scale_slows_speech(kernel):
    normal = kernel.synthesize("Speak slowly now.", **QUIET)
    slow = kernel.synthesize("Speak slowly now.", length_scale=1.8, **QUIET)
    assert slow.duration > 1.5 * normal.duration


def test_default_engine_for_english_is_piper(kernel):
    jobs = kernel.plan("Hello.")
    assert jobs[0].engine == "piper" and jobs[0].model == "en_US-joe-medium"


def test_stream_and_render_agree_with_pauses(kernel):
    segments = [polyvox.Segment("First part."), polyvox.Segment(pause=0.5), polyvox.Segment("Second part.")]
    rendered = kernel.render(segments, params=QUIET)
    streamed = polyvox.Audio.concatenate(kernel.stream(segments, params=QUIET))
    assert streamed == rendered.audio
    first, pause, second = rendered.segments
    assert pause.duration == 0.5 and second.start == pytest.approx(first.duration + 0.5, abs=1e-3)
    gap = rendered.audio.slice(first.duration + 0.01, first.duration + 0.49)
    assert gap.peak == 0.0


def test_output_formats_round_trip(kernel, tmp_path):
    audio = kernel.synthesize("Round trip.", **QUIET)
    for ext in ("wav", "flac", "ogg"):
        path = tmp_path / f"out.{ext}"
        audio.write(path)
        back = polyvox.Audio.read(path)
        assert back.sample_rate == 22050
        assert back.duration == pytest.approx(audio.duration, abs=0.01)
    with pytest.raises(polyvox.PolyvoxError, match="unknown audio format '.xyz'"):
        audio.write(tmp_path / "out.xyz")


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (dict(text="   "), polyvox.EmptyTextError, "nothing to speak"),
        (dict(text="hi", engine="nope"), polyvox.UnknownEngineError, r"'nope' is not installed .*polyvox install nope"),
        (dict(text="hi", language="klingonese"), polyvox.UnsupportedLanguageError, "unknown language 'klingonese'"),
        (dict(text="hi", language="de"), polyvox.UnsupportedLanguageError, "no installed engine speaks 'de'"),
        (dict(text="hi", length_scale=9), polyvox.ParameterError, r"length_scale=9 is out of range: .*0.25..4.0"),
        (dict(text="hi", length_scale="fast"), polyvox.ParameterError, "length_scale='fast' is not valid"),
        (dict(text="hi", pitch=2), polyvox.ParameterError, "no parameter 'pitch'; its parameters: length_scale"),
        (dict(text="hi", voice="no-such-voice"), polyvox.ModelError, "Piper voice 'no-such-voice' not found"),
        (dict(text="hi", seed="x"), polyvox.ParameterError, "seed 'x' is not valid"),
    ],
)
def test_bad_input_is_one_clear_line(kernel, call, error, message):
    with pytest.raises(error, match=message) as info:
        kernel.synthesize(**call)
    assert "\n" not in str(info.value)


def test_unreadable_voice_file(kernel, tmp_path):
    bad = tmp_path / "voice.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(polyvox.VoiceError, match="cannot read audio"):
        polyvox.Audio.read(bad)
    with pytest.raises(polyvox.VoiceError, match="is not a readable file"):
        polyvox.Voice(name="x", audio=tmp_path / "missing.wav")


def test_import_polyvox_and_synthesize_from_a_host_app():
    import subprocess
    import sys

    code = "import polyvox; print(polyvox.Kernel().synthesize('hi').duration > 0.1)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    assert out.strip() == "True"
