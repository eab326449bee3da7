"""Long text under an engine's max characters: sentences, then clauses, then words."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from conftest import QUIET
from hypothesis import given, settings
from hypothesis import strategies as st

import polyvox
from polyvox import Segment
from polyvox.render.assembly import JoinConfig
from polyvox.text.chunking import chunk_segments, sentences, split_text

STORY = ("Mr. Smith went to Washington on Jan. 5th, 2020. He met Dr. Jones at 3 p.m. and they talked "
         "for hours, about the weather, the elections, and the price of tea in China. Nobody knew why. "
         "Then, without warning, the lights went out; everyone screamed — and then laughed.")


def test_text_that_fits_is_one_chunk() -> None:
    assert split_text("Short. Text.", 100) == [("Short. Text.", "none")]


def test_sentences_use_pysbd_rules_for_abbreviations() -> None:
    found = sentences(STORY)
    assert found[0] == "Mr. Smith went to Washington on Jan. 5th, 2020."
    assert found[1] == "He met Dr. Jones at 3 p.m. and they talked for hours, about the weather, the elections, " \
                       "and the price of tea in China."
    assert len(found) == 4


def test_a_number_before_a_full_stop_ends_its_sentence() -> None:
    # pysbd alone reads these as numbered lists: ["He scored ", "1. She scored ", "2. They left."]
    assert sentences("He scored 1. She scored 2. They left.") == ["He scored 1.", "She scored 2.", "They left."]
    assert sentences("By the road, overhead 0. By the lake, overhead 1. By the sea, overhead 2.") == [
        "By the road, overhead 0.", "By the lake, overhead 1.", "By the sea, overhead 2."]
    # a real list (after a colon, a line break, a sentence, or another item) keeps its items
    assert sentences("Steps: 1. Open the box 2. Take the lid 3. Done") == [
        "Steps:", "1. Open the box", "2. Take the lid", "3. Done"]
    assert sentences("Buy these.\n1. milk\n2. eggs") == ["Buy these.", "1. milk", "2. eggs"]


def test_leading_whitespace_does_not_stop_the_split() -> None:
    # pysbd drops it, and a text pysbd changed used to be taken whole, as one sentence
    assert sentences("\n  Hello there. How are you?") == ["Hello there.", "How are you?"]
    assert sentences("  1. Buy milk 2. Eggs") == ["1. Buy milk", "2. Eggs"]


def test_multilingual_sentences() -> None:
    assert sentences("今日は晴れです。明日は雨です。", "ja") == ["今日は晴れです。", "明日は雨です。"]
    assert sentences("Das ist z.B. ein Satz. Noch einer!", "de") == ["Das ist z.B. ein Satz.", "Noch einer!"]
    # A language pysbd lacks uses its English rules instead of failing.
    assert sentences("Hola. Adios.", "xx") == ["Hola.", "Adios."]


def test_split_prefers_sentences_then_clauses_then_words() -> None:
    chunks = split_text(STORY, 80)
    assert all(len(c) <= 80 for c, _ in chunks)
    assert " ".join(c for c, _ in chunks) == " ".join(STORY.split())
    joins = [j for _, j in chunks]
    assert joins[0] == "none"
    assert "sentence" in joins and "clause" in joins
    assert chunks[0] == ("Mr. Smith went to Washington on Jan. 5th, 2020.", "none")
    # A clause split ends at a comma, semicolon or dash.
    for (before, _), (_, join) in zip(chunks, chunks[1:], strict=False):
        if join == "clause":
            assert before[-1] in ",;:—–"


def test_word_splits_cut_only_a_word_over_the_limit() -> None:
    text = "word " * 50 + "supercalifragilisticexpialidocious end"
    chunks = split_text(text, 12)
    assert all(len(c) <= 12 for c, _ in chunks)
    # the words that fit stay whole; the one that does not is cut at the limit, in order
    assert [c for c, _ in chunks if " " not in c and "word" not in c and c != "end"] == [
        "supercalifra", "gilisticexpi", "alidocious"]
    assert {j for _, j in chunks[1:]} <= {"word", "sentence", "clause"}


def test_a_huge_word_or_unpunctuated_text_is_cut_under_the_limit_in_one_pass() -> None:
    word = "abcdefghij" * 400  # 4,000 characters, no space
    assert [c for c, _ in split_text(word, 500)] == [word[n:n + 500] for n in range(0, 4000, 500)]
    text = " ".join(f"word{n}" for n in range(3000))  # 25,889 characters, no punctuation
    chunks = split_text(text, 300)
    assert all(len(c) <= 300 for c, _ in chunks) and len(chunks) < 25_889 / 250
    assert " ".join(c for c, _ in chunks) == text


def test_a_cut_never_separates_a_letter_from_its_marks() -> None:
    decomposed = "e\u0301" * 10  # é as e + combining acute, 20 code points
    chunks = [c for c, _ in split_text(decomposed, 5)]
    assert "".join(chunks) == decomposed and all(len(c) <= 5 for c in chunks)
    assert not any(unicodedata.category(c[0]) == "Mn" for c in chunks)
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one emoji of 5 code points
    assert [c for c, _ in split_text("x" * 3 + family, 4)][0] == "xxx"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abcdefghij.,;! ", min_size=1, max_size=12), min_size=1, max_size=60),
       st.integers(min_value=5, max_value=120))
def test_chunks_keep_every_word_in_order_under_the_limit(parts: list[str], limit: int) -> None:
    text = " ".join(parts)
    chunks = split_text(text, limit)
    assert "".join(c.replace(" ", "") for c, _ in chunks) == "".join(text.split())
    words = [w for c, _ in chunks for w in c.split()]
    for chunk, join in chunks:
        assert len(chunk) <= limit
        assert join in ("none", "sentence", "clause", "word")
    for word in text.split():  # a word that fits is never cut
        assert len(word) > limit or word in words


def test_chunk_segments_keeps_segment_fields_and_marks_joins() -> None:
    seg = Segment(text=STORY, character="Alice", language="en", params={"seed": 3}, line=7)
    out = chunk_segments([seg, Segment(pause=1.0), Segment(text="Short.")], lambda s: 100)
    assert [s.character for s in out[:-2]] == ["Alice"] * (len(out) - 2)
    assert all(s.line == 7 and dict(s.params) == {"seed": 3} for s in out[:-2])
    assert out[0].join == "none" and all(s.join != "none" for s in out[1:-2])
    assert out[-2].is_pause and out[-1].text == "Short." and out[-1].join == "none"


def test_kernel_splits_under_the_engine_limit_and_joins_with_silence(tone_kernel: polyvox.Kernel) -> None:
    # The tone engine declares max_chars=200 and makes a continuous tone per chunk, so the
    # silence the join inserts after a sentence is measurable.
    text = " ".join(["This sentence is here to make the text long enough to split."] * 8)
    result = tone_kernel.render(text, engine="tone", join=JoinConfig(method="auto", sentence_gap_ms=200))
    speech = [s for s in result.segments if s.engine]
    assert len(speech) >= 3
    assert all(len(s.segment.text) <= 200 for s in speech)
    assert [s.segment.join for s in speech][1:] == ["sentence"] * (len(speech) - 1)
    samples = result.audio.samples
    rate = result.audio.sample_rate
    for s in speech[1:]:
        gap = samples[round((s.start - 0.19) * rate): round((s.start - 0.01) * rate)]
        assert np.max(np.abs(gap)) == 0.0, "200 ms of silence before each sentence chunk"


def test_crossfade_after_clause_split(tone_kernel: polyvox.Kernel) -> None:
    text = "one two three four five six seven eight, " * 10 + "end."
    plain = tone_kernel.render(text, engine="tone", join=JoinConfig(method="none"))
    faded = tone_kernel.render(text, engine="tone", join=JoinConfig(method="auto", crossfade_ms=20))
    joins = [s.segment.join for s in faded.segments if s.engine]
    assert "clause" in joins and "sentence" not in joins
    overlaps = sum(1 for j in joins if j in ("clause", "word"))
    expected = plain.audio.duration - overlaps * 0.020
    assert faded.audio.duration == pytest.approx(expected, abs=0.002)
    assert faded.stats.synthesized == 0, "join method is assembly only: nothing is synthesized again"


def test_long_text_with_piper(tmp_path) -> None:
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    limit = kernel.engine("piper").max_chars
    text = (STORY + " ") * (limit // len(STORY) + 2)
    result = kernel.render(text, params=QUIET)
    speech = [s for s in result.segments if s.engine]
    assert len(speech) >= 2 and all(len(s.segment.text) <= limit for s in speech)
    audio = result.audio
    assert audio.sample_rate == 22050
    assert audio.duration > len(text) / 25, "roughly 15 characters a second or slower"
    assert audio.rms > 0.02
    starts = [s.start for s in speech]
    assert starts == sorted(starts)
