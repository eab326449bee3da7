"""Testing tools for engine plugins: the engine contract kit and helpers.

    from polyvox.testing import EngineContract

    class TestMyEngineContract(EngineContract):
        engine = "myengine"

        @pytest.fixture(scope="class")
        @classmethod
        def voices(cls):
            return [polyvox.Voice(name="a"), polyvox.Voice(name="b", params={"pitch": 3})]

pytest collects every check of `EngineContract` from the subclass. This package imports
pytest, so import it only from tests.
"""

from __future__ import annotations

from polyvox.testing.contract import EngineContract, assert_same_audio, call_engine, plan_requests, reference_voice
from polyvox.testing.sandbox import Sandbox

__all__ = ["EngineContract", "Sandbox", "assert_same_audio", "call_engine", "plan_requests",
           "reference_voice"]
