"""Model manager and scheduler: one load per model, grouping, threads, batches, conditioning."""

from __future__ import annotations

import threading

import pytest
from conftest import ToneEngine

import polyvox
from polyvox.events import ModelLoaded, ModelUnloaded, SegmentFinished, Warning


def test_concurrent_requests_load_a_model_once(tmp_path):
    engine = ToneEngine(delay=0.2)
    kernel = polyvox.Kernel(cache=False)
    kernel.register(engine)
    errors = []

    def speak(i):
        try:
            kernel.synthesize(f"thread {i}", engine="tone")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=speak, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and engine.loads == 1 and kernel.models.loads == 1


def test_throughput_mode_loads_each_model_once_and_skips_cached_models(tmp_path):
    engine = ToneEngine()
    script = [polyvox.Segment(f"line {i}", model="large" if i % 2 else "base") for i in range(10)]
    kernel = polyvox.Kernel(cache_dir=tmp_path / "c")
    kernel.register(engine)
    result = kernel.render(script, engine="tone")
    assert result.stats.model_loads == 2 and engine.loads == 2
    # order: results come back in script order even though misses ran grouped by model
    assert [r.index for r in result.segments] == list(range(10))
    assert engine.calls == [f"line {i}" for i in range(0, 10, 2)] + [f"line {i}" for i in range(1, 10, 2)]
    # a new process-like kernel with only "base" lines changed: "large" is never loaded
    fresh = ToneEngine()
    kernel2 = polyvox.Kernel(cache_dir=tmp_path / "c")
    kernel2.register(fresh)
    changed = [polyvox.Segment(s.text + "!" if s.model == "base" else s.text, model=s.model) for s in script]
    again = kernel2.render(changed, engine="tone")
    assert again.stats.model_loads == 1 and again.stats.cached == 5


def test_lru_unloads_past_the_limit(tmp_path):
    events = []
    kernel = polyvox.Kernel(cache=False, max_models=1, on_event=events.append)
    kernel.register(ToneEngine())
    kernel.synthesize("a", engine="tone", model="base")
    kernel.synthesize("b", engine="tone", model="large")
    assert [type(e) for e in events if isinstance(e, (ModelLoaded, ModelUnloaded))] == [
        ModelLoaded, ModelLoaded, ModelUnloaded]
    assert kernel.models.loaded() == [("tone", "large", "auto")]
    assert kernel.unload_all() == 1 and kernel.models.loaded() == []


def test_memory_budget_unloads(tmp_path):
    class Sized(ToneEngine):
        def size(self, model):
            return 600

    kernel = polyvox.Kernel(cache=False, memory_budget=1000)
    kernel.register(Sized())
    kernel.synthesize("a", engine="tone", model="base")
    kernel.synthesize("b", engine="tone", model="large")
    assert kernel.models.loaded() == [("tone", "large", "auto")]


def test_voice_conditioning_prepared_once_per_voice_and_voice_params(tone_kernel, tone, tmp_path):
    script = [polyvox.Segment(f"segment number {i}") for i in range(20)]
    tone_kernel.render(script, engine="tone")
    assert tone.prepared == 1
    tone_kernel.render(script, engine="tone", params={"brightness": 0.9}, use_cache=False)
    assert tone.prepared == 2  # affects_voice parameter: new conditioning
    tone_kernel.render(script, engine="tone", params={"rate": 1.5}, use_cache=False)
    assert tone.prepared == 2  # a parameter that does not touch the voice reuses it


def test_interleaved_voices_equal_each_alone(tmp_path):
    from test_cache import write_voice

    a = polyvox.Voice(name="a", audio=write_voice(tmp_path / "a.wav", amplitude=0.1))
    b = polyvox.Voice(name="b", audio=write_voice(tmp_path / "b.wav", amplitude=0.3))
    lines = [polyvox.Segment(f"line {i}", character="A" if i % 2 else "B") for i in range(6)]
    kernel = polyvox.Kernel(cache=False)
    kernel.register(ToneEngine())
    mixed = kernel.render(lines, engine="tone", voices={"A": a, "B": b}, join=polyvox.JoinConfig("none"))
    for r in mixed.segments:
        alone = kernel.synthesize(r.segment.text, engine="tone", voice=a if r.segment.character == "A" else b)
        assert mixed.audio.slice(r.start, r.start + r.duration) == alone


def test_workers_only_for_thread_safe_engines(tmp_path):
    """The warning and the audio; that calls really overlap (or never do) is measured in
    test_concurrency.py."""
    warnings = []
    kernel = polyvox.Kernel(cache=False, on_event=lambda e: isinstance(e, Warning) and warnings.append(e))
    kernel.register(ToneEngine())
    result = kernel.render("a\nb\nc", engine="tone", workers=3)
    assert any("not thread-safe" in w.message for w in warnings)
    assert any("not thread-safe" in w for w in result.warnings)

    safe = ToneEngine(thread_safe=True, delay=0.05)
    kernel2 = polyvox.Kernel(cache=False)
    kernel2.register(safe)
    parallel = kernel2.render("a\nb\nc\nd", engine="tone", workers=4)
    sequential = kernel2.render("a\nb\nc\nd", engine="tone")
    assert parallel.audio == sequential.audio and not parallel.warnings


def test_batch_path_groups_by_voice_and_matches_single_calls(tmp_path):
    engine = ToneEngine(batch=True)
    kernel = polyvox.Kernel(cache=False)
    kernel.register(engine)
    text = "\n".join(f"{'x' * (i + 1)} line" for i in range(7))
    batched = kernel.render(text, engine="tone", batch_size=4)
    assert [c for c in engine.calls if c.startswith("batch")] == ["batch of 4", "batch of 3"]
    single = kernel.render(text, engine="tone")
    assert batched.audio == single.audio


def test_events_report_cache_hits_and_timings(tone_kernel):
    events = []
    tone_kernel.render("one\ntwo", engine="tone", on_event=events.append)
    tone_kernel.render("one\ntwo", engine="tone", on_event=events.append)
    finished = [e for e in events if isinstance(e, SegmentFinished)]
    assert [e.cached for e in finished] == [False, False, True, True]
    assert all(e.audio_seconds > 0 for e in finished)


@pytest.mark.parametrize("kind", ["thread_safe", "plain"])
def test_renders_from_many_threads_share_one_model(tmp_path, kind):
    engine = ToneEngine(thread_safe=kind == "thread_safe")
    kernel = polyvox.Kernel(cache_dir=tmp_path / "c")
    kernel.register(engine)
    results = {}

    def render(i):
        results[i] = kernel.render(f"shared line\nown line {i}", engine="tone").audio

    threads = [threading.Thread(target=render, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert engine.loads == 1 and len(results) == 4
    # each render's audio is what the same render gives alone (calls in flight: test_concurrency.py)
    for i, audio in results.items():
        alone = polyvox.Kernel(cache=False)
        alone.register(ToneEngine(thread_safe=kind == "thread_safe"))
        assert audio == alone.render(f"shared line\nown line {i}", engine="tone").audio


def test_rendering_to_a_file_keeps_threads_batches_and_model_grouping(tmp_path):
    engine = ToneEngine(batch=True)
    kernel = polyvox.Kernel(cache=False, max_models=1)
    kernel.register(engine)
    script = [polyvox.Segment(f"line {i}", model="large" if i % 2 else "base") for i in range(8)]
    in_memory = kernel.render(script, engine="tone", batch_size=4)
    calls = list(engine.calls)
    result = kernel.render(script, engine="tone", batch_size=4, output=tmp_path / "out.wav")
    assert result.audio is None and result.stats.model_loads == 2  # each model once, not per switch
    assert engine.calls[len(calls):] == calls  # the same batched calls as in memory
    assert polyvox.Audio.read(tmp_path / "out.wav").duration == pytest.approx(in_memory.audio.duration, abs=1e-3)


def test_a_line_repeated_in_one_render_is_synthesized_once(tone_kernel, tone):
    result = tone_kernel.render("Yes.\nNo.\nYes.\nYes.", engine="tone")
    assert tone.calls == ["Yes.", "No."]
    assert (result.stats.synthesized, result.stats.cached) == (2, 2)
    first, _, third, _ = result.segments
    assert result.audio.slice(first.start, first.start + first.duration) == \
        result.audio.slice(third.start, third.start + third.duration)


def test_listener_that_raises_does_not_fail_the_render(tone_kernel):
    def broken(event):
        raise ValueError("display broke")

    assert tone_kernel.render("still fine", engine="tone", on_event=broken).stats.synthesized == 1


def test_concurrent_renders_on_one_kernel_hear_only_their_own_events_and_warnings(tmp_path):
    kernel = polyvox.Kernel(cache=False)
    kernel.register(ToneEngine(delay=0.02))
    heard: dict[str, set[str]] = {"a": set(), "b": set()}
    results = {}

    def render(name: str, character: str) -> None:
        def listen(event):
            if isinstance(event, SegmentFinished):
                heard[name].add(event.text.split()[0])

        text = "\n".join(f"[{character}] {name}{i} words" for i in range(6))
        results[name] = kernel.render(text, engine="tone", on_event=listen)

    threads = [threading.Thread(target=render, args=args) for args in (("a", "Ann"), ("b", "Ben"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert heard["a"] == {f"a{i}" for i in range(6)} and heard["b"] == {f"b{i}" for i in range(6)}
    assert [w for w in results["a"].warnings if "unknown character" in w] == [
        "unknown character 'Ann': using the narrator's voice"]
    assert all("Ann" not in w for w in results["b"].warnings)


def _batch_calls(device: str, **render: object) -> tuple[list[str], int]:
    """The batch calls and all engine calls of a 7-line render by an engine declaring batch
    sizes per device; the audio equals the same render one segment at a time."""
    engine = ToneEngine(batch=True, batch_sizes={"cpu": 3, "cuda": 8})
    kernel = polyvox.Kernel(cache=False, device=device)
    kernel.register(engine)
    text = "\n".join(f"{'x' * (i + 1)} line" for i in range(7))
    audio = kernel.render(text, engine="tone", **render).audio
    calls = kernel.scheduler.calls
    assert audio == kernel.render(text, engine="tone", batch_size=1).audio
    return [c for c in engine.calls if c.startswith("batch")], calls


def test_an_engines_declared_batch_size_applies_on_its_device_unless_the_caller_sets_one():
    assert _batch_calls("cpu") == (["batch of 3", "batch of 3"], 3)  # and one single call
    assert _batch_calls("cuda:1") == (["batch of 7"], 1)  # cuda:N as cuda
    assert _batch_calls("mps") == ([], 7)  # nothing declared for the device: one at a time
    assert _batch_calls("auto") == ([], 7)
    assert _batch_calls("cuda", batch_size=1) == ([], 7)  # the caller's setting wins
    assert _batch_calls("cpu", batch_size=4) == (["batch of 4", "batch of 3"], 2)


def test_declared_batch_sizes_are_checked_and_cross_the_worker_protocol():
    import json

    from polyvox.isolation.protocol import decode_spec, encode_spec

    caps = polyvox.Capabilities(batch=True, batch_sizes={"cuda": 8, "cpu": 2})
    assert caps.batch_size_for("cuda:0") == 8 and caps.batch_size_for("cpu") == 2 and caps.batch_size_for("mps") == 1
    assert polyvox.Capabilities(batch_sizes={"cpu": 4}).batch_size_for("cpu") == 1  # no batch path: 1
    spec = ToneEngine(batch=True, batch_sizes={"cuda": 8, "cpu": 2}).spec()
    assert decode_spec(json.loads(json.dumps(encode_spec(spec)))) == spec
    for bad, words in (({"tpu": 4}, "device 'tpu'"), ({"cpu": 0}, "batch_sizes['cpu']=0"),
                       ({"cpu": True}, "batch_sizes['cpu']=True"), ({"cuda": 2.5}, "batch_sizes['cuda']=2.5"),
                       (8, "expected a mapping")):
        with pytest.raises(polyvox.PluginError, match=words.replace("[", r"\[").replace("]", r"\]")) as info:
            polyvox.Capabilities(batch=True, batch_sizes=bad)
        assert "\n" not in str(info.value)
    with pytest.raises(polyvox.ParameterError, match="batch_size=0 is not valid: expected 1 or more"):
        _batch_calls("cpu", batch_size=0)
