"""Concurrent renders on one kernel share batch calls of an engine that batches: fewer engine
calls than segments, batches that mix renders, and every render still gets exactly its own
audio in its own order. A cancelled render leaves the lane without disturbing the others; a
failing segment fails only its own render. Bounded: every wait has a timeout."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from conftest import BatchTone

import polyvox
from polyvox import Audio, Segment
from polyvox.errors import Cancelled, SegmentError


def _kernel(tmp_path, name: str, **engine: Any) -> tuple[polyvox.Kernel, BatchTone]:
    kernel = polyvox.Kernel(cache_dir=tmp_path / f"cache-{name}")
    tone = BatchTone(**engine)
    kernel.register(tone)
    return kernel, tone


def _script(render: int, n: int) -> list[Segment]:
    return [Segment(text=f"Render {render} line {i} {'la ' * (render + i % 3)}end.") for i in range(n)]


def _owner(text: str) -> str:
    return text.split(" line ")[0]


def _alone(tmp_path, scripts: list[list[Segment]]) -> list[np.ndarray]:
    kernel, tone = _kernel(tmp_path, "alone")
    out = [kernel.render(s, engine="tone", seed=3).audio.samples for s in scripts]
    assert all(len(b) == 1 for b in tone.batches)  # made one segment per call
    return out


@pytest.mark.parametrize("how", ["stream", "render"])
def test_concurrent_renders_share_batches_and_each_gets_its_own_audio(tmp_path, how: str) -> None:
    kernel, tone = _kernel(tmp_path, how, delay=0.05)
    scripts = [_script(r, 5) for r in range(4)]
    start = threading.Barrier(4, timeout=20)

    def run(script: list[Segment]) -> np.ndarray:
        start.wait()
        if how == "stream":
            chunks = list(kernel.stream(script, engine="tone", seed=3, batch_size=4))
            return Audio.concatenate(chunks, 16000).samples
        return kernel.render(script, engine="tone", seed=3, batch_size=4).audio.samples

    with ThreadPoolExecutor(4) as pool:
        together = [f.result(timeout=60) for f in [pool.submit(run, s) for s in scripts]]
    segments = sum(len(s) for s in scripts)
    assert sorted(t for b in tone.batches for t in b) == sorted(s.text for s in sum(scripts, []))
    assert len(tone.batches) < segments, tone.batches
    assert any(len({_owner(t) for t in b}) > 1 for b in tone.batches), tone.batches  # a batch mixed renders
    assert all(len(b) <= 4 for b in tone.batches)
    assert kernel.scheduler.batches.shared >= 1
    alone = _alone(tmp_path, scripts)
    for mine, reference in zip(together, alone, strict=True):
        np.testing.assert_array_equal(mine, reference)


def test_an_idle_engine_starts_at_once_and_a_render_asking_for_one_never_joins(tmp_path, monkeypatch) -> None:
    """No window: a lone stream's segment is called the moment it is asked for, without waiting
    (on a condition, an event or a sleep) for others to join; a render with batch_size 1 keeps
    its segments to itself even while others batch."""
    kernel, tone = _kernel(tmp_path, "idle")
    kernel.synthesize("Warm up.", engine="tone")  # the model loaded, the voice prepared
    waits: list[tuple[int, str]] = []  # (thread, what) of every wait and sleep from here on
    wait, sleep = threading.Condition.wait, time.sleep

    def counted_wait(self: threading.Condition, timeout: float | None = None) -> bool:
        waits.append((threading.get_ident(), f"wait({timeout})"))
        return wait(self, timeout)

    def counted_sleep(seconds: float) -> None:
        waits.append((threading.get_ident(), f"sleep({seconds})"))
        sleep(seconds)

    monkeypatch.setattr(threading.Condition, "wait", counted_wait)
    monkeypatch.setattr(time, "sleep", counted_sleep)
    called: list[list[str]] = []  # at each engine call: what its thread had waited for before it
    tone._record = lambda texts: called.append([w for t, w in waits if t == threading.get_ident()])  # type: ignore[method-assign]
    stream = iter(kernel.stream(_script(0, 3), engine="tone", batch_size=8))
    next(stream)
    monkeypatch.undo()
    assert called == [[]]  # one call, made with no wait before it: no window to fill a batch

    kernel, tone = _kernel(tmp_path, "single", delay=0.05)
    scripts = [_script(r, 4) for r in range(3)]
    with ThreadPoolExecutor(3) as pool:
        sizes = [4, 4, 1]
        list(pool.map(lambda a: kernel.render(a[0], engine="tone", batch_size=a[1]), zip(scripts, sizes, strict=True)))
    assert any(len(b) > 1 for b in tone.batches)
    for batch in tone.batches:
        if any(_owner(t) == "Render 2" for t in batch):
            assert len(batch) == 1, batch


def _hold(kernel: polyvox.Kernel, tone: BatchTone) -> threading.Thread:
    """A render whose first call blocks until the gate opens: what others send meanwhile queues."""
    t = threading.Thread(target=lambda: kernel.render([Segment(text="hold the engine")], engine="tone",
                                                      batch_size=4))
    t.start()
    assert tone.holding.wait(20)
    return t


def _waiting(kernel: polyvox.Kernel, count: int) -> None:
    deadline = time.monotonic() + 20
    while sum(len(lane.waiting) for lane in kernel.scheduler.batches._lanes.values()) < count:
        assert time.monotonic() < deadline, "the renders never queued"
        time.sleep(0.01)


def test_a_cancelled_render_leaves_the_lane_and_the_others_are_undisturbed(tmp_path) -> None:
    kernel, tone = _kernel(tmp_path, "cancel")
    holder = _hold(kernel, tone)
    token = polyvox.CancelToken()
    scripts = {"a": _script(1, 3), "b": _script(2, 3)}
    outcome: dict[str, Any] = {}

    def run(name: str, cancel: polyvox.CancelToken | None) -> None:
        try:
            chunks = list(kernel.stream(scripts[name], engine="tone", seed=3, batch_size=4, cancel=cancel))
            outcome[name] = Audio.concatenate(chunks, 16000).samples
        except Cancelled as exc:
            outcome[name] = exc

    threads = [threading.Thread(target=run, args=("a", token)), threading.Thread(target=run, args=("b", None))]
    for t in threads:
        t.start()
    _waiting(kernel, 2)  # each stream's first segment waits behind the held call
    token.cancel()
    deadline = time.monotonic() + 20
    while "a" not in outcome:  # it leaves without waiting for the engine
        assert time.monotonic() < deadline
        time.sleep(0.01)
    tone.gate.set()
    for t in [*threads, holder]:
        t.join(30)
    assert isinstance(outcome["a"], Cancelled)
    called = [t for b in tone.batches for t in b]
    assert not any(_owner(t) == "Render 1" for t in called), tone.batches  # its queued segment never ran
    (reference,) = _alone(tmp_path, [scripts["b"]])
    np.testing.assert_array_equal(outcome["b"], reference)


def test_a_failing_segment_fails_only_its_own_render(tmp_path) -> None:
    kernel, tone = _kernel(tmp_path, "fail", fail_on="explode")
    holder = _hold(kernel, tone)
    scripts = [_script(1, 2), [*_script(2, 1), Segment(text="Render 2 line 1 will explode.")], _script(3, 2)]
    outcome: list[Any] = [None] * 3

    def run(n: int) -> None:
        try:
            outcome[n] = kernel.render(scripts[n], engine="tone", seed=3, batch_size=4).audio.samples
        except SegmentError as exc:
            outcome[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    _waiting(kernel, 6)
    tone.gate.set()
    for t in [*threads, holder]:
        t.join(30)
    assert any(len(b) > 1 and any("explode" in t for t in b) for b in tone.batches), tone.batches  # shared, failed
    error = outcome[1]
    assert isinstance(error, SegmentError) and "explode" in str(error) and error.index == 1
    good = _alone(tmp_path, [scripts[0], scripts[2]])
    np.testing.assert_array_equal(outcome[0], good[0])
    np.testing.assert_array_equal(outcome[2], good[1])
    # the failed render's segment before the bad one was made and kept
    assert kernel.render(scripts[1][:1], engine="tone", seed=3).stats.cached == 1


def test_a_short_render_waits_for_the_batch_in_progress_not_the_long_render(tmp_path) -> None:
    kernel, tone = _kernel(tmp_path, "fair", delay=0.1)
    long_script = _script(0, 40)  # ten batches of four
    t = threading.Thread(target=lambda: kernel.render(long_script, engine="tone", batch_size=4))
    t.start()
    deadline = time.monotonic() + 20
    while len(tone.batches) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    arrived = len(tone.batches)  # the batch in progress is number `arrived` (1-based)
    kernel.render([Segment(text="Short one.")], engine="tone", batch_size=4)
    t.join(60)
    where = next(n for n, b in enumerate(tone.batches, 1) if "Short one." in b)
    assert where <= arrived + 2, (where, arrived)  # the next batch (one more for thread start-up slack)
    assert len(tone.batches) > where  # the long render was still going


def test_a_lone_stream_makes_ahead_in_growing_batches_and_its_first_audio_waits_for_nobody(tmp_path) -> None:
    """One stream on an engine that batches: the first segment alone, then 2, then 4 (the batch
    size), and the same audio, in order, as a render one segment at a time."""
    kernel, tone = _kernel(tmp_path, "ahead")
    script = _script(1, 8)
    stream = kernel.stream(script, engine="tone", seed=3, batch_size=4)
    first = next(stream)
    assert tone.batches == [[script[0].text]]  # nothing made ahead before the first audio
    chunks = [first, *stream]
    assert [len(b) for b in tone.batches] == [1, 2, 4, 1]
    assert [t for b in tone.batches for t in b] == [s.text for s in script]
    (alone,) = _alone(tmp_path, [script])
    np.testing.assert_array_equal(Audio.concatenate(chunks, 16000).samples, alone)


def test_a_segment_made_ahead_that_fails_fails_the_stream_at_its_own_turn(tmp_path) -> None:
    """The stream gives every segment before the failed one (the one made beside it comes from
    the cache), then the error names the failed segment; nothing made is made again."""
    kernel, tone = _kernel(tmp_path, "ahead-fail", fail_on="explode")
    script = [*_script(1, 2), Segment(text="Render 1 line 2 will explode."), *_script(1, 2)]
    got: list[Audio] = []
    with pytest.raises(SegmentError) as caught:
        for chunk in kernel.stream(script, engine="tone", seed=3, batch_size=4):
            got.append(chunk)
    assert caught.value.index == 2 and "explode" in str(caught.value)
    assert tone.batches[:2] == [[script[0].text], [script[1].text, script[2].text]]  # made ahead, together
    assert len(got) == 2
    healthy, _ = _kernel(tmp_path, "ahead-healthy")
    reference = list(healthy.stream(script, engine="tone", seed=3, batch_size=1))[:2]
    for mine, theirs in zip(got, reference, strict=True):
        np.testing.assert_array_equal(mine.samples, theirs.samples)
    made = [t for b in tone.batches for t in b]
    assert made.count(script[1].text) == 2  # the shared batch, then alone to find the culprit; not a third time
