"""The smallest engine in docs/writing-plugins.md works as written: the block is taken from the
doc, loaded as a module and run through the contract kit."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest

import polyvox
from polyvox.testing import EngineContract, reference_voice

DOC = Path(__file__).resolve().parents[1] / "docs" / "writing-plugins.md"


def doc_engine_module() -> types.ModuleType:
    section = DOC.read_text(encoding="utf-8").split("## The smallest engine", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len(code.splitlines()) <= 45, "the smallest engine should stay about forty lines"
    module = types.ModuleType("beeps")
    exec(compile(code, str(DOC), "exec"), module.__dict__)
    return module


class TestSmallestEngineFromTheDocs(EngineContract):
    engine = "beeps"

    @pytest.fixture(scope="class")
    @classmethod
    def kernel(cls, tmp_path_factory: pytest.TempPathFactory) -> polyvox.Kernel:
        kernel = polyvox.Kernel(cache_dir=tmp_path_factory.mktemp("cache"), load_entry_points=False)
        kernel.register(doc_engine_module().plugin)
        return kernel

    @pytest.fixture(scope="class")
    @classmethod
    def voices(cls, tmp_path_factory: pytest.TempPathFactory) -> list[polyvox.Voice]:
        folder = tmp_path_factory.mktemp("voices")
        return [reference_voice(folder, "low", 110.0), reference_voice(folder, "high", 220.0)]


def test_the_doc_engine_speaks_its_text() -> None:
    kernel = polyvox.Kernel(cache=False, load_entry_points=False)
    kernel.register(doc_engine_module().plugin)
    short, long = kernel.synthesize("abc", engine="beeps"), kernel.synthesize("abcabcabc", engine="beeps")
    assert short.sample_rate == 16000
    assert long.duration == pytest.approx(3 * short.duration, rel=0.01)
    assert kernel.synthesize("xyz", engine="beeps") != short
