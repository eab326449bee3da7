"""Declaring and finding weights, refusing downloads, and the cheap import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import polyvox
from polyvox_chatterbox import ChatterBox
from polyvox_chatterbox.weights import LAYOUTS, REPO_ID, SEGMENTER, TURBO_REPO_ID, Weights


def test_missing_weights_while_offline_name_the_pull_command(tmp_path: Path) -> None:
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", load_entry_points=False, downloads="yes")
    kernel.register(ChatterBox(tmp_path / "weights-missing"))
    with pytest.raises(polyvox.ModelError) as caught:
        kernel.synthesize("Hello.", engine="chatterbox")
    message = str(caught.value)
    assert "\n" not in message
    assert "HF_HUB_OFFLINE" in message and "`polyvox models pull chatterbox:english`" in message


def test_declarations_name_upstream_repositories_and_files(weights_dir: Path, tmp_path: Path) -> None:
    english = Weights(tmp_path / "empty").declare("english")
    (hub,) = english.sources
    assert (hub.repo, hub.filenames) == (REPO_ID, LAYOUTS["english"].required)
    assert "conds.pt" in hub.optional and english.license == "MIT"
    multilingual = Weights(tmp_path / "empty").declare("multilingual")
    assert multilingual.sources[1] == SEGMENTER  # Chinese word segmentation comes with the model
    assert Weights(tmp_path / "empty").declare("turbo").sources[0].repo == TURBO_REPO_ID
    # The user's own copy: declared local, nothing to fetch.
    own = Weights(weights_dir).declare("multilingual")
    assert own.local and {p.name for p in own.sources[0].paths} >= {"t3_mtl23ls_v2.safetensors", "conds.pt"}
    assert Weights(weights_dir).declare(str(weights_dir)) is None  # a checkpoint folder: used as it is


def test_partial_directory_lists_only_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "ve.safetensors").write_bytes(b"")
    with pytest.raises(polyvox.ModelError) as caught:
        Weights(tmp_path).require("english")
    message = str(caught.value)
    assert "missing t3_cfg.safetensors, s3gen.safetensors, tokenizer.json" in message


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


def test_the_kernel_hands_the_engine_the_hub_cache_snapshot(weights_dir: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Upstream's files in the user's hub cache (conftest points HF_HOME at an empty temporary
    folder; this builds a snapshot there) count as present and are what the engine loads."""
    import os
    import shutil

    monkeypatch.delenv("POLYVOX_CHATTERBOX_DIR", raising=False)
    repo = Path(os.environ["HF_HOME"]) / "hub" / "models--ResembleAI--chatterbox"
    snapshot = repo / "snapshots" / "0123456789abcdef"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123456789abcdef")
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", load_entry_points=False, downloads="never")
    kernel.register(ChatterBox())
    try:
        for name in (*LAYOUTS["english"].required, "conds.pt", "polyvox_t3_config.json"):
            (snapshot / name).symlink_to(weights_dir / name)
        assert Weights().find("english") == snapshot
        assert Weights().find("multilingual") is None
        assert kernel.weights.status("chatterbox", "english").state == "present"
        assert kernel.weights.status("chatterbox", "multilingual").state == "missing"
        audio = kernel.synthesize("Hello.", engine="chatterbox", max_new_tokens=5, flow_steps=1)
        assert audio.duration > 0
        model = kernel.models.get("chatterbox", "english", kernel.device).model
        assert model.directory == snapshot and model.builtin is not None
    finally:
        kernel.unload_all()
        shutil.rmtree(repo)


def test_pull_fetches_upstream_names_and_tolerates_absent_optional_files(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Turbo's declaration against a stand-in hub holding only some of the optional files."""
    from huggingface_hub import constants

    from polyvox.testing.hub import FakeHub

    layout = LAYOUTS["turbo"]
    served = {(TURBO_REPO_ID, n): f"bytes of {n}".encode() for n in (*layout.required, "conds.pt", "vocab.json")}
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", load_entry_points=False, downloads="yes")
    kernel.register(ChatterBox(tmp_path / "none"))
    with FakeHub(served, max_requests=60) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        files = kernel.weights.pull("chatterbox", "turbo")
    assert {n: files[n].read_bytes() for n in files.paths} == {n: b for (_, n), b in served.items()}
    assert len({p.parent for p in files.all()}) == 1  # one snapshot folder: what the loader reads
    assert kernel.weights.status("chatterbox", "turbo").state == "present"


def test_the_segmenter_archive_is_unpacked_once_and_handed_to_pkuseg(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    import spacy_pkuseg

    from polyvox_chatterbox import tokenizers

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "features.pkl").write_bytes(b"features")
    archive = Path(shutil.make_archive(str(tmp_path / "spacy_ontonotes"), "zip", tmp_path / "src"))
    seen: list[str] = []
    monkeypatch.setattr(spacy_pkuseg, "pkuseg", lambda model_name: seen.append(model_name) or model_name)
    assert tokenizers._segmenter(archive) == str(tmp_path / "spacy_ontonotes")
    assert (tmp_path / "spacy_ontonotes" / "features.pkl").read_bytes() == b"features"
    archive.unlink()  # unpacked already: the folder is reused
    tokenizers._segmenter(archive)
    assert seen == [str(tmp_path / "spacy_ontonotes")] * 2


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
