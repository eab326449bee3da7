"""The Welsh language pack: the template engine speaks cy with the pack's checkpoint, and only then."""

from __future__ import annotations

import numpy as np
import pytest
from polyvox_langpack_welsh import checkpoint

import polyvox
from polyvox.testing import EngineContract

BOTH = ["template", "langpack-welsh"]


@pytest.fixture
def kernel(tmp_path) -> polyvox.Kernel:
    return polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=BOTH)


def test_the_pack_is_a_plugin_without_an_engine(kernel):
    (info,) = [p for p in kernel.plugin_info() if p.name == "langpack-welsh"]
    assert info.hooks == ("map_language", "normalization_rules") and info.engines == ()
    assert info.distribution == "polyvox-langpack-welsh"


def test_welsh_is_spoken_with_the_packs_checkpoint(kernel):
    result = kernel.render("Bore da, sut mae?", language="welsh")  # no engine named: the planner finds it
    (segment,) = result.segments
    assert (segment.engine, segment.model, segment.language) == ("template", checkpoint(), "cy")
    assert result.audio.duration > 0.8 and result.audio.rms > 0.05
    english = kernel.synthesize("Bore da, sut mae?", engine="template", language="en")
    assert len(english) != len(result.audio) or not np.array_equal(english.samples, result.audio.samples)


def test_the_pack_changes_nothing_else(kernel):
    assert kernel.planner.model_for("template", "en") == "template-base"
    assert kernel.planner.model_for("piper", "cy") is None


def test_without_the_pack_welsh_is_refused(tmp_path):
    alone = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=["template"])
    with pytest.raises(polyvox.UnsupportedLanguageError, match="cy"):
        alone.synthesize("Bore da", language="cy")


class TestTemplateSpeaksWelshContract(EngineContract):
    """The whole contract again, speaking Welsh through the pack's checkpoint."""

    engine = "template"
    language = "cy"
    text = "Bore da, sut mae heddiw?"
    texts = ("Diolch.", "Mae hi'n braf iawn heddiw yng Nghymru.", "Nos da, bawb.")

    @pytest.fixture(scope="class")
    @classmethod
    def kernel(cls, tmp_path_factory: pytest.TempPathFactory) -> polyvox.Kernel:
        return polyvox.Kernel(cache_dir=tmp_path_factory.mktemp("cache"), plugins=BOTH)


def test_the_pack_normalizes_welsh(kernel):
    (job,) = kernel.plan("Mae 3 & 4, e.e. 25%.", language="welsh")
    assert job.request.text == "Mae tri a pedwar, er enghraifft pump ar hugain y cant."
    assert job.segment.text == "Mae 3 & 4, e.e. 25%."


def test_welsh_decimals_are_written_with_a_point(kernel):
    """Welsh writes 3.5 (pwynt) and groups thousands with commas, as English does."""
    (job,) = kernel.plan("Mae 3.5 a 1,500.", language="welsh")
    assert job.request.text == "Mae tri pwynt pump a mil pump cant."

