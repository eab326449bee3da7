"""Testing tools for engine plugins: the engine contract kit and helpers.

    from polyvox.testing import EngineContract

    class TestMyEngineContract(EngineContract):
        engine = "myengine"

pytest collects every check of `EngineContract` from the subclass, which speaks with two
reference voices of the kit's own unless it overrides the `voices` fixture. This package imports
pytest, so import it only from tests.
"""

from __future__ import annotations

from polyvox.testing.calls import assert_same_audio, call_engine, differ, plan_requests, reference_voice
from polyvox.testing.contract import EngineContract
from polyvox.testing.sandbox import Sandbox

__all__ = ["EngineContract", "Sandbox", "assert_same_audio", "call_engine", "differ", "plan_requests",
           "reference_voice"]
