"""Listener plugins beside engines: declared through their own hook, refused on a clash of names
or a broken declaration (the rest keep working), heard at the rate they declare, checked."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import polyvox


class Ears(polyvox.Listener):
    """A listener that hears what it is told to, and records what it was given."""

    def __init__(self, name: str = "ears", rate: int = 8000, answer: Any = None):
        self.name = name
        self.rate = rate
        self.answer = answer
        self.given: list[tuple[int, int, str | None]] = []
        self.loads = 0

    def spec(self) -> polyvox.ListenerSpec:
        return polyvox.ListenerSpec(name=self.name, sample_rate=self.rate, default_model="base",
                                    models={"base": ("en",), "multi": ("*",)})

    def load(self, model: str, device: str) -> Any:
        self.loads += 1
        return {"model": model}

    def transcribe(self, model: Any, audio: polyvox.Audio, language: str | None) -> polyvox.Heard:
        self.given.append((audio.sample_rate, len(audio.samples), language))
        if self.answer is not None:
            return self.answer
        return polyvox.Heard(words=[polyvox.Word("hello", 0.1, 0.4, 0.9)], text="hello", language="en")


def test_a_listener_is_declared_heard_at_its_rate_and_loaded_once() -> None:
    kernel = polyvox.Kernel(cache=False, plugins=["piper"])
    ears = Ears()
    kernel.register(ears)
    assert [s.name for s in kernel.listeners()] == ["ears"] and "ears" not in [e.name for e in kernel.engines()]
    one_second = polyvox.Audio(np.zeros(22050, np.float32), 22050)
    heard = kernel.listen(one_second, language="English")
    heard_again = kernel.listen(one_second, listener="ears:base")
    assert heard.text == "hello" and heard_again.words[0].end == 0.4
    assert ears.given == [(8000, 8000, "en"), (8000, 8000, None)] and ears.loads == 1
    info = [p for p in kernel.plugin_info() if p.listeners]
    assert len(info) == 1 and info[0].listeners == ("ears",) and "hear" in info[0].hooks


def test_a_listener_named_like_an_engine_is_refused_and_the_engine_stays() -> None:
    kernel = polyvox.Kernel(cache=False, plugins=["piper"])
    kernel.register(Ears(name="piper"), name="clash")
    failed = {f.name: f for f in kernel.failures}
    assert "listener 'piper': the name is already declared by plugin 'piper'" in failed["clash"].error
    assert "piper" in [e.name for e in kernel.engines()] and kernel.listeners() == []


def test_a_listener_that_returns_no_heard_record_is_a_plugin_error() -> None:
    kernel = polyvox.Kernel(cache=False, plugins=[])
    kernel.register(Ears(answer="hello"))
    with pytest.raises(polyvox.PluginError, match="listener 'ears' returned str instead of Heard"):
        kernel.listen(polyvox.Audio(np.zeros(800, np.float32), 8000))


def test_records_refuse_what_cannot_be_true() -> None:
    with pytest.raises(polyvox.PluginError, match="ends"):
        polyvox.Word("x", 1.0, 0.5)
    with pytest.raises(polyvox.PluginError, match="default_model 'big' is not one of"):
        polyvox.ListenerSpec(name="x", sample_rate=16000, default_model="big", models={"base": ("en",)})
    spec = Ears().spec()
    assert spec.multilingual("multi") and not spec.multilingual("base")
    assert spec.hears("base", "en-us") and not spec.hears("base", "de") and spec.hears("/some/folder", "de")
