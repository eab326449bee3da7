"""Subtitle times are checked: an absurd time is a one-line error naming the cue and its line,
found before anything is sized by it; a cue that ends before it starts is rendered as a
zero-length cue, with a warning and a note in the timing report."""

from __future__ import annotations

import tracemalloc

import pytest
from click.testing import CliRunner

import polyvox
from polyvox.cli import cli
from polyvox.events import Emitter, RenderStarted, SegmentStarted
from polyvox.subtitles.srt import MAX_CUE_START, Cue, read_srt

REVERSED = "1\n00:00:00,500 --> 00:00:02,000\nFirst words.\n\n2\n00:00:04,000 --> 00:00:03,000\nBackwards cue.\n"
ABSURD = "1\n00:00:00,500 --> 00:00:02,000\nFirst words.\n\n2\n99:99:99,999 --> 99:99:99,999\nNever.\n"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    return polyvox.Kernel(cache_dir=tmp_path_factory.mktemp("c"), plugins=["template"])


@pytest.mark.parametrize("mode", ["pad_with_silence", "smart_natural", "stretch_to_fit"])
def test_a_reversed_cue_is_zero_length_with_a_warning_and_a_note(kernel, mode):
    result = kernel.render(REVERSED, engine="template", timing_mode=mode)
    cue = result.timing[1]
    assert (cue.target_start, cue.target_end) == (4.0, 4.0)  # end set to start
    assert cue.start == pytest.approx(4.0) and cue.natural > 0.3  # still spoken, from its start
    assert "its end 00:00:03,000 is before its start 00:00:04,000 (line 6)" in cue.note
    assert "zero-length" in cue.note and not result.timing[0].note
    (warning,) = [w for w in result.warnings if "before its start" in w]
    assert warning.startswith("subtitle 2: ")
    assert result.audio.duration >= 4.0


@pytest.fixture
def refused_before_rendering(monkeypatch):
    """A render that gets as far as starting fails the test at once: an absurd time must be
    refused while the script is read. (Without the bound, the render would go on to size the
    timeline by the time: 21.6 GiB for 99:99:99,999.)"""
    emit = Emitter.emit

    def guard(self: Emitter, event: object) -> None:
        if isinstance(event, (RenderStarted, SegmentStarted)):
            raise AssertionError(f"the render went on to {type(event).__name__}: the absurd time was not refused")
        emit(self, event)

    monkeypatch.setattr(Emitter, "emit", guard)


def test_an_absurd_time_is_a_one_line_error_naming_cue_and_line(kernel, refused_before_rendering):
    with pytest.raises(AssertionError, match="went on to RenderStarted"):  # the guard is armed
        kernel.render(REVERSED, engine="template")
    tracemalloc.start()
    try:
        with pytest.raises(polyvox.ScriptError) as err:
            kernel.render(ABSURD, engine="template")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("subtitle cue 2 (line 6) starts at 99:99:99,999, beyond 24:00:00,000")
    assert peak < 20 * 1024**2  # nothing sized by the absurd time (it would be GiB)


@pytest.mark.parametrize("stamp", ["999999999999999999999999999:00:00,000", "00:00:1000000000000000000000000,000"])
def test_times_with_too_many_digits_are_the_same_error(stamp):
    with pytest.raises(polyvox.ScriptError, match=r"subtitle cue 1 \(line 2\) starts at"):
        read_srt(f"1\n{stamp} --> 00:00:01,000\nHi.\n")


def test_an_end_beyond_the_limit_is_an_error_too():
    with pytest.raises(polyvox.ScriptError, match=r"subtitle cue 1 \(line 3\) ends at 25:00:00,000"):
        read_srt("\n1\n00:00:01,000 --> 25:00:00,000\nHi.\n")


def test_the_limit_is_a_parameter():
    text = "1\n00:00:11,000 --> 00:00:12,000\nHi.\n"
    assert MAX_CUE_START == 24 * 3600
    assert read_srt(text)[0].start == 11.0
    with pytest.raises(polyvox.ScriptError, match="beyond 00:00:10,000"):
        read_srt(text, max_cue_start=10)


def test_lines_count_crlf_and_bom_files_like_an_editor():
    data = ("\ufeff1\r\n00:00:01,000 --> 00:00:02,000\r\nA.\r\n\r\n"
            "2\r\n48:00:00,000 --> 48:00:01,000\r\nB.\r\n").encode("utf-16")
    with pytest.raises(polyvox.ScriptError, match=r"cue 2 \(line 6\)"):
        read_srt(data)


def test_cli_prints_the_error_on_one_line(tmp_path, monkeypatch, refused_before_rendering):
    monkeypatch.setenv("POLYVOX_PLUGINS", "template")
    (tmp_path / "absurd.srt").write_text(ABSURD)
    result = CliRunner().invoke(cli, ["render", str(tmp_path / "absurd.srt"), "-o", str(tmp_path / "x.wav")])
    assert result.exit_code == 1
    assert "subtitle cue 2 (line 6) starts at 99:99:99,999" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "x.wav").exists()


def test_cue_times_must_be_times():
    with pytest.raises(polyvox.ScriptError, match="cue start nan is not a time"):
        Cue(1, float("nan"), 1.0, "x")
    with pytest.raises(polyvox.ScriptError, match="cue end -1.0"):
        Cue(1, 0.0, -1.0, "x")


CUT = "1\n00:00:01,000 --> 00:00:02,000\nCut".encode("utf-16")[:-1]


@pytest.mark.parametrize("data", [b"\xff\xfe1", b"\xfe\xff\x00", CUT])
def test_utf16_files_cut_short_are_read_not_crashed(data):
    """Found while fuzzing: a UTF-16 BOM with an odd byte count raised UnicodeDecodeError."""
    try:
        cues = read_srt(data)
    except polyvox.ScriptError as exc:
        assert "no subtitles found" in str(exc)
    else:
        assert cues[0].text.startswith("Cu")
