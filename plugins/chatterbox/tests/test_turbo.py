"""ChatterBox Turbo (GPT-2 backbone, distilled decoder) from ``DIR/turbo``."""

from __future__ import annotations

import pytest

import polyvox
from polyvox.testing import differ

from . import tiny
from .conftest import FAST

TURBO = {**FAST, "model": "turbo"}


@pytest.fixture(scope="module")
def turbo(kernel: polyvox.Kernel, request: pytest.FixtureRequest) -> polyvox.Kernel:
    # S3Gen is full size in every tiny checkpoint: free the other two models before building
    # and loading Turbo's (peak memory).
    kernel.unload_all()
    request.getfixturevalue("turbo_dir")
    return kernel


@pytest.fixture(scope="module")
def long_voice(tmp_path_factory: pytest.TempPathFactory) -> polyvox.Voice:
    path = tmp_path_factory.mktemp("turbo-voice") / "long.wav"
    return polyvox.Voice(name="long", audio=tiny.write_voice(path, 130.0, 16000, seconds=5.5))


def test_turbo_speaks_with_its_builtin_voice_and_is_seeded(turbo: polyvox.Kernel,
                                                           capfd: pytest.CaptureFixture) -> None:
    first = turbo.synthesize("Turbo speaking.", engine="chatterbox", seed=5, use_cache=False, **TURBO)
    assert first.sample_rate == 24000 and first.duration > 0
    assert turbo.synthesize("Turbo speaking.", engine="chatterbox", seed=5, use_cache=False, **TURBO) == first
    assert turbo.synthesize("Turbo speaking.", engine="chatterbox", seed=6, use_cache=False, **TURBO) != first
    assert capfd.readouterr().out == "", "upstream's prints must not reach stdout (audio may be streamed there)"


def test_turbo_reference_voice(turbo: polyvox.Kernel, long_voice: polyvox.Voice) -> None:
    audio = turbo.synthesize("Cloned.", engine="chatterbox", voice=long_voice, seed=5, use_cache=False, **TURBO)
    builtin = turbo.synthesize("Cloned.", engine="chatterbox", seed=5, use_cache=False, **TURBO)
    assert audio.duration >= 0.1 and audio.rms > 1e-3
    assert differ(audio, builtin), "Turbo gave the same audio with and without the reference voice"


def test_turbo_refuses_short_references_and_other_languages(turbo: polyvox.Kernel,
                                                            voices: list[polyvox.Voice]) -> None:
    with pytest.raises(polyvox.SegmentError, match="more than 5 s"):
        turbo.synthesize("Too short.", engine="chatterbox", voice=voices[0], **TURBO)
    with pytest.raises(polyvox.SegmentError, match="English only"):
        turbo.synthesize("Guten Tag.", engine="chatterbox", language="de", **TURBO)
