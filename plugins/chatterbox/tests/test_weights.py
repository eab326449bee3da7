"""Finding weights, refusing downloads, and the cheap import: no model is loaded here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import polyvox
from polyvox_chatterbox import ChatterBox
from polyvox_chatterbox.weights import LAYOUTS, Weights


def test_missing_weights_name_the_files_and_where_they_were_looked_for(tmp_path: Path) -> None:
    (tmp_path / "ve.safetensors").write_bytes(b"")
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", load_entry_points=False)
    kernel.register(ChatterBox(tmp_path / "weights-missing"))
    with pytest.raises(polyvox.ModelError) as caught:
        kernel.synthesize("Hello.", engine="chatterbox")
    message = str(caught.value)
    assert "\n" not in message
    for name in LAYOUTS["english"].required:
        assert name in message
    assert str(tmp_path / "weights-missing") in message
    assert "Hugging Face cache" in message and "HF_HUB_OFFLINE" in message


def test_partial_directory_lists_only_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "ve.safetensors").write_bytes(b"")
    with pytest.raises(polyvox.ModelError) as caught:
        Weights(tmp_path).require("english")
    message = str(caught.value)
    assert "missing t3_cfg.safetensors, s3gen.safetensors, tokenizer.json" in message


def test_download_is_refused_while_the_hub_is_offline(tmp_path: Path) -> None:
    weights = Weights(tmp_path, download=True)
    assert not weights.may_download()  # conftest sets HF_HUB_OFFLINE=1
    with pytest.raises(polyvox.ModelError, match="download is off"):
        weights.require("multilingual")


def test_unknown_model_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(polyvox.ModelError, match="english, multilingual"):
        Weights(tmp_path).require("nano")


def test_model_files_are_the_upstream_names(weights_dir: Path) -> None:
    files = [Path(f).name for f in Weights(weights_dir).files("multilingual")]
    assert files[:4] == ["ve.pt", "t3_mtl23ls_v2.safetensors", "s3gen.pt", "grapheme_mtl_merged_expanded_v1.json"]
    assert "conds.pt" in files
    assert Weights(weights_dir / "nowhere").files("english") == []


def test_import_and_declaration_load_no_torch() -> None:
    code = ("import sys, polyvox, polyvox_chatterbox as p; spec = p.plugin.spec(); "
            "assert 'torch' not in sys.modules and 'chatterbox' not in sys.modules, sorted(sys.modules); "
            "print(spec.name, len(spec.languages))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["chatterbox", "23"]


def test_hugging_face_cache_is_used_without_network(weights_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshot of upstream's repository in the user's hub cache is found (conftest points
    HF_HOME at an empty temporary folder, so this builds one there)."""
    import os
    import shutil

    monkeypatch.delenv("POLYVOX_CHATTERBOX_DIR", raising=False)
    repo = Path(os.environ["HF_HOME"]) / "hub" / "models--ResembleAI--chatterbox"
    snapshot = repo / "snapshots" / "0123456789abcdef"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123456789abcdef")
    try:
        for name in LAYOUTS["english"].required:
            (snapshot / name).symlink_to(weights_dir / name)
        assert Weights().find("english") == snapshot
        assert Weights().find("multilingual") is None
    finally:
        shutil.rmtree(repo)


def test_polyvox_engines_shows_models_languages_and_parameters() -> None:
    import os

    cli = Path(sys.executable).parent / "polyvox"
    env = {**os.environ, "POLYVOX_PLUGINS": "chatterbox", "COLUMNS": "200"}
    out = subprocess.run([str(cli), "engines", "chatterbox"], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    for word in ("chatterbox", "24000", "english", "multilingual", "exaggeration", "cfg_weight", "max_new_tokens"):
        assert word in out.stdout, word
    assert "torch" not in out.stderr


def test_a_language_pack_can_point_a_language_at_a_checkpoint_directory(weights_dir: Path, tmp_path: Path) -> None:
    """Another plugin maps German to a finetuned checkpoint (here: the tiny one, by path)."""

    class GermanFinetune:
        @polyvox.hookimpl
        def map_language(self, engine: str, language: str) -> str | None:
            return str(weights_dir) if (engine, language) == ("chatterbox", "de") else None

    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", load_entry_points=False)
    kernel.register(ChatterBox(tmp_path / "no-default-weights"))
    kernel.register(GermanFinetune(), name="german-finetune")
    (job,) = kernel.plan("Guten Tag.", engine="chatterbox", language="de")
    assert job.model == str(weights_dir)
    assert Weights().kind(job.model) == "multilingual"  # a folder with both sets serves every language
    files = kernel.plugins.hook.model_files(engine="chatterbox", model=job.model)
    assert str(weights_dir / "t3_mtl23ls_v2.safetensors") in files
    audio = kernel.synthesize("Guten Tag.", engine="chatterbox", language="de", max_new_tokens=5, flow_steps=1)
    assert audio.duration > 0
    assert kernel.models.loaded() == [("chatterbox", str(weights_dir), kernel.device)]
    kernel.unload_all()
    with pytest.raises(polyvox.ModelError, match="holds no ChatterBox checkpoint"):
        Weights().kind(str(tmp_path))
