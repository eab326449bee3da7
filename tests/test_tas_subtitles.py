"""Subtitles as TTS Audio Suite times them: smart_natural's borrowing, concatenate's crossfade,
stretch_to_fit's edge fades, cue-length warnings, and cue lines that start again as the
narrator. Onsets are measured in real audio from the template engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import polyvox
from polyvox import Audio
from polyvox.subtitles.srt import Cue, read_srt, write_srt
from polyvox.subtitles.timeline import place
from polyvox.subtitles.timing import TimingConfig

TEXTS = ["The quick brown fox jumps over the lazy dog near the river bank.",
         "A second sentence, not so long.",
         "And the third one ends it."]


def srt(cues: list[tuple[float, float, str]]) -> str:
    return write_srt([Cue(n, a, b, t) for n, (a, b, t) in enumerate(cues, 1)])


def onset(audio: Audio, near: float, window: float = 0.3, after: float = 0.0) -> float:
    """First 5 ms frame above -40 dBFS within `window` of `near`, not before `after`."""
    n = round(0.005 * audio.sample_rate)
    frames = audio.samples[: len(audio.samples) // n * n].reshape(-1, n)
    db = 20 * np.log10(np.maximum(np.sqrt(np.mean(frames**2, axis=1)), 1e-9))
    first, last = max(0, round(max(near - window, after) / 0.005)), round((near + window) / 0.005)
    loud = np.flatnonzero(db[first:last] > -40)
    assert len(loud), f"no speech near {near:.3f} s"
    return (first + loud[0]) * 0.005


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> polyvox.Kernel:
    return polyvox.Kernel(cache_dir=tmp_path_factory.mktemp("tas-subtitles"))


@pytest.fixture(scope="module")
def natural(kernel: polyvox.Kernel) -> list[float]:
    """Trimmed template-engine durations of TEXTS."""
    cues = [(i * 10.0, i * 10.0 + 9.0, t) for i, t in enumerate(TEXTS)]
    result = kernel.render(srt(cues), engine="template", timing_mode="pad_with_silence")
    return [t.natural for t in result.timing]


def test_smart_natural_speeds_up_and_keeps_later_cues_on_time(kernel: polyvox.Kernel,
                                                              natural: list[float]) -> None:
    # The case, scaled to real clips: cue 1 is 0.5 s of gap short of its speech and
    # cue 2 has no spare room, so TAS plays cue 1 faster (1 / 1.4) and keeps cues 2 and 3 on time.
    n1, n2, n3 = natural
    window = n1 / 1.4
    c2 = round(0.5 + window, 3)
    c3 = round(c2 + n2 + 0.5, 3)
    cues = [(0.5, round(0.5 + window - 0.5, 3), TEXTS[0]), (c2, round(c2 + n2, 3), TEXTS[1]),
            (c3, round(c3 + n3 + 1.0, 3), TEXTS[2])]
    result = kernel.render(srt(cues), engine="template", timing_mode="smart_natural")
    report = result.timing
    assert result.stats.synthesized == 0
    assert [t.action for t in report] == ["stretched", "fits", "fits"]
    assert report[0].stretch == pytest.approx(1 / 1.4, abs=0.01)
    previous_end = 0.0
    for (start, _, _), entry in zip(cues, report, strict=True):
        assert entry.start == start and entry.shift == 0.0
        assert abs(onset(result.audio, start, after=previous_end + 0.005) - start) <= 0.02, entry
        previous_end = entry.end
    assert report[0].end == pytest.approx(c2, abs=0.01)
    # TAS's defaults: tolerance 2.0 s, speed-up to half, never slowed.
    config = TimingConfig()
    assert (config.mode, config.tolerance, config.min_ratio, config.max_ratio) == ("smart_natural", 2.0, 0.5, 1.0)


def test_smart_natural_borrows_only_the_next_cues_spare_room() -> None:
    rate = 16000
    tone = Audio(np.full(round(3.5 * rate), 0.3, np.float32), rate)
    short = Audio(np.full(round(1.0 * rate), 0.3, np.float32), rate)
    cues = [Cue(1, 0.0, 2.0, "a"), Cue(2, 2.5, 4.5, "b"), Cue(3, 5.0, 7.0, "c")]
    # Cue 2's clip is 1.0 s in a 2.0 s cue: 1.0 s spare, so cue 1 borrows all it still needs.
    _, report, _, _ = place(cues, [tone, short, short], rate, TimingConfig())
    assert [t.action for t in report] == ["shifted_next", "fits", "fits"]
    assert report[1].start == pytest.approx(3.5) and report[1].end == pytest.approx(4.5)
    assert report[2].start == 5.0


def test_concatenate_joins_back_to_back_with_a_10ms_crossfade(kernel: polyvox.Kernel,
                                                               natural: list[float]) -> None:
    cues = [(1.0, 1.5, TEXTS[0]), (5.0, 5.2, TEXTS[1]), (9.0, 9.1, TEXTS[2])]
    result = kernel.render(srt(cues), engine="template", timing_mode="concatenate")
    report = result.timing
    assert report[0].start == 0.0
    for before, after in zip(report, report[1:], strict=False):
        assert after.start == pytest.approx(before.end - 0.010, abs=1e-4)
    assert result.audio.duration == pytest.approx(sum(natural) - 2 * 0.010, abs=0.003)
    # No silence at the joins: every 5 ms frame around them sounds.
    rate = result.audio.sample_rate
    for entry in report[1:]:
        around = result.audio.samples[round((entry.start - 0.02) * rate): round((entry.start + 0.02) * rate)]
        assert np.sqrt(np.mean(around**2)) > 0.005
    adjusted = read_srt(result.srt)
    assert [c.start for c in adjusted] == [pytest.approx(t.start, abs=0.001) for t in report]


def test_stretch_to_fit_fades_10ms_at_the_edges() -> None:
    rate = 16000
    t = np.arange(rate) / rate
    clip = Audio((0.5 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), rate)
    cues = [Cue(1, 1.0, 2.0, "a")]  # the clip's own length: Rubber Band leaves it as it is

    def edges(fade_ms: float) -> tuple[float, float, float]:
        audio, report, _, _ = place(cues, [clip], rate, TimingConfig(mode="stretch_to_fit", fade_ms=fade_ms))
        at = round((report[0].start - 0.005) * rate)  # where the clip (with its 5 ms lead) is placed
        placed = np.abs(audio.samples[at: at + rate])
        ms = rate // 1000
        return float(placed[: 3 * ms].max()), float(placed[-3 * ms:].max()), float(placed[20 * ms: 40 * ms].max())

    head, tail, middle = edges(10.0)
    raw_head, raw_tail, raw_middle = edges(0.0)
    assert middle == pytest.approx(raw_middle, abs=0.01) and middle > 0.4
    assert raw_head > 0.3 and raw_tail > 0.3, "without fades the tone is loud at its edges"
    assert head < 0.3 * raw_head and tail < 0.3 * raw_tail, "10 ms fades at both edges"


def test_cues_shorter_than_50ms_or_longer_than_30s_are_warned_about() -> None:
    rate = 16000
    clip = Audio(np.full(rate // 10, 0.3, np.float32), rate)
    cues = [Cue(1, 0.0, 0.03, "a"), Cue(2, 1.0, 2.0, "b"), Cue(3, 3.0, 40.0, "c")]
    _, _, _, notes = place(cues, [clip, clip, clip], rate, TimingConfig(mode="pad_with_silence"))
    assert notes == ["subtitle 1 lasts 30 ms, under 50 ms: its speech cannot fit it",
                     "subtitle 3 lasts 37.0 s, over 30 s: consider splitting it"]


def test_each_line_of_a_cue_starts_again_as_the_narrator(kernel: polyvox.Kernel, tmp_path: Path) -> None:
    voices = tmp_path / "voices"
    voices.mkdir()
    t = np.arange(16000) / 16000
    sf.write(voices / "Alice.wav", (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), 16000)
    text = "1\n00:00:01,000 --> 00:00:05,000\n[Alice] Wait for me,\nplease!\n"
    assert read_srt(text)[0].text == "[Alice] Wait for me,\nplease!"
    result = kernel.render(text, engine="template", voices=voices, timing_mode="pad_with_silence")
    spoken = [(s.segment.character, s.segment.text) for s in result.segments if s.engine]
    assert spoken == [("Alice", "Wait for me,"), (None, "please!")]
    rate = result.audio.sample_rate

    def pitch(start: float, seconds: float) -> float:
        x = result.audio.samples[round(start * rate): round((start + seconds) * rate)].astype(np.float64)
        corr = np.fft.irfft(np.abs(np.fft.rfft(x - x.mean(), 2 * len(x))) ** 2)[: len(x)]
        lo, hi = rate // 400, rate // 60
        return rate / (lo + int(np.argmax(corr[lo:hi])))

    alice, narrator = (s for s in result.segments if s.engine)
    assert pitch(alice.start, alice.duration) == pytest.approx(300, rel=0.05)
    assert pitch(narrator.start, narrator.duration) < 250, "the second line is not Alice's voice"
