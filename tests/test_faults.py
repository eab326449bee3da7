"""Nothing synthesized is lost: engine errors, cancellation, kill -9, several processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import ToneEngine

import polyvox

SCRIPT = "\n".join(f"Line number {i} of the script." for i in range(8))


def test_engine_error_names_the_segment_and_keeps_finished_ones(tmp_path):
    broken = ToneEngine(fail_on="number 5")
    kernel = polyvox.Kernel(cache_dir=tmp_path / "c")
    kernel.register(broken)
    with pytest.raises(polyvox.SegmentError) as info:
        kernel.render(SCRIPT, engine="tone")
    err = info.value
    assert err.index == 5 and "Line number 5" in str(err) and "boom" in str(err) and "narrator" in str(err)
    assert isinstance(err, polyvox.PolyvoxError)
    fixed = ToneEngine()
    kernel2 = polyvox.Kernel(cache_dir=tmp_path / "c")
    kernel2.register(fixed)
    result = kernel2.render(SCRIPT, engine="tone")
    assert fixed.calls == [f"Line number {i} of the script." for i in (5, 6, 7)]
    assert result.stats.cached == 5


def test_streaming_error_keeps_what_was_streamed(tmp_path):
    kernel = polyvox.Kernel(cache_dir=tmp_path / "c")
    kernel.register(ToneEngine(fail_on="number 3"))
    got = []
    with pytest.raises(polyvox.SegmentError, match="segment 3"):
        for chunk in kernel.stream(SCRIPT, engine="tone"):
            got.append(chunk)
    assert got and kernel.cache_stats().entries == 3


def test_a_cancelled_stream_counts_the_segments_made_ahead_of_their_turn(tmp_path):
    """Streaming with an engine that batches makes the next segments ahead: cancelled, every
    segment it finished (and cached) is counted, as the progress showed them, not only those
    already played."""
    from conftest import BatchTone

    token = polyvox.CancelToken()
    made: list[int] = []

    def listener(event):
        if isinstance(event, polyvox.events.SegmentFinished) and not event.cached:
            made.append(event.index)
            if len(made) >= 3:
                token.cancel()

    kernel = polyvox.Kernel(cache_dir=tmp_path / "c")
    kernel.register(BatchTone())
    with pytest.raises(polyvox.Cancelled) as info:
        for _ in kernel.stream(SCRIPT, engine="tone", cancel=token, on_event=listener, batch_size=4):
            pass
    assert info.value.finished == len(made) == 3  # segment 0 played, 1 playing, 2 made ahead with it
    assert kernel.render(SCRIPT, engine="tone").stats.cached == len(made)


def test_cancel_stops_after_the_current_segment(tmp_path):
    token = polyvox.CancelToken()
    finished = []

    def listener(event):
        if isinstance(event, polyvox.events.SegmentFinished):
            finished.append(event.index)
            if len(finished) == 3:
                token.cancel()

    engine = ToneEngine()
    kernel = polyvox.Kernel(cache_dir=tmp_path / "c")
    kernel.register(engine)
    with pytest.raises(polyvox.Cancelled) as info:
        kernel.render(SCRIPT, engine="tone", cancel=token, on_event=listener)
    assert (info.value.finished, info.value.total) == (3, 8)
    assert len(engine.calls) == 3
    assert kernel.render(SCRIPT, engine="tone").stats.cached == 3


def _piper_render(cache_dir, text, out=None):
    code = textwrap.dedent(f"""
        import polyvox, sys
        r = polyvox.Kernel(cache_dir={str(cache_dir)!r}).render({text!r})
        {"r.audio.write(" + repr(str(out)) + ")" if out else ""}
        print(r.stats.synthesized, r.stats.cached)
    """)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_kill_9_keeps_finished_segments(tmp_path):
    text = "\n".join(f"This is sentence number {i}, long enough to take a little while." for i in range(40))
    proc = _piper_render(tmp_path / "c", text)
    cache = polyvox.cache.store.ContentCache(tmp_path / "c")
    deadline = time.time() + 60
    while cache.stats().entries < 3 and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    kept = cache.stats().entries
    assert 3 <= kept < 40
    result = polyvox.Kernel(cache_dir=tmp_path / "c").render(text)
    assert result.stats.cached >= kept and result.stats.synthesized == 40 - result.stats.cached


def test_processes_sharing_one_cache_dir_agree(tmp_path):
    lines = [f"Shared sentence {i}." for i in range(6)]
    scripts = ["\n".join(lines[:4]), "\n".join(lines[2:]), "\n".join(lines)]
    procs = [_piper_render(tmp_path / "c", s, tmp_path / f"out{n}.wav") for n, s in enumerate(scripts)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    # every entry is whole and a fresh render of each script is served entirely from the cache
    kernel = polyvox.Kernel(cache_dir=tmp_path / "c")
    for n, s in enumerate(scripts):
        again = kernel.render(s)
        assert again.stats.synthesized == 0
        assert again.audio.duration == pytest.approx(polyvox.Audio.read(tmp_path / f"out{n}.wav").duration, abs=1e-3)
    assert kernel.cache_stats().entries == 6


def test_cancel_with_threads_stops_early(tmp_path):
    token = polyvox.CancelToken()
    engine = ToneEngine(thread_safe=True, delay=0.05)
    kernel = polyvox.Kernel(cache_dir=tmp_path / "c")
    kernel.register(engine)

    def listener(event):
        if isinstance(event, polyvox.events.SegmentFinished):
            token.cancel()

    text = "\n".join(f"line {i}" for i in range(12))
    with pytest.raises(polyvox.Cancelled):
        kernel.render(text, engine="tone", workers=2, cancel=token, on_event=listener)
    assert len(engine.calls) < 12


def test_failed_batch_names_the_segment_that_failed_and_keeps_the_others(tmp_path):
    engine = ToneEngine(batch=True, fail_on="number 5")
    kernel = polyvox.Kernel(cache_dir=tmp_path / "c")
    kernel.register(engine)
    with pytest.raises(polyvox.SegmentError) as info:
        kernel.render(SCRIPT, engine="tone", batch_size=4)
    assert info.value.index == 5 and "Line number 5" in str(info.value)
    assert kernel.cache_stats().entries >= 5  # the batch's other segments were kept


def test_an_unusable_output_path_is_a_one_line_error(tmp_path):
    """Missing folders are made; a file where a folder should be is not. (A cache directory
    that is a file only turns caching off: tests/test_cache_healing.py.)"""
    kernel = polyvox.Kernel(cache_dir=tmp_path / "c")
    kernel.register(ToneEngine())
    (tmp_path / "taken").write_text("x")
    with pytest.raises(polyvox.PolyvoxError, match="cannot write audio to .*a part of its path is a file"):
        kernel.render("hi", engine="tone", output=tmp_path / "taken" / "x.wav")
