"""A take's loudness is measured once: a warm re-render at a loudness target reads each take's
measurements from the cache's memo (by the hash of its samples) instead of running BS.1770's
meter and the true-peak oversampling again, and sounds exactly the same."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

import polyvox
from polyvox.cache.entries import LOUDNESS
from polyvox.cache.store import ContentCache
from polyvox.mastering import loudness

LINES = ["The kettle sang on the stove.", "[Alice] Is it morning already?", "The kettle sang on the stove.",
         "Nobody answered her for a while."]


@pytest.fixture
def counted(monkeypatch):
    """How many samples each loudness and true-peak measurement was given."""
    calls: dict[str, list[int]] = {"lufs": [], "true_peak": []}
    lufs, peak = loudness.integrated_loudness, loudness.true_peak
    monkeypatch.setattr(loudness, "integrated_loudness", lambda s, r: calls["lufs"].append(len(s)) or lufs(s, r))
    monkeypatch.setattr(loudness, "true_peak", lambda s: calls["true_peak"].append(len(s)) or peak(s))
    return calls


def test_a_warm_render_at_a_loudness_measures_no_take_again(tmp_path, counted):
    text = "\n".join(LINES)
    first = polyvox.Kernel(cache_dir=tmp_path / "c", plugins=["template"]).render(text, engine="template",
                                                                                   loudness=-18)
    assert first.stats.synthesized == 3 and len(counted["lufs"]) == 3  # the repeated line's take once
    assert counted["true_peak"]  # these takes' highest samples alone do not clear -1 dBTP at -18 LUFS
    for calls in counted.values():
        calls.clear()
    with sqlite3.connect(tmp_path / "c" / "cache.db") as con:
        stored = dict(con.execute("SELECT key, access_time FROM Cache WHERE key LIKE 'loudness:%'").fetchall())

    again = polyvox.Kernel(cache_dir=tmp_path / "c", plugins=["template"]).render(text, engine="template",
                                                                                   loudness=-18)
    assert again.stats.cached == 4 and counted == {"lufs": [], "true_peak": []}
    assert again.audio == first.audio
    acx = polyvox.Kernel(cache_dir=tmp_path / "c", plugins=["template"]).render(
        text, engine="template", loudness=polyvox.Loudness(-20, ceiling=-3))  # other targets: same measurements
    assert counted == {"lufs": [], "true_peak": []}
    for segment in (s for s in acx.segments if s.engine):
        clip = acx.audio.samples[round(segment.start * acx.sample_rate):][: round(segment.duration * acx.sample_rate)]
        assert 20 * np.log10(loudness.true_peak(clip)) <= -3 + 0.05

    with sqlite3.connect(tmp_path / "c" / "cache.db") as con:  # read without a write each, touched in a batch
        read = dict(con.execute("SELECT key, access_time FROM Cache WHERE key LIKE 'loudness:%'").fetchall())
    assert len(read) == 3 and min(read.values()) > max(stored.values())

    unmemoized = polyvox.Kernel(cache=False, plugins=["template"]).render(text, engine="template", loudness=-18)
    assert unmemoized.audio == first.audio  # measured afresh: the same output

    cache = ContentCache(tmp_path / "c")
    report = cache.verify()
    assert report.bad == () and report.checked == 3 + 3 + 2  # takes, measurements, model file, last render


def test_measurements_are_kept_by_the_takes_content(tmp_path, counted):
    memo: dict[str, str] = {}
    rate = 16000
    tone = np.sin(2 * np.pi * 220 * np.arange(rate) / rate).astype(np.float32)
    level = polyvox.Loudness(-18)
    one = level.level(polyvox.Audio(0.3 * tone, rate), memo)
    other = level.level(polyvox.Audio(0.1 * tone, rate), memo)  # another take, as a retake would be
    assert len(counted["lufs"]) == 2 and len(memo) == 2 and all(k.startswith(LOUDNESS) for k in memo)
    assert np.allclose(other.samples, one.samples, atol=1e-6)  # each brought to the target
    key = next(iter(memo))  # the first take's
    memo[key] = "not measurements"  # damaged or foreign: measured again and replaced
    assert level.level(polyvox.Audio(0.3 * tone, rate), memo) == one and len(counted["lufs"]) == 3
    assert loudness.Measured.from_text(memo[key]).peak == pytest.approx(0.3)
