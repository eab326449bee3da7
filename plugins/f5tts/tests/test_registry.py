"""The model registry and file lookup: data in, names and one-line errors out (no torch needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from polyvox_f5tts import registry as reg
from polyvox_f5tts.registry import Registry, register_finetune
from polyvox_f5tts.weights import Locator

from polyvox.errors import ModelError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_registry_has_finetunes_per_language(tmp_path):
    r = Registry.load(tmp_path / "absent.toml")
    assert r.for_language("de").name == "F5TTS_German"
    for code in ("fr", "ja", "it", "es", "ru", "fi", "hi"):
        entry = r.for_language(code)
        assert entry is not None and entry.repo and entry.checkpoint and entry.license, code
    assert r.for_language("en").name == "F5TTS_v1_Base"
    assert r.for_language("sw") is None  # no silent fallback to an English model
    assert r.names()[0] == "F5TTS_v1_Base" and {"F5TTS_Base", "E2TTS_Base"} <= set(r.names())
    assert r.languages()[:2] == ["en", "zh"]


def test_user_entries_come_first_and_override_only_what_they_give(tmp_path):
    cfg = write(tmp_path / "f5tts.toml", """
weights_dir = "/data/f5"
[models.mine]
languages = ["de", "de-at"]
checkpoint = "mine/model.safetensors"
[models.F5TTS_German]
license = "checked by me"
""")
    r = Registry.load(cfg)
    assert r.for_language("de").name == "mine"
    assert r.for_language("de-at").name == "mine"
    german = r.get("F5TTS_German")
    assert german.license == "checked by me" and german.repo == "hvoss-techfak/F5-TTS-German"
    assert german.base is None  # inherited paths keep their repository meaning
    assert r.get("mine").base == tmp_path and r.get("mine").origin == str(cfg)
    assert r.settings == {"weights_dir": "/data/f5"}


@pytest.mark.parametrize("text, needle", [
    ("[models.x]\ncheckpoint = 'a.pt'\ncolour = 'red'\n", "unknown field 'colour'"),
    ("[models.x]\nlanguages = ['de']\n", "needs a checkpoint"),
    ("[models.x\n", "not valid TOML"),
])
def test_bad_user_config_is_one_line_model_error(tmp_path, text, needle):
    cfg = write(tmp_path / "f5tts.toml", text)
    with pytest.raises(ModelError, match=needle) as err:
        Registry.load(cfg)
    assert str(cfg) in str(err.value) and "\n" not in str(err.value)


def test_another_plugin_can_register_a_finetune(tmp_path, monkeypatch):
    monkeypatch.setattr(reg, "_extra", {})
    register_finetune("F5TTS_Welsh", checkpoint="model.safetensors", vocab="vocab.txt", languages=["cy"],
                      repo="someone/f5-welsh", license="cc-by-4.0")
    r = Registry.load(tmp_path / "absent.toml")
    assert r.for_language("cy").name == "F5TTS_Welsh" and "cy" in r.languages()


def test_missing_files_are_named_with_every_place_looked(tmp_path):
    r = Registry.load(tmp_path / "absent.toml")
    locator = Locator(r, [tmp_path / "w1", tmp_path / "w2"], hf_cache=tmp_path / "hub")
    with pytest.raises(ModelError) as err:
        locator.find("F5TTS_German")
    message = str(err.value)
    for place in (tmp_path / "w1" / "model_f5tts_german.pt", tmp_path / "w2" / "F5TTS_German" /
                  "model_f5tts_german.pt"):
        assert str(place) in message
    assert "hvoss-techfak/F5-TTS-German" in message and "`polyvox models pull f5tts:F5TTS_German`" in message
    assert locator.files("F5TTS_German") == []


def test_vocoder_missing_is_named(tmp_path):
    locator = Locator(Registry.load(tmp_path / "absent.toml"), [tmp_path], hf_cache=tmp_path / "hub")
    with pytest.raises(ModelError, match="pytorch_model.bin.*vocos"):
        locator.vocoder()


def test_unknown_model_lists_the_known_ones(tmp_path):
    locator = Locator(Registry.load(tmp_path / "absent.toml"))
    with pytest.raises(ModelError, match="unknown F5-TTS model 'nope'.*F5TTS_v1_Base"):
        locator.entry("nope")


def test_a_checkpoint_path_is_a_model(tmp_path):
    ckpt = write(tmp_path / "my_model.safetensors", "")
    write(tmp_path / "vocab.txt", " \na\n")
    entry = Locator(Registry.load(tmp_path / "absent.toml")).entry(str(ckpt))
    assert entry.checkpoint == str(ckpt.resolve()) and entry.vocab == str(tmp_path / "vocab.txt")
    assert entry.config == "F5TTS_v1_Base"
    with pytest.raises(ModelError, match="does not exist"):
        Locator(Registry.load(tmp_path / "absent.toml")).entry(str(tmp_path / "gone.pt"))


def test_unknown_shipped_config_name_is_refused(tmp_path):
    cfg = write(tmp_path / "f5tts.toml", "[models.odd]\ncheckpoint = 'odd.pt'\nconfig = 'F5TTS_Huge'\n")
    write(tmp_path / "odd.pt", "")
    locator = Locator(Registry.load(cfg), [], tmp_path)
    with pytest.raises(ModelError, match="config 'F5TTS_Huge' is not shipped.*F5TTS_Base"):
        locator._config(locator.entry("odd"))


def hub_file(cache: Path, repo: str, filename: str) -> Path:
    """A file laid out as huggingface_hub caches it (refs/main -> snapshots/<commit>/...)."""
    folder = cache / ("models--" + repo.replace("/", "--"))
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text("0" * 40)
    path = folder / "snapshots" / ("0" * 40) / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_files_in_the_hugging_face_cache_are_found_offline(tmp_path):
    hub = tmp_path / "hub"
    ckpt = hub_file(hub, "hvoss-techfak/F5-TTS-German", "model_f5tts_german.pt")
    vocab = hub_file(hub, "hvoss-techfak/F5-TTS-German", "vocab.txt")
    vocos = [hub_file(hub, "charactr/vocos-mel-24khz", f) for f in ("config.yaml", "pytorch_model.bin")]
    found = Locator(Registry.load(tmp_path / "absent.toml"), hf_cache=hub).find("F5TTS_German")
    assert (found.checkpoint, found.vocab, found.vocoder) == (ckpt, vocab, vocos[0].parent)
    assert found.config.name == "F5TTS_Base.yaml"
