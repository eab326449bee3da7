"""Fixtures: one tiny random-weight checkpoint per test session (upstream classes, upstream
file names), loaded through the plugin's entry point and ``POLYVOX_CHATTERBOX_DIR``.

Nothing here may reach the network: the hub is offline, and its cache and pkuseg's model
folder point at empty temporary directories, so the user's own downloads are never used.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_ISOLATED = Path(tempfile.mkdtemp(prefix="polyvox-chatterbox-tests-"))
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = str(_ISOLATED / "hf")
os.environ["HF_HUB_CACHE"] = str(_ISOLATED / "hf" / "hub")  # else a user's HF_HUB_CACHE would win
os.environ.pop("HUGGINGFACE_HUB_CACHE", None)
os.environ["PKUSEG_HOME"] = str(_ISOLATED / "pkuseg")
os.environ.pop("POLYVOX_ALLOW_DOWNLOADS", None)
os.environ.pop("POLYVOX_CHATTERBOX_DIR", None)

import polyvox  # noqa: E402 - after the environment above

from . import tiny  # noqa: E402

#: Fast settings for every synthesis in the suite: S3Gen (264 M parameters, full size even in
#: the tiny checkpoint) dominates the time; random T3 weights rarely stop by themselves.
FAST = {"max_new_tokens": 10, "flow_steps": 1}


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    """Test machines are small and shared: torch's spinning worker threads, competing with other
    processes for two cores, made S3Gen several times slower than one thread does."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny.build(tmp_path_factory.mktemp("chatterbox-weights"))


@pytest.fixture(scope="session")
def turbo_dir(weights_dir: Path) -> Path:
    """Turbo's checkpoint in ``DIR/turbo``, where the plugin looks for it (built on first use)."""
    return tiny.build_turbo(weights_dir / "turbo")


@pytest.fixture(scope="session")
def kernel(weights_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[polyvox.Kernel]:
    """The plugin as users get it: its entry point, weights from POLYVOX_CHATTERBOX_DIR."""
    os.environ["POLYVOX_CHATTERBOX_DIR"] = str(weights_dir)
    k = polyvox.Kernel(cache_dir=tmp_path_factory.mktemp("chatterbox-cache"), plugins=["chatterbox"])
    try:
        yield k
    finally:
        k.unload_all()
        os.environ.pop("POLYVOX_CHATTERBOX_DIR", None)


@pytest.fixture(scope="session")
def voices(tmp_path_factory: pytest.TempPathFactory) -> list[polyvox.Voice]:
    """Two different reference recordings, at rates the model does not use (resampled)."""
    folder = tmp_path_factory.mktemp("voices")
    return [polyvox.Voice(name="low", audio=tiny.write_voice(folder / "low.wav", 110.0, 22050, seconds=1.0)),
            polyvox.Voice(name="high", audio=tiny.write_voice(folder / "high.flac", 260.0, 44100, seconds=1.0))]


def loaded(kernel: polyvox.Kernel, model: str):  # noqa: ANN201 - the plugin's Model
    """The plugin's loaded model object, through the kernel's model manager."""
    return kernel.models.get("chatterbox", model, kernel.device).model
