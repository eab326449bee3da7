"""The Ray executor on a local Ray started by these tests (127.0.0.1, 2 CPUs, no dashboard,
no usage reporting): renders equal in-process ones, each model loads once per replica,
cache hits are never sent, a replica killed mid-render loses nothing, a failing segment is
named, cancellation keeps what finished."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest
import soundfile as sf

import polyvox
from polyvox import Voice
from polyvox.errors import Cancelled, SegmentError
from polyvox.events import CancelToken, SegmentFinished

ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'polyvox[ray]' (make test installs it)")

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("local_ray")]

QUIET = {"noise_scale": 0.0, "noise_w_scale": 0.0}
LINES = "\n".join(f"Line number {n} is spoken by the template engine." for n in range(10))


def _kernel(tmp_path, executor=None, cache=True) -> polyvox.Kernel:
    return polyvox.Kernel(cache_dir=tmp_path / "cache", cache=cache, executor=executor)


def _reference(script: str, **kwargs) -> polyvox.Audio:
    return polyvox.Kernel(cache=False).render(script, **kwargs).audio


def _same(a: polyvox.Audio, b: polyvox.Audio) -> None:
    assert a.sample_rate == b.sample_rate
    assert len(a.samples) == len(b.samples) and len(a.samples) > 16000
    assert np.array_equal(a.samples, b.samples)


def test_two_engines_on_replicas_equal_the_local_render_and_load_each_model_once_per_replica(tmp_path, executors,
                                                                                           monkeypatch):
    voices = {"Robot": Voice(name="Robot", engine="template", model="template-base")}
    narrator = Voice(name="narrator", params=QUIET)
    script = "\n".join(["Hello there.", "[Robot] I am a robot.", "And back to me.", "[Robot] Beep boop.",
                        "The end of the story.", "[Robot] Goodbye now."])
    executor = executors(replicas=2, num_cpus=0.5)  # 4 replicas on 2 CPUs
    kernel = _kernel(tmp_path, executor, cache=False)
    result = kernel.render(script, voices=voices, voice=narrator)
    # Each replica's Piper runs on the one thread its CPU share gives it; the local render,
    # limited the same way, sums in the same order: equal sample for sample.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    _same(result.audio, _reference(script, voices=voices, voice=narrator))
    # replicas x distinct models, each replica one load and some of the work
    assert result.stats.model_loads == 2 * 2
    info = executor.replica_info()
    assert sorted(i["key"][0] for i in info) == ["piper", "piper", "template", "template"]
    assert all(i["loads"] == 1 and i["calls"] >= 1 and i["threads"] == "1" for i in info)
    assert len({i["pid"] for i in info}) == 4  # each in its own process
    assert sum(i["voice_preparations"] for i in info) == 4  # once per replica and voice
    # a second render reuses the loaded replicas: no load at all
    again = kernel.render(script, voices=voices, voice=narrator)
    assert again.stats.model_loads == 0


def test_a_checkpoint_replaced_between_renders_is_loaded_again_on_the_replica(tmp_path, executors):
    """The driver sends the content it planned with: a replica outlives renders, and with
    the model's name alone it would speak the old checkpoint's audio under the new one's keys."""
    checkpoint = tmp_path / "voice.json"
    base = json.loads(resources.files("polyvox_template").joinpath("base.json").read_text())
    checkpoint.write_text(json.dumps(base))
    kernel = _kernel(tmp_path, executors(replicas=1))
    line = "One checkpoint, then another at the same path."
    first = kernel.render(line, engine="template", model=str(checkpoint))
    assert first.stats.model_loads == 1
    checkpoint.write_text(json.dumps({**base, "f0": 185.25}))  # another voice, another size
    second = kernel.render(line, engine="template", model=str(checkpoint))
    assert second.stats.synthesized == 1
    assert not np.array_equal(first.audio.samples, second.audio.samples)
    _same(second.audio, _reference(line, engine="template", model=str(checkpoint)))
    assert second.stats.model_loads == 1


def test_cache_hits_never_leave_the_driver_and_results_are_cached(tmp_path, executors):
    executor = executors(replicas=2)
    kernel = _kernel(tmp_path, executor)
    first = kernel.render(LINES, engine="template")
    assert executor.dispatched == 10 and first.stats.synthesized == 10
    more = LINES + "\nA new line at the end.\nAnd one more."
    second = kernel.render(more, engine="template")
    assert executor.dispatched == 12  # only the two new lines were sent
    assert second.stats.cached == 10 and second.stats.synthesized == 2
    _same(second.audio, _reference(more, engine="template"))


def test_streaming_yields_script_order_and_batches_go_to_batch_engines(tmp_path, executors):
    executor = executors(replicas=2, batch_size=4)
    kernel = _kernel(tmp_path, executor, cache=False)
    chunks = list(kernel.stream(LINES, engine="template"))
    _same(polyvox.Audio.concatenate(chunks), _reference(LINES, engine="template"))
    calls = sum(i["calls"] for i in executor.replica_info())
    assert calls == 3  # 10 segments of one voice in batches of 4


def test_a_replica_killed_mid_render_is_replaced_and_nothing_is_lost(tmp_path, executors):
    executor = executors(replicas=2, in_flight=1)
    kernel = _kernel(tmp_path, executor)
    killed = []

    def kill_one(event) -> None:
        if isinstance(event, SegmentFinished) and not event.cached and not killed:
            victim = executor.pool.actors()[0]
            killed.append(ray.get(victim.info.remote())["pid"])
            ray.kill(victim)

    result = kernel.render(LINES, engine="template", on_event=kill_one)
    assert killed and executor.retries >= 1 and executor.pool.replaced == 1
    _same(result.audio, _reference(LINES, engine="template"))
    assert killed[0] not in {i["pid"] for i in executor.replica_info()}
    assert result.stats.model_loads == 3  # two replicas, then the replacement
    again = kernel.render(LINES, engine="template")
    assert again.stats.synthesized == 0  # every segment was committed as it arrived


def test_retries_are_bounded(tmp_path, executors):
    executor = executors(replicas=1, in_flight=1, max_retries=0)
    kernel = _kernel(tmp_path, executor, cache=False)

    def kill(event) -> None:
        if isinstance(event, SegmentFinished):
            for actor in executor.pool.actors():
                ray.kill(actor)

    with pytest.raises(polyvox.PolyvoxError, match=r"segment 1 .* was lost 1 times with its template replica"):
        kernel.render(LINES, engine="template", on_event=kill)


def test_a_failing_segment_is_named_and_the_finished_ones_are_kept(tmp_path, executors):
    t = np.arange(16000) / 16000
    reference = tmp_path / "alice.wav"
    sf.write(reference, 0.5 * np.sin(2 * np.pi * 150 * t), 16000)
    voices = {"Alice": Voice(name="Alice", audio=reference)}
    script = "The narrator speaks first.\n[Alice] Then Alice speaks.\nThe narrator again."
    executor = executors(replicas=1, in_flight=1)
    kernel = _kernel(tmp_path, executor)
    stream = kernel.stream(script, engine="template", voices=voices)  # planned: the voice is read
    sf.write(reference, np.zeros(16000), 16000)  # ... and silent by the time the replica prepares it
    with pytest.raises(SegmentError, match=r"segment 1 \(Alice: 'Then Alice speaks.'\) failed in engine "
                                           r"'template': reference audio .* is silent") as caught:
        list(stream)
    assert caught.value.index == 1
    plan = kernel.plan(script, engine="template", voices={"Alice": Voice(name="Alice")})
    assert kernel.cache.get(plan[0].key) is not None  # finished before the failure: kept


def test_calls_in_flight_when_a_segment_fails_are_still_cached(tmp_path, executors):
    t = np.arange(16000) / 16000
    reference = tmp_path / "alice.wav"
    sf.write(reference, 0.5 * np.sin(2 * np.pi * 150 * t), 16000)
    script = "[Alice] Alice speaks first.\nThe narrator is already on its way."
    executor = executors(replicas=1, in_flight=2)  # both calls sent before the first answer
    kernel = _kernel(tmp_path, executor)
    stream = kernel.stream(script, engine="template", voices={"Alice": Voice(name="Alice", audio=reference)})
    sf.write(reference, np.zeros(16000), 16000)
    with pytest.raises(SegmentError, match=r"segment 0 \(Alice"):
        list(stream)
    narrator = kernel.plan(script, engine="template", voices={"Alice": Voice(name="Alice")})[1]
    assert kernel.cache.get(narrator.key) is not None


def test_cancel_stops_and_keeps_the_finished_segments(tmp_path, executors):
    executor = executors(replicas=1, in_flight=1)
    kernel = _kernel(tmp_path, executor)
    token = CancelToken()

    def cancel_after_two(event) -> None:
        if isinstance(event, SegmentFinished) and event.index >= 1:
            token.cancel()

    with pytest.raises(Cancelled) as caught:
        kernel.render(LINES, engine="template", cancel=token, on_event=cancel_after_two)
    assert 2 <= caught.value.finished < 10
    again = kernel.render(LINES, engine="template")
    assert again.stats.cached >= caught.value.finished


def test_cli_render_with_the_ray_executor(tmp_path):
    from click.testing import CliRunner

    from polyvox.cli import cli

    script = tmp_path / "lines.txt"
    script.write_text(LINES)
    out = tmp_path / "out.wav"
    from polyvox.cli import render

    try:
        run = CliRunner().invoke(cli, ["--cache-dir", str(tmp_path / "c"), "render", str(script), "-o", str(out),
                                        "--engine", "template", "--executor", "ray"])
    finally:  # the CLI keeps its kernel (and so its replicas) for the process: stop them
        for kernel in render._KERNELS.values():
            if kernel.scheduler.executor is not None:
                kernel.scheduler.executor.shutdown()
    assert run.exit_code == 0, run.output
    audio = polyvox.Audio.read(out)
    reference = _reference(LINES, engine="template")
    assert abs(len(audio.samples) - len(reference.samples)) == 0
    assert np.max(np.abs(audio.samples - reference.samples)) < 1e-3  # through a 16-bit WAV


def test_an_engine_registered_in_process_is_refused_before_anything_starts(tmp_path, executors):
    from conftest import ToneEngine

    executor = executors()
    kernel = _kernel(tmp_path, executor)
    kernel.register(ToneEngine(), name="tone-plugin")
    with pytest.raises(polyvox.PolyvoxError, match=r"^engine 'tone' comes from plugin 'tone-plugin', registered in "
                                                   r"this process, not installed with an entry point"):
        kernel.render("Hello.", engine="tone")
    assert executor.pool.actors() == [] and executor.dispatched == 0
