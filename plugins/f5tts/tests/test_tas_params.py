"""TTS Audio Suite's parameter names reach F5-TTS's own parameters (per engine, not global)."""

from __future__ import annotations


def test_cfg_in_a_script_sets_cfg_strength(kernel, voices) -> None:
    jobs = kernel.plan("[Ann|cfg:2.5|seed:7] Hello there.\n[Ann|cfg_weight:3] Again.", engine="f5tts",
                       voices={"Ann": voices["ann"]})
    speech = [j for j in jobs if j.request is not None]
    assert [j.request.params["cfg_strength"] for j in speech] == [2.5, 3.0]
    assert speech[0].request.seed == 7
    # ChatterBox's meaning of cfg is not forced on F5: no parameter was dropped.
    assert "cfg_weight" not in speech[0].request.params
