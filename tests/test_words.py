"""Word times (docs/words.md): the template engine's true times survive pauses, joins, subtitle
placement and time-stretch, and reach the words as written through normalization; the cache
keeps them; captions parse and cover every word; heard words align back to the script.
Piper's own are in test_words_piper.py."""

from __future__ import annotations

import numpy as np
import pytest

import polyvox
from polyvox.cache import entries
from polyvox.words import captions
from polyvox.words.align import align
from polyvox.words.timing import WordTime, script_words

SENTENCES = " ".join(f"Sentence number {n} speaks of apples, pears and plums today." for n in range(8))
CLAUSES = ", ".join(["alpha beta gamma delta epsilon"] * 12) + "."
SCRIPT = f"First one here. Second, there! [pause:0.5s] {SENTENCES}\n[pause:1s]\n{CLAUSES}"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    return polyvox.Kernel(cache_dir=tmp_path_factory.mktemp("c"), plugins=["template"])


def onset(samples: np.ndarray, rate: int, at: float, back: float = 0.02, level: float = 1e-5) -> float:
    """Where sound begins at or after `at - back` (seconds): the template engine puts exact
    silence between words, so a word's true start is where that silence ends."""
    first = max(0, round((at - back) * rate))
    loud = np.flatnonzero(np.abs(samples[first:]) > level)
    return (first + int(loud[0])) / rate if len(loud) else len(samples) / rate


def test_template_words_are_true_through_pauses_and_joins(kernel):
    result = kernel.render(SCRIPT, engine="template")
    joins = {s.segment.join for s in result.segments if s.engine}
    assert {"none", "sentence", "clause"} <= joins  # every kind of join is crossed
    words = result.words
    assert [w.word for w in words] == script_words(SCRIPT.replace("[pause:0.5s]", "").replace("[pause:1s]", ""))
    assert {w.source for w in words} == {"engine"}
    audio = result.audio
    errors = [abs(onset(audio.samples, audio.sample_rate, w.start) - w.start) for w in words]
    assert max(errors) < 0.002, max(errors)
    assert all(a.start <= b.start for a, b in zip(words, words[1:], strict=False))


def test_words_stream_as_events_and_equal_the_result(kernel):
    seen = []
    result = kernel.render(SCRIPT, engine="template", on_event=seen.append)
    timed = [e for e in seen if isinstance(e, polyvox.events.WordsTimed)]
    assert [e.index for e in timed] == [s.index for s in result.segments if s.words]
    assert tuple(w for e in timed for w in e.words) == result.words


SRT = ("1\n00:00:00,500 --> 00:00:01,500\nOne two three four five six.\n\n"
       "2\n00:00:03,000 --> 00:00:06,000\nSeven eight.\n\n"
       "3\n00:00:07,000 --> 00:00:08,000\nNine ten eleven twelve.\n\n"
       f"4\n00:00:10,000 --> 00:00:40,000\n{CLAUSES}\n")  # long: split at a clause, crossfaded


@pytest.mark.parametrize("mode", ["pad_with_silence", "stretch_to_fit", "smart_natural", "concatenate"])
def test_template_words_are_true_through_subtitle_placement_and_stretch(kernel, mode):
    result = kernel.render(SRT, engine="template", timing_mode=mode)
    words = result.words
    assert [w.word for w in words] == "One two three four five six. Seven eight. Nine ten eleven twelve.".split() + \
        CLAUSES.split()
    assert any(s.segment.join == "clause" for s in result.segments)
    cues = (words[:6], words[6:8], words[8:12], words[12:])
    for cue, t in zip(result.timing, cues, strict=True):
        assert cue.start - 0.005 - 1e-6 <= t[0].start and t[-1].end <= cue.end + 1e-6  # 5 ms kept before speech
    if mode in ("pad_with_silence", "smart_natural"):  # exact silence before every word: its true start
        audio = result.audio
        errors = [abs(onset(audio.samples, audio.sample_rate, w.start, 0.015) - w.start) for w in words]
        assert max(errors) < 0.002, max(errors)
        return
    # Rubber Band smears the silences, and concatenated cues overlap a crossfade: the truth is
    # the padded placement (checked exactly above), each word's offset in its cue scaled by the
    # cue's stretch and moved to where the cue's clip now lies
    plain = kernel.render(SRT, engine="template", timing_mode="pad_with_silence")
    if mode == "stretch_to_fit":
        assert {0.72, 5.31, 0.89} <= {round(c.stretch, 2) for c in result.timing}  # sped up and slowed down
    else:
        assert [c.action for c in result.timing] == ["concatenated"] * 4 and result.timing[1].start < 3.0
    before_cues = (plain.words[:6], plain.words[6:8], plain.words[8:12], plain.words[12:])
    for cue, fitted, before, after in zip(plain.timing, result.timing, before_cues, cues, strict=True):
        for b, a in zip(before, after, strict=True):
            expected = max(0.0, fitted.start - 0.005) + (b.start - (cue.start - 0.005)) * fitted.stretch
            assert abs(a.start - expected) < 1e-6 and abs((a.end - a.start) - (b.end - b.start) * fitted.stretch) < 1e-6


def test_the_cache_keeps_the_words_with_the_audio(tmp_path):
    k = polyvox.Kernel(cache_dir=tmp_path / "c", plugins=["template"])
    first = k.render("Hello there, cached world.", engine="template")
    again = k.render("Hello there, cached world.", engine="template")
    assert again.stats.cached == 1 and again.words == first.words and again.words[0].source == "engine"
    audio = polyvox.Audio(np.zeros(160, np.float32), 16000, words=[WordTime("a", 0.0, 0.005)])
    blob = entries.encode_audio("k", audio)
    assert entries.decode_audio("k", blob).words == audio.words
    with pytest.raises(entries.DamagedEntry, match="checksum"):
        entries.decode_audio("k", blob[:-2] + b"9}")  # the words are under the checksum too
    from polyvox.isolation import protocol

    blobs: list[bytes] = []
    assert protocol.decode_audio(protocol.encode_audio(audio, blobs), blobs).words == audio.words  # across processes
    plain = polyvox.Audio(np.zeros(160, np.float32), 16000)
    version = int.from_bytes(entries.encode_audio("k", plain)[4:6], "little")
    assert version == entries.FORMAT_VERSION != entries.WORDS_VERSION  # no words: the plain format


def test_written_words_span_the_words_normalization_made_of_them(kernel):
    """The template engine is sent "forty-two dollars and fifty cents on the third of March" and
    knows when it says each of those words: the script's "$42.50" runs from "forty-two" to
    "cents", "3" over "the third of"."""
    script = "It costs $42.50 on 3 March, and more."
    result = kernel.render(script, engine="template")
    spoken = result.segments[0].segment.spoken
    assert spoken == "It costs forty-two dollars and fifty cents on the third of March, and more."
    truth = kernel.render(spoken, engine="template", normalize=False).words  # the spoken words' true times
    assert [w.word for w in truth] == spoken.split()
    words = result.words
    assert [w.word for w in words] == script.split() and {w.source for w in words} == {"engine"}
    said = {w.word: w for w in words}
    assert (said["$42.50"].start, said["$42.50"].end) == (truth[2].start, truth[6].end)
    assert (said["3"].start, said["3"].end) == (truth[8].start, truth[10].end)
    for written, true in ((said["costs"], truth[1]), (said["on"], truth[7]), (said["March,"], truth[11]),
                          (said["more."], truth[13])):
        assert (written.start, written.end) == (true.start, true.end)


# -- heard words aligned back to the script ---------------------------------------------------------
def heard(*spans: tuple[str, float, float]) -> list[WordTime]:
    return [WordTime(w, s, e, "heard") for w, s, e in spans]


def test_alignment_gives_a_number_the_span_of_its_spoken_words():
    script = "It costs $42.50 today.".split()
    timed = heard(("it", 0.0, 0.2), ("costs", 0.25, 0.6), ("forty", 0.7, 1.0), ("two", 1.0, 1.2),
                  ("dollars", 1.25, 1.6), ("fifty", 1.65, 2.0), ("today", 2.1, 2.5))
    out = align(script, timed)
    assert [w.word for w in out] == script and {w.source for w in out} == {"heard"}
    assert (out[2].start, out[2].end) == (0.7, 2.0)
    assert (out[3].start, out[3].end) == (2.1, 2.5)


def test_alignment_survives_a_misheard_and_a_missed_word():
    script = "The quick brown fox jumps over the lazy dog".split()
    timed = heard(("the", 0.0, 0.1), ("quack", 0.1, 0.4), ("brown", 0.4, 0.7), ("fox", 0.7, 0.9),
                  ("jumps", 1.0, 1.3), ("the", 1.5, 1.6), ("lazy", 1.6, 1.9), ("dog", 1.9, 2.2))  # "over" missed
    out = align(script, timed)
    assert [w.word for w in out] == script
    assert (out[1].start, out[1].end) == (0.1, 0.4)  # "quick", misheard as "quack", keeps its place
    assert 1.3 <= out[5].start <= out[5].end <= 1.5  # "over" gets the gap where it belongs
    assert (out[8].start, out[8].end) == (1.9, 2.2)
    assert all(a.end <= b.start + 1e-9 for a, b in zip(out, out[1:], strict=False))


# -- captions --------------------------------------------------------------------------------------
@pytest.mark.parametrize("karaoke", [False, True])
def test_captions_parse_and_cover_every_word_in_order(kernel, tmp_path, karaoke):
    import srt
    import webvtt

    result = kernel.render(SCRIPT, engine="template")
    words = result.words
    options = captions.CaptionOptions(max_words=5, karaoke=karaoke)
    vtt = webvtt.read(captions.write(tmp_path / "c.vtt", words, options))
    subs = list(srt.parse(captions.write(tmp_path / "c.srt", words, options).read_text()))
    assert " ".join(c.text for c in vtt).split() == [w.word for w in words]
    assert " ".join(s.content for s in subs).split() == [w.word for w in words]
    assert all(len(c.text.split()) <= 5 and len(c.text) <= 42 for c in vtt)
    assert vtt[0].start_in_seconds == int(words[0].start)
    first = len(subs[0].content.split())
    assert [round(s.start.total_seconds(), 3) for s in subs][:2] == [round(words[0].start, 3),
                                                                      round(words[first].start, 3)]
    # no cue goes on past the end of a sentence
    assert all(not any(x.endswith((".", "?", "!")) for x in s.content.split()[:-1]) for s in subs)
    if karaoke:  # every word after a cue's first carries its own start
        stamps = sum(c.raw_text.count("><c>") for c in vtt)
        assert stamps == len(words) - len(vtt)
        assert f"<{captions._clock(words[1].start, '.')}><c>{words[1].word}</c>" in vtt[0].raw_text


def test_written_words_that_became_as_many_spoken_words_keep_one_each():
    """A respelling beside an abbreviation ("Mr. Nguyen" said "mister Win"): one span for the
    aligner, but two words each way, so each keeps its own time (not a split by letters)."""
    from polyvox.words.mapping import as_written

    said = [WordTime("mister", 0.05, 0.42), WordTime("Win", 0.48, 0.67), WordTime("likes", 0.7, 1.0)]
    timed = as_written(["Mr.", "Nguyen", "likes"], ["mister", "Win", "likes"], said)
    assert [(w.word, w.start, w.end) for w in timed] == [("Mr.", 0.05, 0.42), ("Nguyen", 0.48, 0.67),
                                                          ("likes", 0.7, 1.0)]


def test_a_word_longer_than_a_line_is_cut_into_lines_timed_by_their_share():
    """A Japanese sentence has no spaces: as one "word" it was one cue far past the line."""
    sentence = "今日は良い天気ですね" * 5  # 50 characters, one word, no sentence end inside
    cues = captions.cues([WordTime(sentence, 0.0, 5.0)])
    assert [len(cue[0].word) for cue in cues] == [25, 25] and "".join(cue[0].word for cue in cues) == sentence
    assert (cues[0][0].start, cues[0][0].end, cues[1][0].end) == (0.0, 2.5, 5.0)


def test_a_long_japanese_line_is_cut_at_its_sentences_ends():
    """Cut where a sentence ends (。), not mid-word at a fixed count ("何で" / "も薄暗い")."""
    text = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
    cues = captions.cues([WordTime(text, 0.0, 3.2)])
    assert [cue[0].word for cue in cues] == ["吾輩は猫である。", "名前はまだ無い。",
                                             "どこで生れたかとんと見当がつかぬ。"]
    assert cues[-1][0].end == 3.2 and cues[1][0].start == cues[0][0].end


def test_a_cue_ends_with_its_sentence_not_inside_a_title():
    """One cue never holds the end of one line and the start of the next (often another
    speaker's); "Mr." is no sentence's end."""
    written = "Hello Mr. Smith. “How are you?” I am fine, thanks. Yes.".split()
    words = [WordTime(w, 0.3 * i, 0.3 * i + 0.25) for i, w in enumerate(written)]
    assert [" ".join(w.word for w in cue) for cue in captions.cues(words)] == [
        "Hello Mr. Smith.", "“How are you?”", "I am fine, thanks.", "Yes."]
    # a period a small letter follows ends no sentence: "5 p.m. on" stays one cue
    written = "We meet at 5 p.m. on Friday. Bring food.".split()
    words = [WordTime(w, 0.3 * i, 0.3 * i + 0.25) for i, w in enumerate(written)]
    assert [" ".join(w.word for w in cue) for cue in captions.cues(words)] == [
        "We meet at 5 p.m. on Friday.", "Bring food."]


def test_a_captions_file_without_a_caption_extension_is_refused():
    with pytest.raises(polyvox.ParameterError, match=r"'out\.txt'.*\.vtt, \.srt or \.json"):
        captions.caption_format("out.txt")


# -- the CLI ---------------------------------------------------------------------------------------
def test_cli_writes_captions_beside_the_audio_and_words_in_json(tmp_path, monkeypatch):
    import json

    import webvtt
    from click.testing import CliRunner

    from polyvox.cli import cli

    monkeypatch.setenv("POLYVOX_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "config.toml").touch()
    monkeypatch.setenv("POLYVOX_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("POLYVOX_PLUGINS", "template")
    monkeypatch.chdir(tmp_path)
    text = "One two three four. [pause:1s] Five six seven eight nine ten eleven twelve."
    out = CliRunner().invoke(cli, ["say", text, "--engine", "template", "-o", "a.wav", "--captions", "a.vtt",
                                   "--caption-words", "3", "--caption-karaoke", "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout)
    words = summary["words"]
    assert [w["word"] for w in words] == text.replace("[pause:1s] ", "").split()
    assert [w for s in summary["segments"] for w in s["words"]] == words
    assert summary["outputs"]["captions"] == "a.vtt"
    cues = webvtt.read(tmp_path / "a.vtt")
    assert [c.text for c in cues] == ["One two", "three four.", "Five six seven", "eight nine ten", "eleven twelve."]
    assert cues[2].start_in_seconds == 2 and "<c>" in cues[2].raw_text  # after the pause; words timed
    bad = CliRunner().invoke(cli, ["say", "Hi.", "--engine", "template", "-o", "b.wav", "--captions", "b.txt"])
    assert bad.exit_code != 0 and "b.txt" in bad.output and ".vtt, .srt or .json" in bad.output
    assert "Traceback" not in bad.output and not (tmp_path / "b.wav").exists()
    # captions into a folder that is not there yet: made, as -o's is (it failed after the render)
    made = CliRunner().invoke(cli, ["say", "Hi.", "--engine", "template", "-o", "out/c.wav", "--captions",
                                    "subs/new/c.srt"])
    assert made.exit_code == 0, made.output
    assert (tmp_path / "subs" / "new" / "c.srt").read_text().strip()


def test_caption_cues_are_in_time_order_and_leave_no_word_alone():
    """A subtitle cue that overran its slot put a cue before the one above it (WebVTT requires
    start order); a title a second before its text shared a cue with it; a seven-word limit left
    "pm." alone."""
    from polyvox.words.captions import cues

    def timed(text: str, start: float) -> list[WordTime]:
        return [WordTime(w, start + 0.3 * i, start + 0.3 * i + 0.25) for i, w in enumerate(text.split())]

    said = [" ".join(w.word for w in c) for c in cues(timed("We meet at the harbour at five pm.", 0))]
    assert said == ["We meet at the harbour at", "five pm."]
    overran = timed("Good night.", 8.9) + timed("given here.", 11.3) + timed("Hello there.", 10.0)
    assert [c[0].start for c in cues(overran)] == sorted(c[0].start for c in cues(overran))
    titled = timed("Chapter One", 0.0) + timed("The ship sailed.", 0.55 + 1.0)  # the title's one-second pause
    assert [" ".join(w.word for w in c) for c in cues(titled)] == ["Chapter One", "The ship sailed."]
