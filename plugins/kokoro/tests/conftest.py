"""No test touches the user's caches: polyvox's cache, its models folder (where the int8 model
is joined, and its graph with durations kept, once per session) and the hub cache (empty:
nothing official is ever fetched). Set for the whole session, before any fixture: a
module-scoped fixture that speaks (the kernels and voices of test_kokoro.py) is made before a
function-scoped one would have set them, and once joined the model into the user's folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    root = tmp_path_factory.getbasetemp()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POLYVOX_CACHE_DIR", str(root / "cache"))
        patch.setenv("POLYVOX_MODELS_DIR", str(root / "models"))
        patch.setenv("HF_HUB_CACHE", str(root / "hub"))
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("POLYVOX_ENVS_DIR", str(root / "no-envs"))
        yield
