"""Testing tools for plugins: the engine and listener contract kits and helpers.

    from polyvox.testing import EngineContract

    class TestMyEngineContract(EngineContract):
        engine = "myengine"

pytest collects every check of `EngineContract` from the subclass, which speaks with two
reference voices of the kit's own unless it overrides the `voices` fixture; `ListenerContract`
(``listener = "whisper:tiny.en"``) hears Piper's real speech. This package imports
pytest, so import it only from tests.
"""

from __future__ import annotations

from polyvox.testing.calls import assert_same_audio, call_engine, differ, plan_requests, reference_voice
from polyvox.testing.contract import EngineContract
from polyvox.testing.listener_contract import ListenerContract
from polyvox.testing.sandbox import Sandbox

__all__ = ["EngineContract", "ListenerContract", "Sandbox", "assert_same_audio", "call_engine", "differ",
           "plan_requests", "reference_voice"]
