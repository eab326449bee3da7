"""render --verify: takes heard beside synthesis, failures retaken with new seeds, the verdicts
cached with the takes. Real speech (Piper's voice through an engine that drops a word for some
seeds) heard by the real listener (polyvox-whisper, tiny.en)."""

from __future__ import annotations

import numpy as np
import pytest
from listenkit import QUIET, Recorder, Sloppy

import polyvox
from polyvox.listen.verify import VerifyError

#: Four lines; with the default seed 42 the engine drops a word from those whose length is not
#: a multiple of 3, so their first takes fail.
LINES = ["The old man walked slowly to the river bank.",
         "My sister bought seven red apples at the market.",
         "We sat by the fire and told long stories.",
         "The children played in the garden all afternoon."]
SCRIPT = "\n".join(LINES)
FAILING = tuple(i for i, line in enumerate(LINES) if Sloppy.drops(line, 42))
PASSING = tuple(i for i in range(len(LINES)) if i not in FAILING)


def test_the_script_has_takes_that_fail_and_takes_that_pass() -> None:
    """The premise of the tests below."""
    assert FAILING and PASSING


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> tuple[polyvox.Kernel, Sloppy]:
    kernel = polyvox.Kernel(cache_dir=tmp_path_factory.mktemp("verify-cache"))
    engine = Sloppy()
    kernel.register(engine)
    return kernel, engine


def _render(kernel: polyvox.Kernel, **verify: object) -> tuple[polyvox.RenderResult, Recorder]:
    events = Recorder()
    options = polyvox.VerifyOptions(**verify) if verify else None  # type: ignore[arg-type]
    result = kernel.render(SCRIPT, engine="sloppy", params=QUIET, verify=options, on_event=events)
    return result, events


def test_verify_retakes_the_failures_and_a_second_run_neither_synthesizes_nor_listens(story) -> None:
    kernel, engine = story

    # 1. Without verification: every segment once, whatever it said.
    plain, _ = _render(kernel)
    assert len(engine.calls) == 4 and plain.verification is None

    # 2. Heard, no retakes: the cached takes are heard (nothing synthesized); the ones with a
    #    dropped word fail, with a high word error rate.
    heard_before = kernel.hearing.calls
    checked, events = _render(kernel, retakes=0)
    report = checked.verification
    assert len(engine.calls) == 4 and kernel.hearing.calls - heard_before == 4
    assert report.failing == FAILING, [s.verdict.heard for s in report.segments]
    assert all(report.segments[i].verdict.deletions >= 1 for i in FAILING)
    assert report.worst_wer >= 0.1 and report.retaken == 0
    assert len(events.of("SegmentHeard")) == 4 and not events.of("SegmentRetaken")

    # 3. --retake-failed --retakes 4: only the failures are made again, each with the seeds after
    #    the ones tried, until a take passes; the passing segment is neither made nor heard.
    calls, heard_before = len(engine.calls), kernel.hearing.calls
    fixed, events = _render(kernel, retakes=4, retake_failed=True)
    report = fixed.verification
    assert report.failing == () and report.retaken == len(FAILING)
    made = engine.calls[calls:]
    assert {text for text, _ in made} == {LINES[i] for i in FAILING}
    assert kernel.hearing.calls - heard_before == len(made) == len(events.of("SegmentHeard"))
    retaken = events.of("SegmentRetaken")
    assert len(retaken) == len(made) and all(e.seed > 42 for e in retaken)
    for index in FAILING:  # every take's verdict is kept: the failing first take and the retakes
        takes = report.segments[index].takes
        assert len(takes) >= 2 and not takes[0].verdict.passed and takes[report.segments[index].chosen].verdict.passed
        assert [t.seed for t in takes] == sorted(t.seed for t in takes)
    assert all(len(report.segments[i].takes) == 1 and report.segments[i].heard == 0 for i in PASSING)

    # 4. Again: every chosen take comes from the cache, unheard, and the audio is the same.
    calls, heard_before = len(engine.calls), kernel.hearing.calls
    again, events = _render(kernel, retakes=4)
    assert len(engine.calls) == calls and kernel.hearing.calls == heard_before
    assert again.verification.heard == 0 and again.verification.failing == ()
    assert [len(s.takes) for s in again.verification.segments] == [len(s.takes) for s in report.segments]
    assert np.array_equal(again.audio.samples, fixed.audio.samples)
    assert again.stats.synthesized == 0 and not events.of("SegmentHeard")
    assert kernel.cache.verify().bad == ()  # the takes records are entries polyvox knows


def test_a_listener_on_the_cpu_holds_its_cores_while_the_render_runs(monkeypatch, tmp_path) -> None:
    """whisper hears on the CPU: from its first hearing to the render's end, an engine sees one
    core fewer (`polyvox.cores`), so Piper leaves the listener its core; a plain render and the
    time after a verified one see them all."""
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # as on a 2-core machine, whatever this one has
    kernel = polyvox.Kernel(cache=False)
    engine = Sloppy()
    kernel.register(engine)
    kernel.render(SCRIPT, engine="sloppy", params=QUIET)
    assert engine.cores == [2, 2, 2, 2]
    engine.cores.clear()
    kernel.render(SCRIPT, engine="sloppy", params=QUIET, verify=polyvox.VerifyOptions(retakes=0))
    # Segments 0 and 1 are made before the first verdict (two takes ahead); 2 and 3 after it.
    assert engine.cores[2:] == [1, 1] and set(engine.cores) <= {1, 2}
    assert polyvox.cores.available() == 2


def test_strict_makes_a_segment_that_still_fails_an_error(story) -> None:
    kernel, _ = story
    line = LINES[FAILING[0]]
    seed = next(s for s in range(100, 110) if Sloppy.drops(line, s))  # a take not heard before: it drops a word
    with pytest.raises(VerifyError, match=r"^1 segment\(s\) still fail verification after their retakes: 0 "
                                          r"\(words; heard"):
        kernel.render(line, engine="sloppy", params=QUIET, seed=seed, strict=True,
                      verify=polyvox.VerifyOptions(retakes=0))


def test_an_unseeded_engine_is_retaken_with_a_warning_once(tmp_path) -> None:
    """Piper takes no seed: its failing takes are still retaken (its noise makes each new), and
    the render says once that those retakes cannot be made again from a seed."""
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    result = kernel.render("Zyzzyva quorble flimbat.\nBlorvex snargle trimp.", engine="piper",
                           verify=polyvox.VerifyOptions(retakes=1))
    assert result.verification.retaken == 2 and len(result.verification.failing) >= 1
    unseeded = [w for w in result.warnings if "takes no seed" in w]
    assert len(unseeded) == 1 and "'piper'" in unseeded[0]


def test_verify_without_a_listener_or_with_an_unknown_one_is_one_line() -> None:
    kernel = polyvox.Kernel(cache=False, plugins=["piper"])
    with pytest.raises(polyvox.PolyvoxError, match="no listener is installed.*polyvox install whisper"):
        kernel.render("Hello.", verify=True)
    with pytest.raises(polyvox.PolyvoxError, match=r"listener 'ears' is not installed \(installed: whisper\)"):
        polyvox.Kernel(cache=False).render("Hello.", verify="ears")
    with pytest.raises(polyvox.ParameterError, match="retakes=-1"):
        polyvox.VerifyOptions(retakes=-1)
    with pytest.raises(polyvox.ParameterError, match="max_wer=2"):
        polyvox.VerifyOptions(max_wer=2)


def test_an_engine_that_makes_the_same_take_for_every_seed_is_not_retaken_in_vain(tmp_path) -> None:
    """hibari (and Piper with its noise off) give the same audio whatever the seed: every retake
    was synthesized and heard again for the same verdict."""
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    result = kernel.render("Zyzzyva quorble flimbat.", engine="piper", params=QUIET,
                           verify=polyvox.VerifyOptions(retakes=3))
    assert result.verification.retaken == 1 and len(result.verification.failing) == 1
    assert any("made the same audio with another seed" in w for w in result.warnings)
