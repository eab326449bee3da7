"""SRT files as people have them (joined with cat, saved by old tools, written for the hearing
impaired), spoken by Piper: what is heard must be the words, the same as a clean file's."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import QUIET
from test_subtitles import frames_db, onset, quiet

import polyvox
from polyvox.subtitles.srt import looks_like_srt, read_srt

ARROW = "-->"


def srt(cues: list[tuple[float, float, str]], number: bool = True) -> str:
    def stamp(s: float) -> str:
        ms = round(s * 1000)
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    return "".join((f"{n}\n" if number else "") + f"{stamp(a)} {ARROW} {stamp(b)}\n{t}\n\n"
                   for n, (a, b, t) in enumerate(cues, 1))


@pytest.fixture(scope="module")
def piper(tmp_path_factory: pytest.TempPathFactory) -> polyvox.Kernel:
    return polyvox.Kernel(cache_dir=tmp_path_factory.mktemp("wild-cache"))


#: Each cue as the wild file has it, and the words a listener should hear.
WILD = [
    ("\u266a Singing in the rain \u266a", "Singing in the rain"),
    ("# Just singing in the rain #", "Just singing in the rain"),
    ("(laughs) Okay, fine.", "Okay, fine."),
    ("<i>[THUNDER\nRUMBLING]</i>\n- Run!", "Run!"),
    ("Where are you (SIGHS) going?", "Where are you going?"),
]


def test_music_marks_and_annotations_are_not_spoken(piper: polyvox.Kernel) -> None:
    """The wild cues are heard exactly as their plain words: rendering the plain file after
    the wild one synthesizes nothing (every clip is already cached under the same text)."""
    times = [(i * 5.0 + 0.5, i * 5.0 + 4.5) for i in range(len(WILD))]
    wild = piper.render(srt([(a, b, t) for (a, b), (t, _) in zip(times, WILD, strict=True)]),
                        timing_mode="pad_with_silence", params=QUIET)
    plain = piper.render(srt([(a, b, t) for (a, b), (_, t) in zip(times, WILD, strict=True)]),
                         timing_mode="pad_with_silence", params=QUIET)
    assert plain.stats.synthesized == 0, "the wild cues said more (or less) than their words"
    assert [t.natural for t in wild.timing] == pytest.approx([t.natural for t in plain.timing], abs=1e-6)
    for entry in wild.timing:  # and sound the same, at the same times
        assert onset(wild.audio, entry.start) == onset(plain.audio, entry.start)
    # Only the speech changes: the report and the adjusted SRT show the cues as written.
    assert wild.timing[0].text == "\u266a Singing in the rain \u266a" and "(laughs)" in wild.srt


@pytest.mark.parametrize("text", ["!", "?", "...", "\u266a\u266a", "- ?!", "(MUSIC PLAYING)", "[DOOR SLAMS]"])
def test_cues_with_nothing_to_say_are_silent(piper: polyvox.Kernel, text: str) -> None:
    """Piper reads a lone "!" as "exclamation" and a "♪" as "symbol two six six A": such cues
    are empty, and their time is silence."""
    result = piper.render(srt([(0.5, 2.0, "Hello there."), (3.0, 5.0, text)]),
                          timing_mode="pad_with_silence", params=QUIET)
    assert [t.action for t in result.timing] == ["padded", "empty"]
    assert quiet(result.audio, 2.5, result.audio.duration)


def test_files_joined_with_cat_keep_every_cue(piper: polyvox.Kernel, tmp_path: Path) -> None:
    """A second file's BOM in mid-text hid its first cue number from `srt`, which then read that
    cue's timing line aloud as part of the cue before."""
    first = srt([(0.5, 2.0, "Hello there.")]).encode("utf-8-sig")
    second = srt([(4.0, 6.0, "Goodbye now.")]).encode("utf-8-sig")
    path = tmp_path / "joined.srt"
    path.write_bytes(first + second)
    result = piper.render(path, timing_mode="pad_with_silence", params=QUIET)
    assert [(t.target_start, t.text) for t in result.timing] == [(0.5, "Hello there."), (4.0, "Goodbye now.")]
    assert result.timing[0].natural < 1.5, "the first cue also said the second's timing line"
    assert abs(onset(result.audio, 4.0, after=result.timing[0].end + 0.01) - 4.0) <= 0.03


def test_html_line_breaks_do_not_glue_words(piper: polyvox.Kernel) -> None:
    result = piper.render(srt([(0.5, 4.0, "Hello there,<br>how are you?<BR/>Fine.")]), params=QUIET)
    assert result.timing[0].text == "Hello there,\nhow are you?\nFine."
    again = piper.render(srt([(0.5, 4.0, "Hello there,\nhow are you?\nFine.")]), params=QUIET)
    assert again.stats.synthesized == 0


def test_utf16_without_bom_and_tabbed_timing_lines() -> None:
    text = (f"1\r\n00:00:01,000\t{ARROW}\t00:00:02,500\r\nCafé au lait\r\n\r\n"
            f"2\r\n00:00:03,000 {ARROW} 00:00:04,000\r\nOui\r\n")
    words = "我们走吧，快点！今天天气很好，我们去公园散步吧。" * 2  # more Chinese than ASCII: few NUL bytes
    chinese = f"1\r\n00:00:01,000 {ARROW} 00:00:02,500\r\n{words}\r\n"
    for encoding in ("utf-16-le", "utf-16-be"):
        cues = read_srt(text.encode(encoding))
        assert [(c.start, c.end, c.text) for c in cues] == [(1.0, 2.5, "Café au lait"), (3.0, 4.0, "Oui")]
        assert read_srt(chinese.encode(encoding))[0].text == words


def test_only_styling_tags_are_taken_for_tags() -> None:
    assert read_srt(f"1\n00:00:01,000 {ARROW} 00:00:02,000\nif a<b and c>d, <i>I</i> <3 you\n")[0].text == \
        "if a<b and c>d, I <3 you"
    assert read_srt(f"1\n00:00:01,000 {ARROW} 00:00:02,000\n<c.yellow><v Bob>Hi</v></c> <FONT color=red>x</FONT>\n"
                    )[0].text == "Hi x"


def test_a_speaker_dash_line_is_heard_as_its_words(piper: polyvox.Kernel) -> None:
    """Two speakers in one cue, each line after a dash: both lines spoken, no dash read out."""
    dashed = piper.render(srt([(0.5, 4.0, "- Hello there.\n- Goodbye now.")]), params=QUIET)
    plain = piper.render(srt([(0.5, 4.0, "Hello there.\nGoodbye now.")]), params=QUIET)
    assert dashed.timing[0].natural == pytest.approx(plain.timing[0].natural, abs=0.02)
    assert frames_db(dashed.audio).max() > -20


def test_speaker_labels_in_capitals_are_not_read_out(piper: polyvox.Kernel) -> None:
    """SDH subtitles name the speaker (``JOHN: Hi.``); a dub says the words, not the label.
    A colon in ordinary text, and ``Speaker 1:`` (markup), are left alone."""
    labelled = piper.render(srt([(0.5, 4.0, "JOHN: Hello there.\n- MARY JANE: Goodbye now.")]), params=QUIET)
    plain = piper.render(srt([(0.5, 4.0, "Hello there.\nGoodbye now.")]), params=QUIET)
    assert [s.segment.text for s in labelled.segments if s.engine] == \
        [s.segment.text for s in plain.segments if s.engine]
    assert plain.stats.synthesized == 0  # the same sentences: from the cache
    kept = piper.render(srt([(0.5, 4.0, "Note: we meet at 10:30.")]), params=QUIET)
    assert [s.segment.text for s in kept.segments if s.engine] == ["Note: we meet at 10:30."]


def test_a_label_with_a_note_is_not_read_and_shouted_speech_is(piper: polyvox.Kernel) -> None:
    """``JOHN (V.O.):`` is a label once its note is blanked (it was read as "JOHN :"); on a line
    all in capitals, a phrase before a colon is a label only as a name of one or two words."""
    cues = [(0.5, 2.0, "JOHN (V.O.): Where are you?"), (2.5, 4.0, "- MAN (ON RADIO): Copy that."),
            (4.5, 6.0, "HERE'S THE THING: WE'RE LATE."), (6.5, 8.0, "LISTEN TO ME: RUN!"),
            (8.5, 10.0, "MARY JANE: HI.")]
    said = [j.request.text for j in piper.plan(srt(cues)) if j.request is not None]
    assert said == ["Where are you?", "Copy that.", "HERE'S THE THING: WE'RE LATE.", "LISTEN TO ME: RUN!", "HI."]


@pytest.mark.parametrize(("stamps", "times"), [
    ("00:00:01,5 --> 00:00:02,25", (1.5, 2.25)),         # a fraction, not 5 and 25 ms
    ("00:00:01.50 --> 00:00:02.75", (1.5, 2.75)),        # centiseconds, as converted from ASS
    ("0:00:01,1234 --> 0:00:02,000", (1.123, 2.0)),      # not 1.234 s, which ended it before it began
    ("00:00:01,000 --> 00:00:02,000 X1:10 Y1:20", (1.0, 2.0)),
    ("00:00:01,000-->00:00:02,000", (1.0, 2.0)),
    ("00:00:01,000\t-->\t00:00:02,000", (1.0, 2.0)),
    ("00：00：01，000 --> 00：00：02，000", (1.0, 2.0)),      # full-width, as some Chinese files have
    ("-00:00:00,500 --> 00:00:02,000", (0.0, 2.0)),      # a time before zero
])
def test_fractions_of_a_second_are_decimal(stamps: str, times: tuple[float, float]) -> None:
    cue, = read_srt(f"1\n{stamps}\nAt 10:30:15,5 we meet.\n")
    assert looks_like_srt(f"1\n{stamps}\nAt 10:30:15,5 we meet.\n")  # piped in, it is known as subtitles
    assert (cue.start, cue.end, cue.note) == (*times, "")
    assert cue.text == "At 10:30:15,5 we meet.", "only timing lines are touched"


def test_a_time_before_zero_is_zero_and_keeps_its_cue() -> None:
    """A file shifted too early: `srt` alone dropped the sign with the cue number (a warning
    that a block was skipped) and started the cue at +0.5 s."""
    lost: list[str] = []
    cues = read_srt(f"1\n-00:00:00,500 {ARROW} 00:00:01,500\nHi there.\n\n"
                    f"2\n00:00:02,000 {ARROW} 00:00:03,000\nBye.\n", lost)
    assert [(c.start, c.end, c.text) for c in cues] == [(0.0, 1.5, "Hi there."), (2.0, 3.0, "Bye.")]
    assert lost == []


def test_a_file_in_two_encodings_is_heard_as_written(piper: polyvox.Kernel, tmp_path: Path) -> None:
    """Edited in two editors: a UTF-8 note and a Windows-1252 é. Decoding it all as
    Windows-1252 made the note "â™ª", which Piper read out."""
    path = tmp_path / "mixed.srt"
    path.write_bytes(f"1\r\n00:00:00,500 {ARROW} 00:00:03,000\r\n".encode()
                     + "\u266a Café au lait \u266a\r\n".encode("utf-8").replace("é".encode(), b"\xe9"))
    mixed = piper.render(path, params=QUIET)
    assert mixed.timing[0].text == "\u266a Café au lait \u266a"
    assert piper.render(srt([(0.5, 3.0, "Café au lait")]), params=QUIET).stats.synthesized == 0


def test_a_file_with_nothing_to_say_says_why(piper: polyvox.Kernel) -> None:
    subs = srt([(1.0, 2.0, "\u266a\u266a"), (3.0, 4.0, "[MUSIC PLAYING]"), (5.0, 6.0, "(applause)")])
    with pytest.raises(polyvox.EmptyTextError, match=r"^nothing to speak: none of the 3 subtitle cues has words "
                                                     r"\(music notes, annotations"):
        piper.render(subs)


@pytest.mark.parametrize("mode", ["pad_with_silence", "stretch_to_fit", "smart_natural", "concatenate"])
def test_the_adjusted_srt_still_shows_what_is_not_spoken(piper: polyvox.Kernel, mode: str) -> None:
    """Annotation and music cues are silent, but a viewer of the adjusted SRT still needs to
    read them: they keep their times (no time of their own when concatenating)."""
    cues = [(0.5, 2.0, "Hello there."), (2.5, 4.0, "[DOOR SLAMS]"), (4.5, 6.0, "\u266a\u266a"),
            (6.5, 8.0, "Goodbye now.")]
    result = piper.render(srt(cues), timing_mode=mode, params=QUIET)
    assert [t.action for t in result.timing][1:3] == ["empty", "empty"]
    adjusted = {c.text: (c.start, c.end) for c in read_srt(result.srt)}
    assert sorted(adjusted) == sorted(t for *_, t in cues), "every cue is in the adjusted SRT"
    shown = [adjusted["[DOOR SLAMS]"], adjusted["\u266a\u266a"]]
    if mode == "concatenate":  # where it falls: after the clip before it
        assert shown == [(pytest.approx(result.timing[0].end, abs=0.001),) * 2] * 2
    else:
        assert shown == [(2.5, 4.0), (4.5, 6.0)]
        assert quiet(result.audio, 2.3, 6.3)


def test_a_truncated_cues_segment_ends_where_its_audio_does(tmp_path: Path) -> None:
    """result.segments gives each piece's place in the output: a clip cut at its cue's end
    lasts until there, not over the next cue (it reported its whole natural length)."""
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=["template"])
    text = srt([(0.0, 0.5, "This first cue is much too long for its half second slot."),
                (0.5, 1.0, "And this one is too long as well."), (1.0, 1.5, "Last.")])
    result = kernel.render(text, engine="template")
    spoken = [s for s in result.segments if s.engine]
    assert result.timing[0].action == "truncated"
    for this, following in zip(spoken, spoken[1:], strict=False):
        assert this.start + this.duration <= following.start + 1e-6
    assert spoken[-1].start + spoken[-1].duration <= result.audio.duration + 1e-6


def test_youtube_automatic_captions_are_read_once_without_their_word_times() -> None:
    """YouTube's automatic WebVTT: each word carries its time (<00:00:00.480>, read aloud as
    "zero o'clock"), and every cue repeats the line before it (read twice)."""
    from polyvox.subtitles.vtt import read_vtt

    doc = ("WEBVTT\nKind: captions\nLanguage: en\n\n"
           "00:00:00.030 --> 00:00:02.270 align:start position:0%\n \n"
           "hello<00:00:00.480><c> everyone</c><00:00:00.960><c> and</c>\n\n"
           "00:00:02.270 --> 00:00:02.280 align:start position:0%\nhello everyone and\n \n\n"
           "00:00:02.280 --> 00:00:04.550 align:start position:0%\nhello everyone and\n"
           "welcome<00:00:02.800><c> to</c><00:00:03.120><c> the show</c>\n")
    assert [(c.start, c.text) for c in read_vtt(doc)] == [(0.03, "hello everyone and"), (2.28, "welcome to the show")]
    # a plain file's repeated line is a line said twice, and stays
    plain = "WEBVTT\n\n00:00.000 --> 00:01.000\nNo.\n\n00:01.000 --> 00:02.000\nNo.\n"
    assert [c.text for c in read_vtt(plain)] == ["No.", "No."]


def test_a_rubys_reading_is_not_read_after_its_word() -> None:
    """東京<rt>とうきょう</rt> is 東京 once: the reading is for the eye (it was read after the word)."""
    cues = read_srt("1\n00:00:01,000 --> 00:00:02,000\n"
                    "<ruby>東京<rp>(</rp><rt>とうきょう</rt><rp>)</rp></ruby>へ行く\n")
    assert [c.text for c in cues] == ["東京へ行く"]


def test_a_webvtt_file_saved_as_srt_is_read_as_webvtt(tmp_path: Path) -> None:
    """A .vtt renamed .srt: its NOTE block, cue names and "00:00.000 --> …" lines were spoken."""
    vtt = tmp_path / "talk.srt"
    vtt.write_text("WEBVTT\nKind: captions\n\nSTYLE\n::cue { color: papayawhip; }\n\nintro\n"
                   "00:01.000 --> 00:02.000 align:start\nHello there.\n\nNOTE one-line note\n\n"
                   "chunk-three\n00:03.000 --> 00:04.000\nGoodbye.\n")
    jobs = polyvox.Kernel(cache=False).plan(vtt, engine="template")
    assert [j.request.text for j in jobs if j.request] == ["Hello there.", "Goodbye."]
