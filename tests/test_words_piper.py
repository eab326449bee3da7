"""Piper's word times (docs/words.md): its own phoneme alignment mapped back to the script's
words (`polyvox.builtins.piper_words`), checked against where the real audio's energy rises;
without it (a voice that gives none), estimated from the energy."""

from __future__ import annotations

import pytest

import polyvox
from polyvox.builtins import piper as piper_engine
from polyvox.testing.measures import energy_onsets
from polyvox.words.energy import onsets

QUIET = {"noise_scale": 0.0, "noise_w_scale": 0.0}


@pytest.fixture
def no_alignment(monkeypatch):
    """Piper as with a voice whose graph gives no durations: the model file as it is."""
    monkeypatch.setattr(piper_engine, "aligns_words", lambda: False)


@pytest.mark.parametrize("source", ["engine", "estimated"])
def test_piper_words_after_long_pauses_start_where_the_energy_rises(tmp_path, request, source):
    if source == "estimated":
        request.getfixturevalue("no_alignment")
    k = polyvox.Kernel(cache_dir=tmp_path / "c")
    script = "Apples [pause:1s] bananas [pause:1s] cherries [pause:0.8s] dates, and figs."
    result = k.render(script, engine="piper", params=QUIET)
    words = result.words
    assert [w.word for w in words] == ["Apples", "bananas", "cherries", "dates,", "and", "figs."]
    assert {w.source for w in words} == {source}
    starts = energy_onsets(result.audio.samples, result.audio.sample_rate, 0.5)
    assert len(starts) == 4
    for w, o in zip([words[0], words[1], words[2], words[3]], starts, strict=True):
        assert abs(w.start - o) < 0.03, (w, o)
    assert words[3].start < words[4].start < words[5].start < words[5].end <= result.audio.duration + 1e-6


def test_piper_times_each_word_inside_a_sentence_from_its_own_alignment(tmp_path):
    """espeak says "in the", "on the" and "at the" as one phoneme word each; the words after the
    commas still start where the audio rises out of the comma's silence, and every word has
    its own span, in order."""
    k = polyvox.Kernel(cache_dir=tmp_path / "c")
    script = "Look in the box, on the shelf, at the door, and under the bed."
    result = k.render(script, engine="piper", params=QUIET)
    words = result.words
    assert [w.word for w in words] == script.split() and {w.source for w in words} == {"engine"}
    assert all(w.start < w.end for w in words)
    assert all(a.end <= b.start + 1e-9 for a, b in zip(words, words[1:], strict=False))
    rises = onsets(result.audio.samples, result.audio.sample_rate)
    after_commas = [b for a, b in zip(words, words[1:], strict=False) if a.word.endswith(",")]
    assert [w.word for w in after_commas] == ["on", "at", "and"]
    for w in after_commas:
        assert min(abs(w.start - r) for r in rises) < 0.03, (w, rises)
    assert words[-1].end <= result.audio.duration + 1e-6 and result.audio.duration - words[-1].end < 0.3


def test_piper_word_times_survive_the_cache(tmp_path):
    k = polyvox.Kernel(cache_dir=tmp_path / "c")
    first = k.render("Cached words, timed by Piper.", engine="piper", params=QUIET)
    again = k.render("Cached words, timed by Piper.", engine="piper", params=QUIET)
    assert again.stats.cached == 1 and again.words == first.words and first.words[0].source == "engine"


def test_each_word_is_phonemized_once_and_times_do_not_change(tmp_path, monkeypatch):
    """A word's phonemes alone are remembered (a book says "the" thousands of times): the same
    sentence again, fresh from the engine, asks the phonemizer only for the whole sentence, and
    its word times are the first take's."""
    from piper import PiperVoice

    from polyvox.builtins import piper_words

    monkeypatch.setattr(piper_words, "_WORDS", {})
    asked: list[str] = []
    real = PiperVoice.phonemize
    monkeypatch.setattr(PiperVoice, "phonemize", lambda self, text: asked.append(text) or real(self, text))
    k = polyvox.Kernel(cache_dir=tmp_path / "c")
    script = "The cat saw the dog, and the dog saw the cat."
    first = k.render(script, engine="piper", params=QUIET, use_cache=False).words
    assert sorted(asked) == sorted([script, *{w for w in script.split()}])  # each distinct word once
    asked.clear()
    again = k.render(script, engine="piper", params=QUIET, use_cache=False).words
    assert asked == [script]
    assert again == first and {w.source for w in again} == {"engine"}
