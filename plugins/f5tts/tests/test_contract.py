"""F5-TTS against the engine contract kit, on the tiny random-weight model built in conftest."""

from __future__ import annotations

import pytest

import polyvox

testing = pytest.importorskip("polyvox.testing")


class TestF5TTSContract(testing.EngineContract):
    engine = "f5tts"
    params = {"nfe_step": 4}
    # Batched items are padded to the longest; with the attention mask on they match single
    # synthesis up to float noise (measured ~1e-6 in the mel frames).
    batch_tolerance = 1e-3
    # The tiny random-weight model hears its text faintly: two texts of one length differ by far
    # less than 1 % of the level (a length-only engine gives exactly the same samples).
    text_difference = 1e-6

    @pytest.fixture(scope="class")
    @classmethod
    def kernel(cls, world, tmp_path_factory: pytest.TempPathFactory) -> polyvox.Kernel:
        return polyvox.Kernel(cache_dir=tmp_path_factory.mktemp("f5tts-contract-cache"), plugins=["f5tts"],
                              device="cpu")

    @pytest.fixture(scope="class")
    @classmethod
    def voices(cls, voices) -> list[polyvox.Voice]:  # the session's two voices
        return [voices["ann"], voices["bob"]]
