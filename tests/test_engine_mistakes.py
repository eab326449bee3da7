"""What a new engine's author gets wrong first, and what polyvox says about it (docs/writing-
plugins.md): audio shaped as torch gives it, errors raised the obvious way, word times that are
not `WordTime`s, a plugin that does not load. Each is the audio meant, or one line naming the
engine and what to change; never a traceback from inside the kernel."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import ToneEngine

import polyvox
from polyvox import Audio


class Mistaken(ToneEngine):
    """The tone engine, answering as a plugin with one mistake does."""

    def __init__(self, mistake: str):
        super().__init__(name="mistaken")
        self.mistake = mistake

    def synthesize(self, model: Any, request: Any, conditioning: Any) -> Audio:
        tone = super().synthesize(model, request, conditioning)
        if self.mistake == "channels-first":  # a torch tensor's (channels, frames), as numpy
            return Audio(tone.samples[None, :], tone.sample_rate)
        if self.mistake == "stereo-first":
            return Audio(np.stack([tone.samples, tone.samples]), tone.sample_rate)
        if self.mistake == "segment-error":
            raise polyvox.SegmentError("the text has a letter this voice cannot say")
        if self.mistake == "multi-line":
            raise RuntimeError("CUDA out of memory.\nTried to allocate 2.00 GiB\n(GPU 0; 7.79 GiB total)")
        if self.mistake == "empty":
            return Audio(np.zeros(0, np.float32), tone.sample_rate)
        if self.mistake == "int16":  # PCM as many libraries give it
            return Audio((tone.samples * 32767).astype(np.int16), tone.sample_rate)
        if self.mistake == "int16-as-float":  # the same numbers, cast to float without scaling
            return Audio((tone.samples * 32767).astype(np.int16).astype(np.float32), tone.sample_rate)
        if self.mistake == "tuple-words":
            return Audio(tone.samples, tone.sample_rate, words=[("Hello", 0.0, 0.1)])
        return tone


def render(mistake: str, tmp_path) -> polyvox.RenderResult:
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=["piper"])
    kernel.register(Mistaken(mistake))
    return kernel.render("Hello there.", engine="mistaken")


@pytest.mark.parametrize("mistake", ["channels-first", "stereo-first"])
def test_audio_with_the_channels_first_is_the_audio_meant(mistake, tmp_path):
    made = render(mistake, tmp_path)
    plain = render("none", tmp_path / "plain")
    assert len(made.audio) == len(plain.audio) > 1000  # not one sample per channel
    assert np.array_equal(made.audio.samples, plain.audio.samples)


def test_int16_audio_is_scaled_to_full_scale_and_int16_numbers_as_float_are_refused(tmp_path):
    """An engine that hands over int16 PCM means full scale at 32767 (it became samples 30,000
    times too loud, cached and clipped to a square wave); the same numbers cast to float are
    named as the mistake instead of rendered."""
    made, plain = render("int16", tmp_path), render("none", tmp_path / "plain")
    assert np.allclose(made.audio.samples, plain.audio.samples, atol=1e-4)
    assert 0.1 < np.abs(made.audio.samples).max() <= 1.0
    with pytest.raises(polyvox.SegmentError, match=r"engine 'mistaken' returned samples up to \d{4,5}, where full "
                                                   r"scale is 1\.0"):
        render("int16-as-float", tmp_path / "float")


def test_an_engine_may_raise_a_segment_error_with_a_message_alone(tmp_path):
    with pytest.raises(polyvox.SegmentError) as caught:
        render("segment-error", tmp_path)
    message = str(caught.value)
    assert "engine 'mistaken'" in message and "the text has a letter this voice cannot say" in message
    assert "TypeError" not in message and caught.value.index == 0


def test_an_engines_error_of_several_lines_is_told_in_one(tmp_path):
    with pytest.raises(polyvox.SegmentError) as caught:
        render("multi-line", tmp_path)
    assert "\n" not in str(caught.value)
    assert "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total)" in str(caught.value)


def test_word_times_that_are_not_word_time_records_name_the_engine(tmp_path):
    with pytest.raises(polyvox.PolyvoxError, match=r"engine 'mistaken' returned a word time as tuple.*WordTime"):
        render("tuple-words", tmp_path)


class Broken:
    """A plugin whose engine declaration raises (a typo in its spec)."""

    @polyvox.hookimpl
    def register_engines(self, register: Any) -> None:
        raise ValueError("spec exploded")


def test_an_engine_whose_plugin_failed_to_load_says_why_not_install_it(tmp_path):
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=["piper"])
    kernel.register(Broken(), name="chirp")
    with pytest.raises(polyvox.UnknownEngineError) as caught:
        kernel.render("Hello.", engine="chirp")
    message = str(caught.value)
    assert "plugin failed to load: ValueError: spec exploded" in message and "polyvox install" not in message


def test_an_engine_that_returns_no_audio_for_words_is_blamed_not_the_text(tmp_path):
    with pytest.raises(polyvox.EmptyTextError) as caught:
        render("empty", tmp_path)
    assert "engine mistaken returned no audio for 'Hello there.'" in str(caught.value)
    assert "give it words" not in str(caught.value)


@pytest.mark.parametrize(("field", "value", "said"), [
    ("languages", "en", None),  # a lone name is one language, not its letters ("e", "n")
    ("sample_rate", 22050.5, "sample_rate=22050.5: expected a whole number"),
    ("sample_rate", "22050", "sample_rate='22050': expected a whole number"),
    ("max_chars", float("inf"), "max_chars=inf: expected a whole number"),
    ("capabilities", {"batch": True}, "expected a polyvox.Capabilities"),
    ("priority", "5", "priority='5': expected a whole number"),
    ("default_model", None, "default_model=None: expected a model's name"),
])
def test_a_spec_declared_wrong_is_refused_where_it_is_built(field, value, said):
    """languages="en" became ('e', 'n') ("does not speak 'en'; it speaks: e, n"); a fractional
    rate, an endless max_chars or capabilities as a dict failed renders later, or with Python's
    own errors ("'dict' object has no attribute 'normalizes'")."""
    given = {"name": "x", "sample_rate": 16000, "languages": ("en",), "default_model": "m", field: value}
    if said is None:
        assert polyvox.EngineSpec(**given).languages == ("en",)
        return
    with pytest.raises(polyvox.PluginError, match=said.replace("(", r"\(").replace(".", r"\.")):
        polyvox.EngineSpec(**given)


def test_a_synthesize_hook_without_hookimpl_is_hinted(tmp_path):
    class Unhooked(ToneEngine):
        def synthesize(self, model: Any, request: Any, conditioning: Any) -> Any:
            return None  # what pluggy gives back when no implementation answers

    kernel = polyvox.Kernel(cache=False, load_entry_points=False)
    kernel.register(Unhooked(name="unhooked"))
    with pytest.raises(polyvox.PolyvoxError, match="carry @hookimpl"):
        kernel.render("Hello.", engine="unhooked")
