"""The studio's models panel: which models are here, and a pull with its progress, against a
local stand-in for the Hugging Face hub (test_weights' `FakeHub` and `Fetcher`: nothing
reaches the network or the user's caches)."""

from __future__ import annotations

import json

import httpx
from servekit import running
from test_weights import MODEL_BIN, Fetcher, hub  # noqa: F401 (the fixture)

import polyvox


def _states(url: str) -> dict[str, str]:
    models = httpx.get(f"{url}/studio/api/models", timeout=10).json()["models"]
    return {f"{m['engine']}:{m['model']}": m["state"] for m in models if m["engine"] == "fetcher"}


def test_a_missing_model_is_pulled_with_progress(tmp_path, hub):  # noqa: F811
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", load_entry_points=False, downloads="never")
    kernel.register(Fetcher(hub))
    with running(kernel, tmp_path) as server:
        assert _states(server.url)["fetcher:base"] == "missing"
        events = []
        with httpx.stream("POST", f"{server.url}/studio/api/models/pull", json={"engine": "fetcher", "model": "base"},
                          timeout=60) as r:
            assert r.status_code == 200
            events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
        assert events[-1] == {"type": "pulled", "engine": "fetcher", "model": "base", "files": 2}
        progress = [e for e in events if e["type"] == "progress"]
        assert progress and all(0 <= e["done"] <= (e["total"] or e["done"]) for e in progress)
        assert progress[-1]["done"] == progress[-1]["total"] > 0  # the last file, whole
        assert max(e["done"] for e in progress) <= len(MODEL_BIN)
        assert _states(server.url)["fetcher:base"] == "present"

        unknown = httpx.post(f"{server.url}/studio/api/models/pull", json={"engine": "fetcher", "model": "nope"})
        assert unknown.status_code == 404 and "GET /studio/api/models" in unknown.json()["error"]["message"]
        own = httpx.post(f"{server.url}/studio/api/models/pull", json={"engine": "fetcher", "model": "own"})
        assert own.status_code == 400 and "declares no weights" in own.json()["error"]["message"]
