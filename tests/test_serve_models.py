"""The server's models that come and go: POST /v1/models/{id}/load and /unload (keyed like every
route), keep-alive seen through /health, /metrics and the kernel's events alike."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from conftest import ToneEngine
from servekit import running

import polyvox
from polyvox.events import ModelLoaded, ModelUnloaded
from polyvox.serve.startup import preload

KEY = "test-key-123-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}


def metric(url, name, **labels):
    """The value of one Prometheus sample (0 when absent)."""
    text = httpx.get(f"{url}/metrics", headers=AUTH, timeout=10).text
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def loaded(url):
    return [(m["engine"], m["model"]) for m in httpx.get(f"{url}/health", timeout=10).json()["models"]]


def speak(url, text, model="tone"):
    answer = httpx.post(f"{url}/v1/audio/speech", headers=AUTH, timeout=30,
                        json={"model": model, "input": text, "voice": "alloy", "response_format": "wav"})
    assert answer.status_code == 200, answer.text
    return answer


def make_kernel(tmp_path, keep_alive=None):
    events = []
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", keep_alive=keep_alive, on_event=events.append)
    kernel.register(ToneEngine())
    kernel.events_seen = events
    return kernel


@pytest.fixture
def kernel(tmp_path):
    return make_kernel(tmp_path)


def test_load_and_unload_need_the_key_and_do_what_they_say(kernel, tmp_path):
    with running(kernel, tmp_path, api_keys=(KEY,)) as srv:
        for action in ("load", "unload"):
            refused = httpx.post(f"{srv.url}/v1/models/tone:large/{action}", timeout=10)
            assert refused.status_code == 401 and refused.json()["error"]["code"]
        assert loaded(srv.url) == []
        answer = httpx.post(f"{srv.url}/v1/models/tone:large/load", headers=AUTH, timeout=10).json()
        assert (answer["engine"], answer["model"], answer["loaded"]) == ("tone", "large", True)
        (shown,) = httpx.get(f"{srv.url}/health", timeout=10).json()["models"]
        assert (shown["engine"], shown["model"], shown["in_use"]) == ("tone", "large", 0)
        assert shown["bytes"] is not None and shown["idle_seconds"] >= 0
        gone = httpx.post(f"{srv.url}/v1/models/tone:large/unload", headers=AUTH, timeout=10).json()
        assert gone["unloaded"] == ["tone:large"] and loaded(srv.url) == []
        assert metric(srv.url, "polyvox_model_unloads_total", engine="tone", reason="asked") == 1
        unknown = httpx.post(f"{srv.url}/v1/models/nope/load", headers=AUTH, timeout=10)
        assert unknown.status_code == 404 and "nope" in unknown.json()["error"]["message"]


def test_keep_alive_unloads_an_idle_model_and_the_next_request_loads_it_again(tmp_path):
    kernel = make_kernel(tmp_path, keep_alive="0.4s")
    with running(kernel, tmp_path) as srv:
        speak(srv.url, "first words")
        assert metric(srv.url, "polyvox_model_loads_total", engine="tone") == 1
        deadline = time.monotonic() + 10
        while loaded(srv.url):
            assert time.monotonic() < deadline, "the idle model was never unloaded"
            time.sleep(0.05)
        assert metric(srv.url, "polyvox_model_unloads_total", engine="tone", reason="idle") == 1
        speak(srv.url, "second words")
        assert metric(srv.url, "polyvox_model_loads_total", engine="tone") == 2
    kinds = [(type(e).__name__, getattr(e, "reason", "")) for e in kernel.events_seen
             if isinstance(e, (ModelLoaded, ModelUnloaded))]
    assert kinds == [("ModelLoaded", ""), ("ModelUnloaded", "idle"), ("ModelLoaded", "")]  # as /metrics said


def test_the_first_request_of_a_sentence_is_a_miss_and_the_second_a_hit(kernel, tmp_path):
    with running(kernel, tmp_path) as srv:
        assert speak(srv.url, "Say it twice.").headers["x-polyvox-cache"] == "miss"
        assert speak(srv.url, "Say it twice.").headers["x-polyvox-cache"] == "hit"


def test_preload_loads_before_the_first_request_and_names_a_bad_model(kernel, tmp_path):
    with running(kernel, tmp_path, preload=("tone:large",)) as srv:
        preload(srv.state.service.config, srv.state.service)
        assert loaded(srv.url) == [("tone", "large")]
    with running(kernel, tmp_path, preload=("tone:huge",)) as srv, \
            pytest.raises(polyvox.PolyvoxError, match="--preload tone:huge: engine 'tone' has no model 'huge'"):
        preload(srv.state.service.config, srv.state.service)


@pytest.mark.parametrize("args, message", [
    (["--keep-alive", "soon"], "keep-alive 'soon' is not a duration"),
    (["--max-memory", "gpu=2GB"], "max-memory device 'gpu' is not cpu, cuda, cuda:N or mps"),
    (["--max-memory", "cuda:0"], "max-memory 'cuda:0' is not DEVICE=SIZE"),
    (["--cache", "http://cache:6379"], "cache URL 'http://cache:6379' is not a Redis URL"),
    (["--cache-local"], "--cache-local only works with --cache URL"),
])
def test_bad_serve_settings_are_one_line_before_anything_starts(args, message, monkeypatch):
    from click.testing import CliRunner

    from polyvox.cli import cli

    monkeypatch.setattr("polyvox.serve.run", lambda *a, **k: pytest.fail("the server started"))
    result = CliRunner().invoke(cli, ["serve", *args])
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output
