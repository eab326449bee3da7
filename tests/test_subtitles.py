"""SRT subtitles: real-world files read, the four timing modes checked on real Piper audio
(speech onsets against cue starts, durations), the report and adjusted SRT against the audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import QUIET
from hypothesis import given, settings
from hypothesis import strategies as st

import polyvox
from polyvox import Audio, ParameterError, PolyvoxError, ScriptError
from polyvox.subtitles.srt import Cue, clean_text, looks_like_srt, read_srt, write_srt
from polyvox.subtitles.timeline import place
from polyvox.subtitles.timing import TimingConfig, time_stretch, trim
from polyvox.testing.measures import median_pitch

RATE = 22050
#: Speech must start within this of where the report (and the cue) says.
ONSET_TOLERANCE = 0.03

TEXTS = ["Hello there, how are you today?", "I am fine, thank you very much.",
         "The weather has been lovely all week.", "Goodbye, and see you tomorrow."]


# -- helpers --------------------------------------------------------------------------------
def srt_text(cues: list[tuple[float, float, str]], crlf: bool = False) -> str:
    text = write_srt([Cue(n, a, b, t) for n, (a, b, t) in enumerate(cues, 1)])
    return text.replace("\n", "\r\n") if crlf else text


def frames_db(audio: Audio, frame: float = 0.005) -> np.ndarray:
    n = round(frame * audio.sample_rate)
    usable = len(audio.samples) // n * n
    rms = np.sqrt(np.mean(audio.samples[:usable].reshape(-1, n) ** 2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-9))


def onset(audio: Audio, near: float, window: float = 0.4, threshold_db: float = -45.0,
          after: float = 0.0) -> float:
    """First 5 ms frame louder than `threshold_db` dBFS in [near - window, near + window],
    not before `after` (the end of the previous clip)."""
    db = frames_db(audio)
    first, last = max(0, round(max(near - window, after) / 0.005)), round((near + window) / 0.005)
    loud = np.flatnonzero(db[first:last] > threshold_db)
    assert len(loud), f"no speech near {near:.3f} s"
    return (first + loud[0]) * 0.005


def quiet(audio: Audio, start: float, end: float, threshold_db: float = -38.0) -> bool:
    db = frames_db(audio)
    a, b = round(start / 0.005), round(end / 0.005)
    return b <= a or bool(np.all(db[a:b] <= threshold_db))


def check_report_against_audio(result: polyvox.RenderResult) -> None:
    """Speech starts where the report says, nothing sounds between one clip's end and the
    next start, and the adjusted SRT holds the same times."""
    audio = result.audio
    report = result.timing
    for n, entry in enumerate(report):
        if entry.action == "empty":
            continue
        after = report[n - 1].end + 0.01 if n else 0.0
        assert abs(onset(audio, entry.start, after=after) - entry.start) <= ONSET_TOLERANCE, entry
        following = report[n + 1].start if n + 1 < len(report) else audio.duration
        assert quiet(audio, entry.end + 0.01, following - 0.01), f"sound after cue {entry.index} ended"
    adjusted = read_srt(result.srt)
    assert [(c.start, c.end) for c in adjusted] == [
        (pytest.approx(t.start, abs=0.001), pytest.approx(t.end, abs=0.001)) for t in report]


@pytest.fixture(scope="module")
def shared_kernel(tmp_path_factory: pytest.TempPathFactory) -> polyvox.Kernel:
    """One kernel (and cache) for the Piper tests in this module: modes re-use the clips."""
    return polyvox.Kernel(cache_dir=tmp_path_factory.mktemp("subtitle-cache"))


@pytest.fixture(scope="module")
def natural(shared_kernel: polyvox.Kernel) -> list[float]:
    """Trimmed Piper durations of TEXTS, measured with widely spaced cues."""
    cues = [(i * 10.0, i * 10.0 + 8.0, t) for i, t in enumerate(TEXTS)]
    result = shared_kernel.render(srt_text(cues), timing_mode="pad_with_silence", params=QUIET)
    return [t.natural for t in result.timing]


# -- reading --------------------------------------------------------------------------------
REAL_WORLD = (
    "\ufeff1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>Hello</i> <font color=\"#ff0\">there</font>!\r\n\r\n"
    "00:00:03,000 --> 00:00:04,000\r\n{\\an8}Second line\\Ntwo parts &amp; more\r\n\r\n"
    "7\r\n00:00:05,000 --> 00:00:05,000\r\nZero length.\r\n\r\n"
    "4\r\n00:00:04,500 --> 00:00:06,000\r\n[Alice] Overlaps the last one.\r\n"
)


def test_real_world_srt_is_read() -> None:
    cues = read_srt(REAL_WORLD)
    assert [(c.index, c.start, c.end, c.text) for c in cues] == [
        (1, 1.0, 2.5, "Hello there!"),
        (2, 3.0, 4.0, "Second line\ntwo parts & more"),
        (3, 4.5, 6.0, "[Alice] Overlaps the last one."),
        (4, 5.0, 5.0, "Zero length."),
    ]


def test_windows_1252_and_utf16_bytes() -> None:
    text = "1\r\n00:00:01,000 --> 00:00:02,000\r\nCafé – don’t stop\r\n"
    assert read_srt(text.encode("cp1252"))[0].text == "Café – don’t stop"
    assert read_srt(text.encode("utf-16"))[0].text == "Café – don’t stop"
    assert read_srt(text.encode("utf-8"))[0].text == "Café – don’t stop"


def test_unreadable_subtitles_are_script_errors(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="no subtitles found"):
        read_srt("just some text")
    with pytest.raises(ScriptError, match="cannot read subtitles"):
        read_srt(tmp_path / "missing.srt")


YOUTUBE_VTT = """\ufeffWEBVTT
Kind: captions
Language: en

NOTE exported by a caption tool

STYLE
::cue { color: yellow }

00:00:01.000 --> 00:00:02.500 align:start position:0%
<v Alice>Hello <i>Bob</i>!</v>

intro
00:02.600 --> 00:00:04.000
<c.yellow>How are</c> you &amp; yours?
"""


def test_webvtt_is_read_as_subtitles_with_its_voices(tmp_path: Path) -> None:
    from polyvox.subtitles.vtt import looks_like_vtt, read_vtt

    cues = read_vtt(YOUTUBE_VTT)
    assert [(c.index, c.start, c.end, c.text) for c in cues] == [
        (1, 1.0, 2.5, "[Alice] Hello Bob!"), (2, 2.6, 4.0, "How are you & yours?")]
    assert looks_like_vtt(YOUTUBE_VTT) and not looks_like_vtt("WEBVTTX") and not looks_like_vtt(REAL_WORLD)
    path = tmp_path / "talk.vtt"
    path.write_text(YOUTUBE_VTT, encoding="utf-8")
    for source in (path, YOUTUBE_VTT):  # a .vtt file or WebVTT text: subtitles, never a script read aloud
        assert polyvox.is_subtitles(source)
        jobs = polyvox.Kernel(cache=False).plan(source, engine="template")
        spoken = [j.request.text for j in jobs if j.request is not None]
        assert spoken == ["Hello Bob!", "How are you and yours?"], spoken
        assert [j.segment.character for j in jobs if j.request is not None] == ["Alice", None]
    with pytest.raises(ScriptError, match="cannot read subtitles 'the WebVTT text'|no subtitles found"):
        read_vtt("WEBVTT\n\nnot a cue\n")


def test_webvtt_voice_spans_speak_every_line_and_each_span() -> None:
    """A span covering two lines is its speaker's on both (each line of a script starts as the
    narrator); a cue with two spans has two speakers; text after a span is the narrator's."""
    from polyvox.subtitles.vtt import read_vtt

    cues = read_vtt("WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n<v Alice>Hello there,\nhow are you?</v>\n\n"
                    "00:00:02.500 --> 00:00:04.000\n<v.loud Bob>I'm <i>fine</i>.</v> <v Alice>Good!</v> he said\n")
    assert [c.text for c in cues] == ["[Alice] Hello there,\n[Alice] how are you?",
                                      "[Bob] I'm fine. [Alice] Good! [narrator] he said"]


def test_a_webvtt_cue_that_ends_before_it_starts_says_so_as_in_srt() -> None:
    from polyvox.subtitles.vtt import read_vtt

    (cue,) = read_vtt("WEBVTT\n\n00:00:03.000 --> 00:00:02.000\nBackwards.\n")
    assert (cue.start, cue.end) == (3.0, 3.0)
    assert cue.note.startswith("its end 00:00:02.000 is before its start 00:00:03.000")


def test_looks_like_srt() -> None:
    assert looks_like_srt(REAL_WORLD) and looks_like_srt("00:00:01,000 --> 00:00:02,000\nHi")
    assert not looks_like_srt("[Alice] Hello.\n1 2 3") and not looks_like_srt("")


def test_clean_text_keeps_markup() -> None:
    assert clean_text("<b>[Alice|seed:3]</b> Hi {\\i1}there{\\i0}") == "[Alice|seed:3] Hi there"


_CUE_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéü'!?,.", min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3_600_000), st.integers(0, 20_000),
                          st.lists(_CUE_WORD, min_size=1, max_size=8)), min_size=1, max_size=12))
def test_reading_keeps_every_word_once(rows: list[tuple[int, int, list[str]]]) -> None:
    cues = [(ms / 1000, (ms + length) / 1000, " ".join(words)) for ms, length, words in rows]
    parsed = read_srt(srt_text(cues, crlf=True))
    assert sorted(w for c in parsed for w in c.text.split()) == sorted(w for *_, t in cues for w in t.split())
    assert [c.start for c in parsed] == sorted(c.start for c in parsed)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300),
                 st.text(alphabet="0123456789:,.-> \n\r<>{}\\iab", max_size=200)))
def test_reader_raises_only_polyvox_errors(data: str | bytes) -> None:
    try:
        read_srt(data)
    except PolyvoxError:
        pass


# -- timing on synthetic clips (fast, every action) -------------------------------------------
def tone(seconds: float, rate: int = 16000) -> Audio:
    t = np.arange(round(seconds * rate)) / rate
    return Audio((0.5 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), rate)


def test_trim_keeps_a_few_milliseconds() -> None:
    clip = Audio(np.concatenate([np.zeros(8000), tone(0.5).samples, np.zeros(4000)]), 16000)
    trimmed = trim(clip, keep_ms=5)
    assert trimmed.duration == pytest.approx(0.5 + 0.010, abs=0.001)
    assert len(trim(Audio(np.zeros(100), 16000))) == 0


def speech_span(audio: Audio) -> float:
    """Seconds from the first to the last 20 ms frame louder than a tenth of the loudest."""
    n = audio.sample_rate // 50
    frames = audio.samples[: len(audio) // n * n].reshape(-1, n)
    loud = np.flatnonzero(np.sqrt(np.mean(frames**2, axis=1)) > 0.1 * np.sqrt(np.mean(frames**2, axis=1)).max())
    return (loud[-1] - loud[0] + 1) * n / audio.sample_rate


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Audio:
    kernel = polyvox.Kernel(cache_dir=tmp_path_factory.mktemp("cache"), plugins=["piper"])
    return trim(kernel.synthesize("Stretching keeps the voice at its own pitch.", engine="piper", **QUIET))


@pytest.mark.parametrize("ratio", [1.5, 0.7])
def test_time_stretch_changes_the_speech_and_keeps_its_pitch(speech: Audio, ratio: float) -> None:
    stretched = time_stretch(speech, ratio)
    assert stretched.duration == pytest.approx(speech.duration * ratio, abs=0.001)
    # the speech itself is longer or shorter, not padded with silence or cut
    assert speech_span(stretched) == pytest.approx(speech_span(speech) * ratio, rel=0.06)
    # a resample would have moved the pitch by the same ratio (measured: 0.7 to 1.06 times of it)
    assert median_pitch(stretched) == pytest.approx(median_pitch(speech), rel=0.12)


def test_smart_natural_actions() -> None:
    # TAS's rules: gap first, then the next cue's spare room (at most `tolerance`), then speed-up
    # down to min_ratio, then truncation; only the next cue moves, and only into its own room.
    cues = [Cue(1, 0.0, 1.0, "a"), Cue(2, 3.0, 3.5, "b"), Cue(3, 4.0, 4.5, "c"), Cue(4, 5.0, 6.0, "d"),
            Cue(5, 6.5, 7.0, "e"), Cue(6, 8.0, 8.5, "f"), Cue(7, 10.0, 10.5, "g"), Cue(8, 11.0, 11.5, "h"),
            Cue(9, 20.0, 21.0, ""), Cue(10, 22.0, 22.5, "j")]
    clips = [tone(0.8), tone(0.9), tone(1.3), tone(0.4), tone(2.0), tone(0.3), tone(3.0), tone(0.5), None,
             tone(1.0)]
    config = TimingConfig(mode="smart_natural", tolerance=0.5, min_ratio=0.8)
    audio, report, adjusted, notes = place(cues, clips, 16000, config)
    assert [t.action for t in report] == ["fits", "used_gap", "shifted_next", "fits", "stretched", "fits",
                                          "truncated", "fits", "empty", "overran"]
    # Cue 3 takes 0.5 s of gap and borrows 0.3 s of cue 4's 0.6 s spare room.
    assert report[2].end == pytest.approx(5.3, abs=1e-3) and report[3].shift == pytest.approx(0.3, abs=1e-3)
    assert report[3].end <= cues[3].end + 1e-3, "the borrowed room was spare: cue 4 still ends on time"
    # Cue 5: 1.0 s of gap plus cue 6's 0.2 s spare; sped up to 1.7 / 2.0.
    assert report[4].stretch == pytest.approx(0.85, abs=1e-3) and report[4].end == pytest.approx(8.2, abs=1e-3)
    assert report[5].shift == pytest.approx(0.2, abs=1e-3) and report[5].end == pytest.approx(8.5, abs=1e-3)
    # Cue 7: no room to borrow, 0.8 is not enough: cut at the next cue, which starts on time.
    assert report[6].stretch == pytest.approx(0.8) and report[6].end == pytest.approx(11.0, abs=1e-3)
    assert report[7].shift == 0.0 and report[7].start == 11.0
    # The last cue has nothing to collide with: it runs on, whole.
    assert report[9].end == pytest.approx(23.0, abs=1e-3)
    assert all(t.shift <= config.tolerance + 1e-6 for t in report)
    assert audio.duration == pytest.approx(23.0, abs=0.001) and not notes
    assert [c.start for c in adjusted] == [t.start for t in report]


def test_smart_natural_falls_back_to_pad_on_overlaps() -> None:
    cues = [Cue(1, 0.0, 2.0, "a"), Cue(2, 1.0, 3.0, "b")]
    _, report, _, notes = place(cues, [tone(1.0), tone(1.0)], 16000, TimingConfig(mode="smart_natural"))
    assert notes and "overlapping" in notes[0]
    assert [t.start for t in report] == [0.0, 1.0] and all("overlapping" in t.note for t in report)


def test_stretch_to_fit_limits_and_zero_length() -> None:
    cues = [Cue(1, 0.0, 2.0, "a"), Cue(2, 3.0, 3.0, "b")]
    audio, report, _, _ = place(cues, [tone(1.0), tone(0.5)], 16000, TimingConfig(mode="stretch_to_fit"))
    assert report[0].action == "stretched" and report[0].stretch == pytest.approx(2.0)
    assert report[1].action == "overran" and "zero-length" in report[1].note
    assert audio.duration == pytest.approx(3.5, abs=0.001)


def test_bad_timing_settings_are_parameter_errors() -> None:
    with pytest.raises(ParameterError, match="timing mode 'fast' is not known: use one of pad_with_silence"):
        TimingConfig(mode="fast")
    with pytest.raises(ParameterError, match="min_ratio"):
        TimingConfig(min_ratio=1.5)


# -- the four modes on real Piper audio --------------------------------------------------------
def spaced_cues(natural: list[float]) -> list[tuple[float, float, str]]:
    """Cues that leave each clip room: starts at 0.7, then every clip + 0.8 s."""
    out, at = [], 0.7
    for n, text in zip(natural, TEXTS, strict=True):
        out.append((round(at, 3), round(at + n + 0.2, 3), text))
        at += n + 0.8
    return out


def test_pad_with_silence_starts_speech_at_cue_starts(shared_kernel: polyvox.Kernel,
                                                      natural: list[float]) -> None:
    cues = spaced_cues(natural)
    result = shared_kernel.render(srt_text(cues, crlf=True), timing_mode="pad_with_silence", params=QUIET)
    audio = result.audio
    assert audio.sample_rate == RATE
    assert result.stats.synthesized == 0, "the clips came from the cache"
    for (start, _, _), entry in zip(cues, result.timing, strict=True):
        assert abs(onset(audio, start) - start) <= ONSET_TOLERANCE
        assert entry.action == "padded" and entry.start == start and entry.stretch == 1.0
    assert audio.duration == pytest.approx(cues[-1][1], abs=0.002)
    assert quiet(audio, 0.0, cues[0][0] - 0.01)
    check_report_against_audio(result)


def test_stretch_to_fit_fills_each_cue(shared_kernel: polyvox.Kernel, natural: list[float]) -> None:
    cues = [(start, start + 1.3 * (end - start - 0.2), text) for start, end, text in spaced_cues(natural)]
    cues[1] = (cues[1][0], cues[1][0] + 0.85 * natural[1], cues[1][2])  # one cue shorter than its speech
    result = shared_kernel.render(srt_text(cues), timing_mode="stretch_to_fit", params=QUIET)
    audio = result.audio
    assert result.stats.synthesized == 0
    previous_end = 0.0
    for (start, end, _), entry, n in zip(cues, result.timing, natural, strict=True):
        assert entry.action == "stretched" and entry.end == pytest.approx(end, abs=0.001)
        assert entry.stretch == pytest.approx((end - start) / n, abs=0.002)
        assert abs(onset(audio, start, after=previous_end + 0.01) - start) <= ONSET_TOLERANCE
        previous_end = end
        last_loud = np.flatnonzero(frames_db(audio)[: round(end / 0.005) + 40] > -45)[-1] * 0.005
        # Unstretched, cue 1 would fall silent at 77 % of its cue and cue 2 run past it.
        assert start + 0.9 * (end - start) <= last_loud <= end + 0.01, "the speech runs to the cue end"
    assert audio.duration == pytest.approx(cues[-1][1], abs=0.002)
    check_report_against_audio(result)


def test_smart_natural_on_piper(shared_kernel: polyvox.Kernel, natural: list[float]) -> None:
    n1, n2, n3, n4 = natural
    s1 = 0.5
    s2 = s1 + n1 + 0.4  # cue 1 is short on screen, but the gap after it holds its speech
    s3 = s2 + 0.9 * n2  # cue 2 must be sped up to 90 %: cue 3 has no spare room to lend
    s4 = s3 + n3 - 0.3  # cue 3 needs 0.3 s more than its 0.2 s gap: cue 4 lends it from its spare room
    s5 = s4 + n4 + 1.5  # cue 5 stays on time
    cues = [(s1, s1 + 0.5 * n1, TEXTS[0]), (s2, s2 + 0.3, TEXTS[1]), (s3, s3 + n3 - 0.5, TEXTS[2]),
            (s4, s4 + n4 + 1.0, TEXTS[3]), (s5, s5 + n1 + 0.5, TEXTS[0])]
    cues = [(round(a, 3), round(b, 3), t) for a, b, t in cues]
    result = shared_kernel.render(srt_text(cues), timing_mode="smart_natural",
                                  timing=TimingConfig(tolerance=2.0, min_ratio=0.5), params=QUIET)
    assert result.stats.synthesized == 0
    report = result.timing
    assert [t.action for t in report] == ["used_gap", "stretched", "shifted_next", "fits", "fits"]
    assert report[1].stretch == pytest.approx(0.9, abs=0.01)
    assert report[3].shift == pytest.approx(0.3, abs=0.002)
    assert report[3].end <= cues[3][1] + 0.002 and report[4].shift == 0.0
    check_report_against_audio(result)
    assert abs(onset(result.audio, cues[4][0], after=report[3].end + 0.01) - cues[4][0]) <= ONSET_TOLERANCE
    assert result.audio.duration == pytest.approx(max(cues[-1][1], report[-1].end), abs=0.002)


def test_concatenate_writes_new_times(shared_kernel: polyvox.Kernel, natural: list[float]) -> None:
    cues = [(1.0, 1.5, TEXTS[0]), (1.2, 1.4, TEXTS[1]), (30.0, 31.0, TEXTS[2]), (31.0, 31.0, TEXTS[3])]
    result = shared_kernel.render(srt_text(cues), timing_mode="concatenate",
                                  timing=TimingConfig(mode="concatenate", gap=0.25), params=QUIET)
    assert result.stats.synthesized == 0
    assert result.audio.duration == pytest.approx(sum(natural) + 3 * 0.25, abs=0.003)
    assert result.timing[0].start == 0.0 and all(t.action == "concatenated" for t in result.timing)
    check_report_against_audio(result)
    # TAS's default: back to back, each join a 10 ms crossfade.
    joined = shared_kernel.render(srt_text(cues), timing_mode="concatenate", params=QUIET)
    assert joined.audio.duration == pytest.approx(sum(natural) - 3 * 0.010, abs=0.003)
    for before, after in zip(joined.timing, joined.timing[1:], strict=False):
        assert after.start == pytest.approx(before.end - 0.010, abs=1e-4)
    check_report_against_audio(joined)


def test_overlaps_markup_and_files(shared_kernel: polyvox.Kernel, natural: list[float], tmp_path: Path) -> None:
    """A real-world file: BOM, CRLF, tags, an overlap, a pause and a character inside cues."""
    path = tmp_path / "film.srt"
    path.write_bytes((
        "\ufeff1\r\n00:00:00,500 --> 00:00:02,000\r\n<i>Hello there, how are you today?</i>\r\n\r\n"
        "2\r\n00:00:01,500 --> 00:00:03,000\r\n{\\an8}[Bob|length_scale:1.2] I am fine, [pause:300ms] thank you.\r\n"
        "\r\n3\r\n00:00:06,000 --> 00:00:07,000\r\n<b></b>\r\n").encode("utf-8"))
    out = tmp_path / "film.wav"
    result = shared_kernel.render(path, timing_mode="smart_natural", params=QUIET, output=out)
    assert result.audio is None and result.output == out
    audio = Audio.read(out)
    assert audio.sample_rate == RATE and audio.duration >= 7.0 - 0.01
    assert any("overlapping" in w for w in result.warnings)
    report = result.timing
    assert [t.action for t in report] == ["overran", "overran", "empty"]
    assert [t.start for t in report] == [0.5, 1.5, 6.0], "overlapping cues: each clip at its cue start"
    assert "into cue 2" in report[0].note and all("padded instead of smart_natural" in t.note for t in report)
    assert abs(onset(audio, 0.5) - 0.5) <= ONSET_TOLERANCE
    assert quiet(audio, report[1].end + 0.01, 7.0)
    bob = [s for s in result.segments if s.segment.character == "Bob" and s.engine]
    assert len(bob) == 2 and bob[0].start == 1.5
    assert bob[1].start == pytest.approx(bob[0].start + bob[0].duration + 0.3, abs=0.002), "the cue's own pause"
    assert "unknown character 'Bob': using the narrator's voice" in result.warnings


def test_timing_mode_needs_subtitles(kernel: polyvox.Kernel) -> None:
    with pytest.raises(PolyvoxError, match="timing_mode applies to subtitles only"):
        kernel.render("Hello.", timing_mode="concatenate")


def test_markup_problems_in_cues_are_warnings_and_the_render_goes_on(kernel: polyvox.Kernel) -> None:
    # Lenient by default, as TTS Audio Suite: the unclosed tag is read as text, with a warning
    # naming the cue; strict mode stops with the same words as an error.
    subs = srt_text([(1.0, 2.0, "Fine."), (3.0, 4.0, "[Alice oops")])
    result = kernel.render(subs)
    assert len(result.timing) == 2 and result.timing[1].natural > 0.3
    assert any(w.startswith("subtitle 2 at 00:00:03,000: ") and "unclosed tag" in w for w in result.warnings)
    with pytest.raises(ScriptError, match=r"^subtitle 2 at 00:00:03,000: .*unclosed tag"):
        kernel.render(subs, strict=True)


def test_subtitles_in_a_file_of_another_name(shared_kernel: polyvox.Kernel, tmp_path: Path) -> None:
    path = tmp_path / "subs.txt"
    path.write_bytes(srt_text([(0.5, 2.5, "Café, " + TEXTS[0])], crlf=True).encode("cp1252"))
    result = shared_kernel.render(path, timing_mode="pad_with_silence", params=QUIET)
    assert [t.start for t in result.timing] == [0.5] and "Café" in result.srt
    script = tmp_path / "story.txt"
    script.write_text("[Alice] Hello there, how are you today?", encoding="utf-8")
    assert shared_kernel.render(script, params=QUIET).segments[0].segment.character == "Alice"


def test_cues_spoken_at_once_do_not_clip():
    """Three cues 0.1 s apart (a crowd scene): their clips were summed and cut at full scale."""
    from polyvox.subtitles.timeline import place
    from polyvox.subtitles.timing import TimingConfig

    rate = 16000
    t = np.arange(rate) / rate
    clips = [Audio((0.8 * np.sin(2 * np.pi * f * t)).astype(np.float32), rate) for f in (180, 230, 290)]
    cues = [Cue(i + 1, 1.0 + 0.1 * i, 2.0 + 0.1 * i, f"Line {i}.") for i in range(3)]
    audio, *_ = place(cues, clips, rate, TimingConfig(mode="pad_with_silence"))
    peak = float(np.max(np.abs(audio.samples)))
    assert peak <= 0.8 + 1e-3  # no louder than one voice alone
    assert int(np.sum(np.abs(audio.samples) >= 0.999)) == 0
    lone = audio.samples[int(1.02 * rate):int(1.08 * rate)]  # the first line alone, before the others
    assert np.max(np.abs(lone)) > 0.7  # and the lines themselves are not turned down
