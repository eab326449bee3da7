"""ChatterBox against the engine contract kit (polyvox.testing), on the tiny checkpoint."""

from __future__ import annotations

import pytest

import polyvox

testing = pytest.importorskip("polyvox.testing")

from .conftest import FAST  # noqa: E402


class TestChatterBoxContract(testing.EngineContract):
    engine = "chatterbox"
    params = FAST
    text = "The quick brown fox."
    # FAST caps T3 at 10 speech tokens, which the tiny random weights always reach: a longer text
    # cannot give longer audio here (the length check is for the real weights).
    longer_text_factor = 0.0
    #: S3Gen's flow runs a batch as one padded pass: float noise, far below audible (see test_batch.py).
    batch_tolerance = 1e-4

    @pytest.fixture(scope="class")
    @classmethod
    def kernel(cls, kernel: polyvox.Kernel) -> polyvox.Kernel:
        # The session's kernel (conftest): S3Gen is full size even in the tiny checkpoint, so it loads once.
        return kernel

    @pytest.fixture(scope="class")
    @classmethod
    def voices(cls, voices: list[polyvox.Voice]) -> list[polyvox.Voice]:
        return voices
