"""Reference preparation: transcripts and trimming (numpy only)."""

from __future__ import annotations

import f5tiny as tiny
import numpy as np
import pytest
from polyvox_f5tts.reference import SAMPLE_RATE, reference_text, trim

from polyvox.errors import VoiceError


def test_transcript_gets_an_end_mark_and_a_space():
    assert reference_text("  Hello   there ", "v") == "Hello there. "
    assert reference_text("Is it?", "v") == "Is it? "
    assert reference_text("你好。", "v") == "你好。"


@pytest.mark.parametrize("text", [None, "", "   \n"])
def test_missing_transcript_is_a_voice_error(text):
    with pytest.raises(VoiceError, match="voice 'zoe' has no reference_text"):
        reference_text(text, "zoe")


def test_long_reference_is_cut_at_a_pause_before_12_seconds():
    wave = tiny.speechlike(16.0, SAMPLE_RATE, 180.0, seed=3, pause_at=9.0)
    out, cut = trim(wave)
    assert cut
    seconds = len(out) / SAMPLE_RATE
    assert 8.9 <= seconds <= 9.5, seconds  # ends in the pause at 9.0-9.4 s, not at the 12 s limit


def test_long_reference_without_a_pause_is_cut_at_12_seconds():
    wave = tiny.speechlike(15.0, SAMPLE_RATE, 180.0, seed=4)
    wave += 0.02  # no quiet frame anywhere
    out, cut = trim(wave)
    assert cut and 11.5 <= len(out) / SAMPLE_RATE <= 12.1


def test_short_reference_keeps_its_speech_and_loses_silent_edges():
    speech = tiny.speechlike(2.0, SAMPLE_RATE, 150.0, seed=5)
    padded = np.concatenate([np.zeros(SAMPLE_RATE), speech, np.zeros(SAMPLE_RATE)]).astype(np.float32)
    out, cut = trim(padded)
    assert not cut and 1.8 <= len(out) / SAMPLE_RATE <= 2.2
