"""Model weights as a kernel service, against a local stand-in for the Hugging Face hub
(`polyvox.testing.hub.FakeHub` via HF_ENDPOINT): no test here reaches the network or the
user's caches (HF_HOME and POLYVOX_MODELS_DIR point into tmp_path)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import polyvox
from polyvox import Audio, EngineSpec, Files, HubFiles, LocalFiles, ModelWeights, UrlFile
from polyvox.events import DownloadFinished, DownloadProgress
from polyvox.testing.hub import FakeHub
from polyvox.weights.service import Weights

REPO = "acme/tiny-tts"
MODEL_BIN = bytes(range(256)) * 40  # 10 240 bytes
CONFIG = json.dumps({"pitch": 330.0}).encode()
VOCODER = b"vocoder weights " * 64
VOCODER_SHA = hashlib.sha256(VOCODER).hexdigest()


class Fetcher(polyvox.Engine):
    """An engine whose pitch comes from its config file: the audio proves which files it loaded."""

    name = "fetcher"

    def __init__(self, hub: FakeHub, *, sha256: str = VOCODER_SHA, bundled: Path | None = None):
        self.hub = hub
        self.sha256 = sha256
        self.bundled = bundled
        self.received: list[Files] = []

    def spec(self) -> EngineSpec:
        return EngineSpec(name=self.name, sample_rate=16000, languages=("en", "de"), default_model="base",
                          models=("base", "vocoder", "bundled", "own", "plain"))

    def language_model(self, language: str) -> str | None:
        return "vocoder" if language == "de" else None

    def weights(self, model: str) -> ModelWeights | None:
        if model == "base":
            return ModelWeights(HubFiles(REPO, ["model.bin", "config.json"], optional=["extra.json"],
                                         sizes={"model.bin": len(MODEL_BIN), "config.json": len(CONFIG)}),
                                license="cc-by-4.0", license_url="https://example.org/licence")
        if model == "plain":  # no sizes declared
            return ModelWeights(HubFiles(REPO, ["model.bin"]))
        if model == "vocoder":
            return ModelWeights(UrlFile(self.hub.url("voc.bin"), self.sha256, size=len(VOCODER)))
        if model == "bundled" and self.bundled is not None:
            return ModelWeights(LocalFiles([self.bundled]))
        return None  # "own": the engine finds its files itself

    def load(self, model: str, device: str, files: Files | None = None) -> Any:
        if files is not None:
            self.received.append(files)
        if files is not None and "config.json" in files:
            return json.loads(files["config.json"].read_text())["pitch"]
        return 220.0

    def synthesize(self, model: Any, request: Any, conditioning: Any) -> Audio:
        t = np.arange(1600) / 16000
        return Audio((0.3 * np.sin(2 * np.pi * model * t)).astype(np.float32), 16000)


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("POLYVOX_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    for name in ("HF_HUB_OFFLINE", "POLYVOX_ALLOW_DOWNLOADS", "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with FakeHub({(REPO, "model.bin"): MODEL_BIN, (REPO, "config.json"): CONFIG}, urls={"voc.bin": VOCODER},
                 max_requests=40) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        yield server


def make_kernel(tmp_path: Path, engine: Fetcher, downloads: str | None = None) -> polyvox.Kernel:
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", load_entry_points=False, downloads=downloads)
    kernel.register(engine)
    return kernel


def pitch(audio: Audio) -> float:
    spectrum = np.abs(np.fft.rfft(audio.samples))
    return float(np.argmax(spectrum) * audio.sample_rate / len(audio.samples))


def test_first_use_fetches_with_progress_and_the_engine_gets_local_paths(tmp_path, hub):
    engine = Fetcher(hub)
    events: list[Any] = []
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", load_entry_points=False, downloads="yes",
                            on_event=events.append)
    kernel.register(engine)
    audio = kernel.synthesize("Hello.", engine="fetcher")
    assert abs(pitch(audio) - 330.0) < 15  # the pitch of the fetched config, not the 220 Hz fallback
    (files,) = engine.received
    assert files["model.bin"].read_bytes() == MODEL_BIN
    assert files["model.bin"].is_relative_to(tmp_path / "hf" / "hub")
    assert "extra.json" not in files  # optional, and the hub has none
    progress = [e for e in events if isinstance(e, DownloadProgress) and e.filename == "model.bin"]
    assert progress[-1].done == progress[-1].total == len(MODEL_BIN)
    assert [e.model for e in events if isinstance(e, DownloadFinished)] == ["base"]
    # A second kernel finds them on disk: no new request.
    before = len(hub.requests)
    again = make_kernel(tmp_path, Fetcher(hub), downloads="never")
    again.synthesize("Hello again.", engine="fetcher")
    assert len(hub.requests) == before


def test_a_broken_connection_resumes_with_a_range_request(tmp_path, hub, monkeypatch):
    """huggingface_hub resumes from the last whole chunk it wrote: chunks of 1 KiB here (10 MB
    in real use), so half of this 10 KiB file survives the break."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 1024)
    hub.cut.add("model.bin")
    kernel = make_kernel(tmp_path, Fetcher(hub))
    files = kernel.weights.pull("fetcher", "base")
    assert files["model.bin"].read_bytes() == MODEL_BIN
    assert hub.gets("model.bin") == [None, f"bytes={len(MODEL_BIN) // 2}-"]


def test_an_interrupted_url_download_resumes_from_its_part_file(tmp_path, hub):
    part = tmp_path / "models" / "fetcher" / "voc.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(VOCODER[:300])  # what an earlier, interrupted pull left
    kernel = make_kernel(tmp_path, Fetcher(hub))
    assert kernel.weights.status("fetcher", "vocoder").state == "partial"
    files = kernel.weights.pull("fetcher", "vocoder")
    assert files["voc.bin"].read_bytes() == VOCODER
    assert hub.gets("voc.bin") == ["bytes=300-"]
    assert not part.exists()


def test_a_checksum_mismatch_is_refused_and_the_download_removed(tmp_path, hub):
    kernel = make_kernel(tmp_path, Fetcher(hub, sha256="0" * 64))
    with pytest.raises(polyvox.ModelError) as caught:
        kernel.weights.pull("fetcher", "vocoder")
    message = str(caught.value)
    assert "\n" not in message and VOCODER_SHA in message and "0" * 64 in message
    assert not any((tmp_path / "models" / "fetcher").iterdir())  # neither the file nor a .part
    assert kernel.weights.status("fetcher", "vocoder").state == "missing"


def test_a_url_that_is_not_there_leaves_nothing_behind(tmp_path, hub):
    del hub.urls["voc.bin"]
    kernel = make_kernel(tmp_path, Fetcher(hub))
    with pytest.raises(polyvox.ModelError, match="voc.bin failed: .*404"):
        kernel.weights.pull("fetcher", "vocoder")
    assert kernel.weights.status("fetcher", "vocoder").state == "missing"  # not "partial"


def test_offline_refuses_with_the_exact_pull_command_and_no_request(tmp_path, hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    kernel = make_kernel(tmp_path, Fetcher(hub), downloads="yes")  # offline wins over "yes"
    with pytest.raises(polyvox.ModelError) as caught:
        kernel.synthesize("Hallo.", engine="fetcher", language="de")
    message = str(caught.value)
    assert "\n" not in message
    assert "`polyvox models pull fetcher:vocoder`" in message and "HF_HUB_OFFLINE" in message
    assert "(missing voc.bin; 1.0 KB)" in message
    assert hub.requests == []


def test_ask_once_showing_size_and_licence(tmp_path, hub):
    kernel = make_kernel(tmp_path, Fetcher(hub))
    asked: list[str] = []
    answers = iter([False])
    weights = Weights(kernel.plugins.hook, lambda e: None, "ask", confirm=lambda q: asked.append(q) or next(answers))
    for _ in range(2):  # refused once: not asked again in this process
        with pytest.raises(polyvox.ModelError, match="fetch it with `polyvox models pull fetcher:base`"):
            weights.ensure("fetcher", "base")
    (question,) = asked
    assert "10.3 KB" in question and "cc-by-4.0" in question and "https://example.org/licence" in question
    assert hub.requests == []
    yes = Weights(kernel.plugins.hook, lambda e: None, "ask", confirm=lambda q: True)
    assert yes.ensure("fetcher", "base")["config.json"].read_bytes() == CONFIG


def test_a_live_progress_display_steps_aside_for_the_question(tmp_path, hub):
    import io

    from rich.console import Console

    from polyvox.cli.options import RenderConsole
    from polyvox.cli.progress import RenderView
    from polyvox.events import DownloadAnswered, DownloadAsking

    kernel = make_kernel(tmp_path, Fetcher(hub))
    view = RenderView(RenderConsole(Console(file=io.StringIO(), force_terminal=True)))
    seen: list[Any] = []

    def confirm(question: str) -> bool:
        seen.append(("asked while live", view._live.is_started))
        return True

    def listen(event: Any) -> None:
        if isinstance(event, DownloadAsking | DownloadAnswered):
            seen.append(type(event).__name__)
        view(event)

    with view:
        weights = Weights(kernel.plugins.hook, listen, "ask", confirm=confirm)
        weights.ensure("fetcher", "base")
        assert view._live.is_started
    assert seen == ["DownloadAsking", ("asked while live", False), "DownloadAnswered"]


def test_the_question_gets_undeclared_sizes_from_the_hub(tmp_path, hub):
    kernel = make_kernel(tmp_path, Fetcher(hub))
    asked: list[str] = []
    weights = Weights(kernel.plugins.hook, lambda e: None, "ask", confirm=lambda q: asked.append(q) or False)
    with pytest.raises(polyvox.ModelError):
        weights.ensure("fetcher", "plain")
    assert "(10.2 KB)" in asked[0]  # len(MODEL_BIN), from a HEAD request
    assert [m for m, _, _ in hub.requests] == ["HEAD"]


def test_without_a_terminal_ask_refuses_instead_of_hanging(tmp_path, hub):
    kernel = make_kernel(tmp_path, Fetcher(hub))  # pytest's stdin is no terminal
    with pytest.raises(polyvox.ModelError, match="no terminal to ask in.*POLYVOX_ALLOW_DOWNLOADS=1"):
        kernel.synthesize("Hello.", engine="fetcher", model="plain")  # no declared size: not even a HEAD
    assert hub.requests == []


def test_bundled_and_engine_managed_models_fetch_nothing(tmp_path, hub):
    bundled = tmp_path / "voice.onnx"
    bundled.write_bytes(b"onnx")
    engine = Fetcher(hub, bundled=bundled)
    kernel = make_kernel(tmp_path, engine, downloads="never")
    kernel.synthesize("Hello.", engine="fetcher", model="bundled")
    assert engine.received[-1]["voice.onnx"] == bundled
    audio = kernel.synthesize("Hello.", engine="fetcher", model="own")  # declares nothing: load(model, device)
    assert abs(pitch(audio) - 220.0) < 15
    assert kernel.weights.status("fetcher", "own") is None
    bundled.unlink()
    kernel.unload_all()
    with pytest.raises(polyvox.ModelError, match="bundled files are missing"):
        kernel.synthesize("Hello there.", engine="fetcher", model="bundled")


def test_a_declaration_that_raises_is_a_plugin_error_and_listed_as_such(tmp_path, hub):
    from polyvox.cli.models import rows

    class Broken(Fetcher):
        def weights(self, model: str) -> ModelWeights | None:
            raise KeyError(model)

    kernel = make_kernel(tmp_path, Broken(hub))
    with pytest.raises(polyvox.PluginError, match="engine 'fetcher' failed to declare the weights of model 'base'"):
        kernel.synthesize("Hello.", engine="fetcher")
    listed = rows(kernel, "fetcher")
    assert {r["state"] for r in listed} == {"error"} and "KeyError" in listed[0]["error"]


def test_bad_declarations_and_policies_are_one_line_errors(tmp_path):
    with pytest.raises(polyvox.PluginError, match="sha256 must be 64 hex digits"):
        UrlFile("https://example.org/a.bin", "abc")
    with pytest.raises(polyvox.PluginError, match="not a relative file name"):
        HubFiles("acme/x", ["../escape.bin"])
    with pytest.raises(polyvox.PolyvoxError, match="downloads='sometimes' is not allowed"):
        polyvox.Kernel(cache=False, load_entry_points=False, downloads="sometimes")


# -- the command line -----------------------------------------------------------------------
@pytest.fixture
def cli(tmp_path, hub, monkeypatch):
    """`polyvox` with the Fetcher engine registered in every kernel the command makes."""
    import polyvox.config
    from polyvox.cli import cli as command

    (tmp_path / "config.toml").touch()  # POLYVOX_CONFIG must name a file that exists
    monkeypatch.setenv("POLYVOX_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("POLYVOX_PLUGINS", "")
    monkeypatch.setenv("COLUMNS", "200")
    original = polyvox.config.Settings.kernel

    def with_fetcher(self: Any, **overrides: Any) -> polyvox.Kernel:
        kernel = original(self, **overrides)
        kernel.register(Fetcher(hub))
        return kernel

    monkeypatch.setattr(polyvox.config.Settings, "kernel", with_fetcher)

    def run(*args: str) -> Any:
        return CliRunner().invoke(command, list(args))

    return run


def states(run: Any) -> dict[str, str]:
    result = run("models", "--json")
    assert result.exit_code == 0, result.output
    return {row["model"]: row["state"] for row in json.loads(result.stdout) if row["engine"] == "fetcher"}


def test_models_lists_present_partial_and_missing_then_rm(tmp_path, hub, cli):
    assert states(cli) == {"base": "missing", "vocoder": "missing", "bundled": "engine-managed",
                           "own": "engine-managed", "plain": "missing"}
    pulled = cli("models", "pull", "fetcher")  # the default model
    assert pulled.exit_code == 0, pulled.output
    (tmp_path / "models" / "fetcher").mkdir(parents=True)
    (tmp_path / "models" / "fetcher" / "voc.bin.part").write_bytes(VOCODER[:10])
    assert states(cli) == {"base": "present", "vocoder": "partial", "bundled": "engine-managed",
                           "own": "engine-managed", "plain": "present"}  # plain's one file came with base
    rows = {r["model"]: r for r in json.loads(cli("models", "--json").stdout)}
    assert rows["base"]["size_bytes"] == len(MODEL_BIN) + len(CONFIG)
    assert rows["vocoder"]["languages"] == ["de"] and rows["base"]["license"] == "cc-by-4.0"
    path = cli("models", "path", "fetcher:base")
    assert Path(path.stdout.strip()).is_dir() and "models--acme--tiny-tts" in path.stdout
    table = cli("models")
    assert "present" in table.stdout and "partial" in table.stdout
    blobs = tmp_path / "hf" / "hub" / "models--acme--tiny-tts" / "blobs"
    removed = cli("models", "rm", "fetcher:base", "--yes")
    assert removed.exit_code == 0 and "removed" in removed.stdout
    after = states(cli)
    assert (after["base"], after["plain"]) == ("partial", "present")  # model.bin stays: plain uses it
    assert [p.read_bytes() for p in blobs.iterdir()] == [MODEL_BIN]
    assert cli("models", "rm", "fetcher:plain", "--yes").exit_code == 0  # base still holds model.bin: kept
    assert states(cli)["plain"] == "present"
    assert cli("models", "rm", "fetcher", "--all", "--yes").exit_code == 0  # both at once: the shared file goes
    after = states(cli)
    assert (after["base"], after["plain"]) == ("missing", "missing") and not list(blobs.iterdir())


def test_models_pull_all_then_engines_shows_weights(tmp_path, hub, cli):
    result = cli("models", "pull", "fetcher", "--all", "--json")
    assert result.exit_code == 0, result.output
    assert sorted(item["model"] for item in json.loads(result.stdout)) == ["base", "plain", "vocoder"]
    engines = cli("engines", "--json")
    (fetcher,) = [e for e in json.loads(engines.stdout) if e["name"] == "fetcher"]
    assert fetcher["weights"] == {"base": "present", "vocoder": "present", "bundled": "engine-managed",
                                 "own": "engine-managed", "plain": "present"}


def test_models_errors_are_one_line(tmp_path, hub, cli, monkeypatch):
    unknown = cli("models", "pull", "fetcher:nano")
    assert unknown.exit_code == 1 and "Error: fetcher model 'nano' has no weights" in unknown.stderr
    nameless = cli("models", "pull", ":x")  # it said "install it with `polyvox install `"
    assert nameless.exit_code == 2 and "':x' names no engine" in nameless.stderr
    assert "base, vocoder, plain" in unknown.stderr
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    offline = cli("models", "pull", "fetcher")
    assert offline.exit_code == 1 and "offline" in offline.stderr and "Traceback" not in offline.stderr
    assert hub.requests == []


def test_a_server_answers_503_with_the_pull_command_instead_of_downloading(tmp_path, hub):
    httpx = pytest.importorskip("httpx")
    from servekit import running

    kernel = make_kernel(tmp_path, Fetcher(hub), downloads="never")  # what `polyvox serve` runs with
    with running(kernel, tmp_path) as server:
        reply = httpx.post(f"{server.url}/v1/audio/speech", timeout=30,
                           json={"model": "fetcher", "input": "Hallo.", "voice": "alloy", "language": "de"})
    assert reply.status_code == 503, reply.text
    error = reply.json()["error"]
    assert "`polyvox models pull fetcher:vocoder`" in error["message"] and error["code"] == "engine_unavailable"
    assert hub.requests == []


def test_the_server_kernel_never_downloads() -> None:
    pytest.importorskip("fastapi")
    from polyvox.serve.app import create_app
    from polyvox.serve.config import ServeConfig

    app = create_app(ServeConfig(host="127.0.0.1", port=0))
    kernel = app.state.kernel  # under the body-size guard
    assert kernel is not None and kernel.weights._policy == "never"


def test_a_model_already_here_is_pulled_offline_without_a_request(tmp_path, hub, monkeypatch):
    """`models pull` of what is on the machine says so offline too (a script that makes sure a
    model is there broke offline)."""
    kernel = make_kernel(tmp_path, Fetcher(hub))
    kernel.weights.pull("fetcher", "base")
    before = len(hub.requests)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    files = kernel.weights.pull("fetcher", "base")
    assert files["model.bin"].read_bytes() == MODEL_BIN and len(hub.requests) == before


def test_a_hub_that_cannot_be_reached_is_not_a_missing_file(tmp_path, hub, monkeypatch):
    """No network: huggingface_hub raises LocalEntryNotFoundError, an EntryNotFoundError too,
    which read as "the repository has no file 'model.bin'"."""
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    def unreachable(*args, **kwargs):
        raise LocalEntryNotFoundError("An error happened while trying to locate the file on the Hub")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", unreachable)
    kernel = make_kernel(tmp_path, Fetcher(hub))
    with pytest.raises(polyvox.ModelError) as caught:
        kernel.weights.pull("fetcher", "base")
    assert "could not be reached" in str(caught.value) and "has no file" not in str(caught.value)
