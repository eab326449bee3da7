"""No test touches the user's caches: polyvox's cache, its models folder (where the int8 model
is joined, once per session) and the hub cache (empty: nothing official is ever fetched)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_folders(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("POLYVOX_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("POLYVOX_MODELS_DIR", str(root / "models"))
    monkeypatch.setenv("HF_HUB_CACHE", str(root / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("POLYVOX_ENVS_DIR", str(root / "no-envs"))
