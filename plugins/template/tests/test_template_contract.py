"""The Template engine against the engine contract kit: every check of polyvox.testing."""

from __future__ import annotations

import pytest

import polyvox
from polyvox.testing import EngineContract, reference_voice


class TestTemplateContract(EngineContract):
    engine = "template"

    @pytest.fixture(scope="class")
    @classmethod
    def voices(cls, tmp_path_factory: pytest.TempPathFactory) -> list[polyvox.Voice]:
        folder = tmp_path_factory.mktemp("voices")
        return [reference_voice(folder, "low", 110.0), reference_voice(folder, "high", 220.0)]
