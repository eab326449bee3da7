"""Verdicts on real takes: a take cut in half, a silent take, a clipped take and one far too long
are each flagged; a sound take is not. Words compare with case, punctuation, compounds and the
spelling of numbers ignored; dropped words weigh more than misheard ones."""

from __future__ import annotations

import numpy as np
import pytest
from listenkit import QUIET

import polyvox
from polyvox.listen.verdict import judge
from polyvox.listen.words import compare, normalize

TEXT = "The old man walked slowly down to the river bank at seven."


@pytest.fixture(scope="module")
def kernel() -> polyvox.Kernel:
    return polyvox.Kernel(cache=False)


@pytest.fixture(scope="module")
def take(kernel: polyvox.Kernel) -> polyvox.Audio:
    return kernel.synthesize(TEXT, engine="piper", **QUIET)


def verdict(kernel: polyvox.Kernel, audio: polyvox.Audio) -> polyvox.Verdict:
    return judge(TEXT, kernel.listen(audio), audio, language="en")


def test_a_sound_take_passes(kernel, take) -> None:
    found = verdict(kernel, take)
    assert found.passed and found.flags == (), found


def test_a_take_cut_in_half_is_flagged(kernel, take) -> None:
    half = polyvox.Audio(take.samples[: len(take.samples) // 2], take.sample_rate)
    found = verdict(kernel, half)
    assert "cut-off" in found.flags and "words" in found.flags, found
    assert found.deletions >= 3 and "bank" in found.missing


def test_a_silent_take_is_flagged(kernel, take) -> None:
    found = verdict(kernel, polyvox.Audio(np.zeros_like(take.samples), take.sample_rate))
    assert "silent" in found.flags and "words" in found.flags and found.wer == 1.0, found


def test_a_clipped_take_is_flagged(kernel, take) -> None:
    loud = polyvox.Audio(np.clip(take.samples * 6.0, -1.0, 1.0), take.sample_rate)
    found = verdict(kernel, loud)
    assert "clipped" in found.flags, found


def test_a_take_far_longer_than_its_text_is_flagged(kernel, take) -> None:
    rng = np.random.default_rng(0)  # a take that trails into 12 s of breath noise after the words
    tail = (0.02 * rng.standard_normal(12 * take.sample_rate)).astype(np.float32)
    found = verdict(kernel, polyvox.Audio(np.concatenate([take.samples, tail]), take.sample_rate))
    assert "too-long" in found.flags, found


def test_numbers_and_spelled_numbers_are_the_same_words() -> None:
    assert normalize("I have 3 apples, 42 pears and the 1st of 1,000!") == normalize(
        "i have three Apples -- forty-two pears and the first of one thousand")
    assert compare("We met at 7.", "we met at seven").wer == 0.0
    assert normalize("Drei Äpfel und 21 Birnen", "de")[-2:] == ["einundzwanzig", "birnen"]


@pytest.mark.parametrize(("spoken", "heard"), [
    ("It costs forty-two dollars and fifty cents today.", "It costs $42 .50 today."),
    ("the nineteen nineties", "the 1990s"), ("in twenty ten", "in 2010"),
    ("doctor Smith and mister Jones", "Dr. Smith and Mr. Jones"), ("one hundred percent", "100 %"),
    ("the twelfth of March twenty twenty-five", "the 12th of March 2025"), ("at three thirty p m", "at 3:30pm")])
def test_what_the_engine_was_given_spelled_out_matches_a_listener_writing_figures(spoken, heard) -> None:
    """polyvox speaks "$42.50" as words; a listener writes figures again: the verdict reads both
    as polyvox reads a script, so a good take is not retaken (or, --strict, refused)."""
    assert compare(spoken, heard, "en").wer == 0.0


def test_a_japanese_line_is_not_too_long_for_its_kanji() -> None:
    """A kanji or kana is a mora or two: 22 of them take about six seconds, not a second and a half."""
    from polyvox.listen import audiochecks

    line = normalize("経済産業省情報処理推進機構国際標準化推進室長。", "ja")
    rate = 24000
    t = np.arange(6 * rate) / rate
    six_seconds = polyvox.Audio((0.3 * np.sin(2 * np.pi * 220 * t) * np.minimum(1, (6 - t) * 20)).astype(np.float32),
                                rate)
    assert "too-long" not in audiochecks.flags(six_seconds, audiochecks.spoken_length(line))
    assert "too-long" in audiochecks.flags(six_seconds, audiochecks.spoken_length(["x" * 22]))  # as Latin letters


def test_compounds_written_either_way_are_the_same_words() -> None:
    assert compare("She sells sea shells by the sea shore.", "She sells seashells by the seashore").wer == 0.0
    assert compare("A seashell.", "a sea shell").wer == 0.0


def test_a_dropped_word_fails_where_a_misheard_one_passes(kernel, take) -> None:
    heard = polyvox.Heard(words=(), text=TEXT.replace("slowly ", ""))
    dropped = judge(TEXT, heard, take, language="en")
    misheard = judge(TEXT, polyvox.Heard(words=(), text=TEXT.replace("bank", "banks")), take, language="en")
    repeated = judge(TEXT, polyvox.Heard(words=(), text=TEXT.replace("slowly", "slowly slowly")), take,
                     language="en")
    assert dropped.flags == ("words",) and dropped.missing == ("slowly",)
    assert repeated.flags == ("words",) and repeated.extra == ("slowly",) and repeated.insertions == 1
    assert misheard.passed and misheard.wer == dropped.wer  # one error each; only the skip fails


def test_a_multilingual_listener_checks_the_language(take) -> None:
    german = polyvox.Heard(words=(), text=TEXT, language="de", language_probability=0.9)
    assert "language" in judge(TEXT, german, take, language="en", multilingual=True).flags
    assert "language" not in judge(TEXT, german, take, language="en", multilingual=False).flags
    unsure = polyvox.Heard(words=(), text=TEXT, language="de", language_probability=0.3)
    assert "language" not in judge(TEXT, unsure, take, language="en", multilingual=True).flags
