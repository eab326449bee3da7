"""Kokoro's word times from its own predicted durations (docs/words.md), on the real int8
weights: the graph patched to output the durations speaks the same samples as the graph as it
ships; words said after long pauses start where the audio's energy rises, in pieces cut at the
model's limit too; without the durations, the words are estimated from the energy."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from polyvox_kokoro import catalogue, durations, engine, phonemes

import polyvox
from polyvox.testing.measures import energy_onsets

PAUSED = "Apples [pause:1s] bananas [pause:1s] cherries [pause:0.8s] dates, and figs."


@pytest.fixture(scope="module")
def voice() -> engine.LoadedVoice:
    return engine.Kokoro().load("jf_alpha", "cpu")


def assert_cover(words: tuple[polyvox.WordTime, ...], duration: float) -> None:
    """Every word has a span, in order, without overlap, inside the take."""
    assert all(w.start < w.end for w in words), words
    assert all(a.end <= b.start + 1e-9 for a, b in zip(words, words[1:], strict=False)), words
    assert words[0].start >= 0 and words[-1].end <= duration + 1e-6


def test_the_patched_graph_speaks_the_same_samples_and_gives_every_tokens_frames(voice):
    assert voice.session.timed and voice.session.path == catalogue.joined_model()
    kept = durations.patched(voice.session.path)
    assert kept is not None and kept.is_file() and kept.parent == voice.session.path.parent
    made = kept.stat().st_mtime_ns
    assert durations.patched(voice.session.path) == kept and kept.stat().st_mtime_ns == made  # kept, not made again
    plain = engine.Session(voice.session.path, "cpu", aligned=False)
    assert not plain.timed and [o.name for o in plain.session.get_outputs()] == ["audio"]
    ids = phonemes.pieces(phonemes.phonemize("Word times, from the durations.", "en-us"))[0]
    style = voice.style[len(ids) - 1]
    timed, frames = voice.session.run(ids, style, 1.0)
    same, none = plain.run(ids, style, 1.0)
    np.testing.assert_array_equal(timed, same)
    assert none is None and frames is not None and frames.dtype == np.int64
    assert len(frames) == len(ids) + 2 and frames.min() >= 1
    assert len(timed) == durations.FRAME * int(frames.sum())  # a frame is 600 samples, to the sample


def test_an_export_that_outputs_the_durations_already_runs_as_it_is(voice):
    kept = durations.patched(voice.session.path)
    assert kept is not None and durations.patched(kept) == kept  # no copy of a copy
    session = engine.Session(kept, "cpu")
    assert session.timed and session.frames == durations.duration_tensor(onnx.load(str(kept)).graph)


def test_a_graph_without_integer_durations_is_not_patched(tmp_path):
    """Round -> Clip -> Cast, but to floats: not Kokoro's durations (the engine then runs the
    graph as it is, and the kernel estimates the words)."""
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Round", ["x"], ["r"]), helper.make_node("Clip", ["r"], ["c"]),
             helper.make_node("Cast", ["c"], ["d"], to=TensorProto.FLOAT), helper.make_node("Neg", ["d"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(graph), str(tmp_path / "plain.onnx"))
    assert durations.patched(tmp_path / "plain.onnx") is None


@pytest.mark.parametrize("source", ["engine", "estimated"])
def test_words_after_long_pauses_start_where_the_energy_rises(tmp_path, monkeypatch, source):
    if source == "estimated":  # a graph without durations: the kernel estimates from the energy
        monkeypatch.setattr(engine, "aligns_words", lambda: False)
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=["kokoro"])
    result = kernel.render(PAUSED, engine="kokoro", voice="jf_alpha", language="en-us")
    words = result.words
    assert [w.word for w in words] == ["Apples", "bananas", "cherries", "dates,", "and", "figs."]
    assert {w.source for w in words} == {source}
    assert_cover(words, result.audio.duration)
    rises = energy_onsets(result.audio.samples, result.audio.sample_rate, 0.5)
    assert len(rises) == 4
    for w, rise in zip(words[:4], rises, strict=True):
        assert abs(w.start - rise) < 0.05, (w, rise)


def test_each_word_of_a_sentence_has_its_own_span_from_the_durations(voice):
    text = "It costs $42.50 today, said the old lighthouse keeper."
    audio = voice.speak(text, "en-us", 1.0)
    words = audio.words
    assert [w.word for w in words] == text.split() and {w.source for w in words} == {"engine"}
    assert_cover(words, audio.duration)
    money = words[2]  # five spoken words: the longest span of the sentence
    assert money.end - money.start == max(w.end - w.start for w in words)
    said = words[4]  # after the comma's pause: where the audio rises out of it
    rises = energy_onsets(audio.samples, audio.sample_rate, 0.1)
    assert said.word == "said" and min(abs(said.start - r) for r in rises) < 0.03, (said, rises)
    assert audio.duration - words[-1].end < 0.3


def test_pieces_cut_at_the_models_limit_are_timed_where_they_were_trimmed_to(voice, monkeypatch):
    text = "Apples are sweet and red. Bananas are long and yellow. Cherries are small and dark."
    monkeypatch.setattr(phonemes, "MAX_TOKENS", 30)  # each sentence a piece of its own
    assert len(phonemes.pieces(phonemes.phonemize(text, "en-us"), 30)) == 3
    audio = voice.speak(text, "en-us", 1.0)
    words = audio.words
    assert [w.word for w in words] == text.split() and {w.source for w in words} == {"engine"}
    assert_cover(words, audio.duration)
    rises = energy_onsets(audio.samples, audio.sample_rate, 0.05)  # the pieces' trimmed silences between them
    firsts = [words[0], *(b for a, b in zip(words, words[1:], strict=False) if a.word.endswith("."))]
    assert [w.word for w in firsts] == ["Apples", "Bananas", "Cherries"]
    for w in firsts:
        assert min(abs(w.start - r) for r in rises) < 0.05, (w, rises)


def test_japanese_words_between_spaces_are_timed_in_order(voice):
    audio = voice.speak("こんにちは。 今日はいい天気ですね。", "ja", 1.0)
    words = audio.words
    assert [w.word for w in words] == ["こんにちは。", "今日はいい天気ですね。"]
    assert {w.source for w in words} == {"engine"}
    assert_cover(words, audio.duration)
    assert words[1].end - words[1].start > words[0].end - words[0].start
    rises = energy_onsets(audio.samples, audio.sample_rate, 0.1)  # out of the pause after 。
    assert min(abs(words[1].start - r) for r in rises) < 0.04, (words, rises)
