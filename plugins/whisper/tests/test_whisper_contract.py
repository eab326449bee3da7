"""polyvox-whisper against the listener contract kit, on the bundled tiny.en (no download)."""

from __future__ import annotations

from polyvox.testing import ListenerContract


class TestWhisperTinyEnContract(ListenerContract):
    listener = "whisper:tiny.en"


def test_an_english_only_model_asked_for_another_language_hears_english_quietly(caplog, tmp_path):
    """tiny.en asked to hear German let faster-whisper's own "The current model is English-only
    but the language parameter is set to 'de'" through to stderr."""
    import logging

    import polyvox

    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=["piper", "whisper"])
    speech = kernel.synthesize("Hello there, my old friend.", noise_scale=0.0, noise_w_scale=0.0)
    with caplog.at_level(logging.WARNING, logger="faster_whisper"):
        heard = kernel.listen(speech, language="de")
    assert "friend" in heard.text.lower()
    assert not [r for r in caplog.records if r.name.startswith("faster_whisper")]
