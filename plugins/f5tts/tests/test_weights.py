"""F5-TTS's models through the kernel's weights service: declarations from the registry, and a
finetune fetched from a stand-in hub (127.0.0.1, HF_ENDPOINT) and loaded from the paths the
kernel hands over. The user's hub cache is never read: HF_HOME points into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from f5tiny import FAST
from polyvox_f5tts import F5TTS
from polyvox_f5tts.weights import VOCOS_FILES, VOCOS_REPO

import polyvox
from polyvox import HubFiles, LocalFiles
from polyvox.testing.hub import FakeHub

REPO = "test/f5-tiny-de"


@pytest.fixture
def online(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' hub is offline (conftest); these talk to a stand-in on 127.0.0.1 instead."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)


def hub_config(tmp_path: Path, world: dict[str, Path]) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    path = folder / "f5tts.toml"
    path.write_text(f'''
[models.hub-de]
languages = ["de"]
repo = "{REPO}"
checkpoint = "de/model.safetensors"
vocab = "de/vocab.txt"
config = "{world['config'] / 'tiny.yaml'}"
license = "test licence"
url = "https://example.org/tiny-de"
''', encoding="utf-8")
    return path


def test_declarations_follow_the_registry_and_the_users_folders(world: dict[str, Path], tmp_path: Path) -> None:
    local = F5TTS().weights("F5TTS_v1_Base")  # the world's weights folder has it, and Vocos
    assert local is not None and local.local and local.license == "cc-by-nc-4.0"
    german = F5TTS(weights_dirs=[tmp_path]).weights("F5TTS_German")
    assert german is not None
    ckpt, vocos = german.sources
    assert isinstance(ckpt, HubFiles) and ckpt.repo == "hvoss-techfak/F5-TTS-German"
    assert isinstance(vocos, HubFiles) and (vocos.repo, vocos.filenames) == (VOCOS_REPO, VOCOS_FILES)
    assert isinstance(F5TTS().weights("F5TTS_German").sources[-1], LocalFiles)  # the world's vocos folder
    assert F5TTS().weights("no-such-model") is None


def test_a_finetune_is_fetched_from_the_hub_and_loaded_from_the_handed_paths(
        world: dict[str, Path], voices: dict[str, polyvox.Voice], tmp_path: Path, online: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    served = {(REPO, "de/model.safetensors"): (world["config"] / "de" / "model.safetensors").read_bytes(),
              (REPO, "de/vocab.txt"): (world["config"] / "de" / "vocab.txt").read_bytes(),
              **{(VOCOS_REPO, n): (world["weights"] / "vocos" / n).read_bytes() for n in VOCOS_FILES}}
    engine = F5TTS(weights_dirs=[tmp_path / "empty"], config=hub_config(tmp_path, world))
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", load_entry_points=False, device="cpu", downloads="yes")
    kernel.register(engine)
    assert kernel.weights.status("f5tts", "hub-de").state == "missing"
    with FakeHub(served, max_requests=40) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        audio = kernel.synthesize("Guten Tag.", engine="f5tts", language="de", voice=voices["ann"], **FAST)
        assert sorted(p for m, p, _ in hub.requests if m == "GET") == sorted(
            f"/{repo}/resolve/main/{name}" for repo, name in served)
    assert audio.duration > 0.2
    loaded = kernel.models.get("f5tts", "hub-de", "cpu").model
    hf = tmp_path / "hf" / "hub"
    assert loaded.files.checkpoint.is_relative_to(hf) and loaded.files.vocoder.is_relative_to(hf)
    assert kernel.weights.status("f5tts", "hub-de").state == "present"
    kernel.unload_all()
