"""Hub files are checked against the SHA-256 their repository's commit records (git LFS): a file
whose content does not hash to it is removed and refused, so a pinned revision pins content."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from polyvox.errors import ModelError
from polyvox.testing.hub import FakeHub
from polyvox.weights import fetch, store
from polyvox.weights.sources import HubFiles

REPO = "acme/voices"
GOOD = b"style table " * 100


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    for name in ("HF_HUB_OFFLINE", "HF_TOKEN", "HF_HOME"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "hub"


def test_a_file_that_matches_its_checksum_is_kept(cache, monkeypatch):
    with FakeHub({(REPO, "a.bin"): GOOD}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        path = fetch.hub_file(HubFiles(REPO, ["a.bin"]), "a.bin", lambda *a: None)
    assert path.read_bytes() == GOOD and path.resolve().name == hashlib.sha256(GOOD).hexdigest()


def test_a_file_that_does_not_match_its_checksum_is_removed_and_refused(cache, monkeypatch):
    recorded = hashlib.sha256(b"what the commit recorded").hexdigest()
    source = HubFiles(REPO, ["a.bin"])
    with FakeHub({(REPO, "a.bin"): GOOD}, etags={"a.bin": recorded}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        with pytest.raises(ModelError, match=f"does not match its checksum: sha256 "
                                             f"{hashlib.sha256(GOOD).hexdigest()}, expected {recorded}") as err:
            fetch.hub_file(source, "a.bin", lambda *a: None)
    assert "\n" not in str(err.value)
    assert store.hub_file(source, "a.bin") is None  # not left for the next load to use
    assert not any(p.is_file() for p in cache.rglob(recorded))
