"""The Template engine against the engine contract kit: every check of polyvox.testing, spoken
with the kit's two reference voices."""

from __future__ import annotations

from polyvox.testing import EngineContract


class TestTemplateContract(EngineContract):
    engine = "template"
