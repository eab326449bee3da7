"""Reference preparation without a model: transcripts, upstream's clipping rules, decoding."""

from __future__ import annotations

from pathlib import Path

import f5tiny as tiny
import numpy as np
import pytest
import soundfile as sf
from polyvox_f5tts import clipping
from polyvox_f5tts.reference import prompt_text, reference_text

from polyvox.errors import VoiceError

RATE = 24000


@pytest.mark.parametrize(("given", "prepared", "prompt"), [
    ("  Hello   there ", "Hello there. ", "Hello there.  "),
    ("This is how I sound today.", "This is how I sound today. ", "This is how I sound today.  "),
    ("Hi!", "Hi!. ", "Hi!.  "),
    ("Is it?", "Is it?. ", "Is it?.  "),
    ("你好。", "你好。", "你好。"),
    ("你好！", "你好！. ", "你好！.  "),
])
def test_transcript_ends_as_upstream_leaves_it(given, prepared, prompt):
    assert reference_text(given, "v") == prepared
    assert prompt_text(prepared) == prompt


@pytest.mark.parametrize("text", [None, "", "   \n"])
def test_missing_transcript_is_a_voice_error(text):
    with pytest.raises(VoiceError, match="voice 'zoe' has no reference_text"):
        reference_text(text, "zoe")


def _segment(tmp_path: Path, *parts: tuple[str, float], subtype: str = "PCM_16"):
    waves = [tiny.speechlike(s, RATE, 150.0, seed=n) if kind == "speech" else np.zeros(int(s * RATE), np.float32)
             for n, (kind, s) in enumerate(parts)]
    path = tmp_path / "ref.wav"
    sf.write(path, np.concatenate(waves), RATE, subtype=subtype)
    return clipping.read_pcm(path)


def test_long_reference_is_cut_at_a_long_pause(tmp_path):
    out, dropped = clipping.clip(_segment(tmp_path, ("speech", 9.0), ("pause", 1.2), ("speech", 6.0)))
    assert dropped
    assert 9.0 <= len(out) / 1000 <= 9.1  # the speech before the pause, its edge stripped, + 50 ms


def test_long_reference_without_a_pause_is_cut_at_12_seconds(tmp_path):
    segment = _segment(tmp_path, ("speech", 15.0))
    loud = segment + 20  # +20 dB: no 100 ms stretch below -40 dBFS anywhere
    out, dropped = clipping.clip(loud)
    assert dropped and 11.9 <= len(out) / 1000 <= 12.05


def test_pause_over_two_seconds_is_shortened_to_two_in_a_short_reference(tmp_path):
    out, dropped = clipping.clip(_segment(tmp_path, ("pause", 0.5), ("speech", 1.5), ("pause", 3.0),
                                          ("speech", 1.5), ("pause", 0.5)))
    assert not dropped
    assert 4.9 <= len(out) / 1000 <= 5.1  # 1.5 + 2.0 + 1.5 s, the silent edges gone, + 50 ms
    samples = clipping.samples(out)[0]
    assert np.all(samples[-int(0.045 * RATE):] == 0)  # upstream's 50 ms of silence at the end


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])
def test_wav_is_decoded_as_pydub_decodes_it(tmp_path, subtype):
    """Upstream reads a WAV with pydub; the plugin decodes with soundfile into the same samples."""
    from pydub import AudioSegment

    ours = _segment(tmp_path, ("speech", 0.5), subtype=subtype)
    theirs = AudioSegment.from_file(tmp_path / "ref.wav")
    assert (ours.sample_width, ours.frame_rate, ours.channels) == (theirs.sample_width, theirs.frame_rate,
                                                                    theirs.channels)
    assert ours.raw_data == theirs.raw_data


def test_silent_reference_is_a_voice_error(tmp_path):
    from polyvox_f5tts import reference

    import polyvox

    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(RATE * 2, np.float32), RATE, subtype="PCM_16")
    segment, _ = reference.clipped(polyvox.Voice(name="hush", audio=path, reference_text="Nothing."))
    with pytest.raises(VoiceError, match="voice 'hush': reference audio is silent"):
        reference.conditioning_wave(segment, 0.1, "hush")


def test_stereo_24_bit_reference_is_clipped_as_upstream_clips_it(tmp_path, monkeypatch):
    """Channels and 24-bit samples go through upstream's rules as upstream reads them: the clipped
    samples equal those of the temporary WAV upstream writes."""
    import contextlib
    import io
    import tempfile

    from f5_tts.infer.utils_infer import preprocess_ref_audio_text

    left = np.concatenate([tiny.speechlike(7.0, 44100, 150.0, seed=1), np.zeros(44100 * 3 // 2, np.float32),
                           tiny.speechlike(7.0, 44100, 150.0, seed=2)])
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, 0.5 * left[::-1]], axis=1), 44100, subtype="PCM_24")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with contextlib.redirect_stdout(io.StringIO()):
        written, _ = preprocess_ref_audio_text(str(path), "Two channels.", show_info=lambda *a: None)
    theirs, rate = sf.read(written, dtype="float32", always_2d=True)
    out, _ = clipping.clip(clipping.read_pcm(path))
    assert out.frame_rate == rate and out.channels == 2
    assert np.array_equal(clipping.samples(out), theirs.T)
