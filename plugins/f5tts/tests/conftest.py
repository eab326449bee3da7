"""A tiny F5-TTS world, built once per test session: weights folder, vocoder, user config, voices.

Layout (the plugin's normal local path, nothing test-only in the plugin):

    weights/F5TTS_v1_Base/model_1250000.safetensors   default model, found by its repo path
    weights/vocos/{config.yaml,pytorch_model.bin}      vocoder
    config/f5tts.toml                                  user config: tiny architecture for the
    config/tiny.yaml                                   default model, and a German model
    config/de/{model.safetensors,vocab.txt}
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Hermetic: no hub access, ever, and every place a user's own downloads or settings live (the
# Hugging Face cache, the plugin's config file, its weights folders) points at an empty temporary
# folder; a machine whose cache holds the French or German checkpoints runs the same tests.
_ISOLATED = Path(tempfile.mkdtemp(prefix="polyvox-f5tts-tests-"))
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.pop("POLYVOX_ALLOW_DOWNLOADS", None)
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HOME"] = str(_ISOLATED / "hf")
os.environ["HF_HUB_CACHE"] = str(_ISOLATED / "hf" / "hub")
os.environ.pop("HUGGINGFACE_HUB_CACHE", None)
os.environ["XDG_CONFIG_HOME"] = str(_ISOLATED / "config")
for _name in ("POLYVOX_F5TTS_DIR", "POLYVOX_F5TTS_CONFIG", "POLYVOX_F5TTS_VOCODER"):
    os.environ.pop(_name, None)
sys.path.insert(0, str(Path(__file__).parent))

import f5tiny as tiny  # noqa: E402

FAST = tiny.FAST
ENV = ("POLYVOX_F5TTS_DIR", "POLYVOX_F5TTS_CONFIG", "POLYVOX_F5TTS_VOCODER")

USER_CONFIG = """\
# Only the architecture of the shipped default model changes; its checkpoint is found in the
# weights folder under its repository path, its vocab is the one shipped in f5-tts.
[models.F5TTS_v1_Base]
config = "tiny.yaml"

[models.tiny-de]
languages = ["de"]
checkpoint = "de/model.safetensors"
vocab = "de/vocab.txt"
config = "tiny.yaml"
license = "test weights"
"""


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Build the tiny models and voices and point the plugin at them through its environment variables."""
    from importlib.resources import files

    import soundfile as sf

    root = tmp_path_factory.mktemp("f5tts-world")
    weights, config = root / "weights", root / "config"
    packaged_vocab = Path(str(files("f5_tts").joinpath("infer/examples/vocab.txt")))
    tiny.build_model(weights / "F5TTS_v1_Base" / "model_1250000.safetensors", packaged_vocab, seed=0)
    tiny.build_vocoder(weights / "vocos")
    tiny.write_arch_config(config / "tiny.yaml")
    tiny.build_model(config / "de" / "model.safetensors", tiny.write_vocab(config / "de" / "vocab.txt"), seed=1)
    (config / "f5tts.toml").write_text(USER_CONFIG, encoding="utf-8")
    voices = root / "voices"
    voices.mkdir()
    sf.write(voices / "ann.wav", tiny.speechlike(1.6, 16000, 140.0, seed=1), 16000)  # resampled to 24 kHz
    sf.write(voices / "bob.wav", tiny.speechlike(1.8, 24000, 210.0, seed=2), 24000)
    sf.write(voices / "long.wav", tiny.speechlike(16.0, 24000, 180.0, seed=3, pause_at=9.0), 24000)
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ["POLYVOX_F5TTS_DIR"] = str(weights)
    os.environ["POLYVOX_F5TTS_CONFIG"] = str(config / "f5tts.toml")
    os.environ.pop("POLYVOX_F5TTS_VOCODER", None)
    yield {"root": root, "weights": weights, "config": config, "voices": voices}
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def voices(world: dict[str, Path]) -> dict[str, object]:
    import polyvox

    v = world["voices"]
    return {
        "ann": polyvox.Voice(name="ann", audio=v / "ann.wav", reference_text="This is how I sound today."),
        "bob": polyvox.Voice(name="bob", audio=v / "bob.wav", reference_text="And this is my own voice, Bob."),
    }


@pytest.fixture(scope="session")
def kernel(world: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    """One kernel for the session (the model loads once), cache in a temporary folder, CPU."""
    import polyvox

    return polyvox.Kernel(cache_dir=tmp_path_factory.mktemp("cache"), plugins=["f5tts"], device="cpu")
