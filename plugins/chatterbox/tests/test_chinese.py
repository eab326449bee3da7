"""The multilingual tokenizer's Chinese converter, built lazily from local files only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import polyvox
from polyvox_chatterbox.tokenizers import LazyCangjie


def test_missing_table_is_a_model_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(polyvox.ModelError, match="Cangjie5_TC.json"):
        LazyCangjie(tmp_path)("你好")


def test_local_table_converts_without_network(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "Cangjie5_TC.json").write_text(json.dumps(["你\tonf", "好\tvnd", "妳\tvnd"]), encoding="utf-8")
    converter = LazyCangjie(tmp_path)
    assert converter("你好妳") == "[cj_o][cj_n][cj_f][cj_.][cj_v][cj_n][cj_d][cj_.][cj_v][cj_n][cj_d][cj_1][cj_.]"
    assert "not segmented" in caplog.text  # pkuseg's model is not on disk and downloads are off
