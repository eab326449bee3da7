"""`polyvox serve` in a newcomer's first hour (issue 30): its mappings are checked before it
listens, it says once what it serves, and a voice the engine cannot use is not passed off."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from servekit import running

import polyvox
from polyvox.cli import cli
from polyvox.serve import ServeConfig, create_app
from polyvox.serve.startup import banner, check


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYVOX_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "config.toml").touch()
    monkeypatch.setenv("POLYVOX_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("POLYVOX_PLUGINS", "piper")
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(("args", "said"), [
    (["--model-alias", "tts-1=chatterbox"], "serve: --model-alias tts-1=chatterbox: engine 'chatterbox' is not "
                                            "installed (installed engines: piper)"),
    (["--model-alias", "tts-1=piper:nosuch"], "serve: --model-alias tts-1=piper:nosuch: engine 'piper' has no "
                                              "model 'nosuch'"),
    (["--voice-map", "alloy=Zed"], "serve: --voice-map alloy=Zed: unknown voice 'Zed'; give a voice of the voices "
                                   "folder"),
])
def test_a_mapping_no_request_could_use_stops_serve_before_it_listens(tmp_path: Path, args: list[str], said: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda self: pytest.fail("serve started listening"))
    result = CliRunner().invoke(cli, ["serve", "--voices", str(tmp_path / "v"), *args])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {said}"), result.stderr
    assert "en_US-joe-medium" in lines[0] or "--model-alias" in lines[0]


def test_mappings_to_what_is_there_pass_and_the_banner_says_what_is_served(tmp_path: Path) -> None:
    voices = tmp_path / "voices"
    voices.mkdir()
    polyvox.testing.reference_voice(voices, "Alice", 200.0)
    kernel = polyvox.Kernel(cache=False, plugins=["piper"])
    config = ServeConfig(port=8123, voices_dir=voices, api_keys=("first-key-0123456789", "second-key-0123456789"),
                         model_aliases={"tts-1": "piper", "tts-1-hd": "piper:en_US-joe-medium"},
                         voice_map={"alloy": "Alice", "echo": "en_US-joe-medium", "nova": "alloy"})
    service = create_app(config, kernel).state.service
    check(config, service)
    shown = banner(config, service, "tcp://127.0.0.1:10200").splitlines()
    assert shown == ["polyvox serve: http://127.0.0.1:8123/v1 and Wyoming on tcp://127.0.0.1:10200",
                     "  engines: piper", f"  voices folder: {voices} (1 voices)", "  API keys: required (2 keys)"]
    open_one = banner(ServeConfig(voices_dir=voices), service)
    assert open_one.endswith("API keys: not required (this machine only)")


def test_an_openai_name_mapped_to_another_engines_voice_is_that_engines_default(tmp_path: Path) -> None:
    """--voice-map alloy=heart maps for hibari; a request to Piper for alloy (OpenAI's default
    voice, sent when a client names none) speaks Piper's default, not a 404 about heart."""
    from polyvox.serve.errors import ApiError

    kernel = polyvox.Kernel(cache=False, plugins=["piper", "hibari"])
    config = ServeConfig(voices_dir=tmp_path / "v", voice_map={"alloy": "heart", "robot": "heart"})
    service = create_app(config, kernel).state.service
    assert service.resolve_voice("alloy", "hibari").model == "heart"
    assert service.resolve_voice("alloy", "piper") is None
    with pytest.raises(ApiError) as err:  # a name of the user's own mapping still says what it maps to
        service.resolve_voice("robot", "piper")
    assert err.value.status == 404 and "'robot' maps to 'heart' (--voice-map)" in err.value.message


def test_a_voice_the_engine_cannot_use_is_answered_with_a_warning_header(tmp_path: Path) -> None:
    """Piper cannot clone: asking for a server voice that is reference audio still speaks (in
    Piper's voice), and the response says so; a voice Piper has carries no warning."""
    voices = tmp_path / "server-voices"
    voices.mkdir()
    polyvox.testing.reference_voice(voices, "Alice", 200.0)
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=["piper"])
    with running(kernel, tmp_path, voices_dir=voices) as srv:
        with httpx.Client(base_url=srv.url, timeout=60) as http:
            cloned = http.post("/v1/audio/speech", json={"model": "piper", "input": "Hello there.", "voice": "Alice",
                                                         "response_format": "wav"})
            own = http.post("/v1/audio/speech", json={"model": "piper", "input": "Hello there.",
                                                      "voice": "en_US-joe-medium", "response_format": "wav"})
    assert cloned.status_code == 200 and len(cloned.content) > 10_000
    assert "does not clone voices: the narrator's reference audio 'Alice.wav' is not used" \
        in cloned.headers["X-Polyvox-Warning"]
    assert own.status_code == 200 and "X-Polyvox-Warning" not in own.headers


def test_serve_prints_its_banner_once_before_listening(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    listened: list = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: listened.append(self.config.port))
    result = CliRunner().invoke(cli, ["serve", "--port", "8765", "--voices", str(tmp_path / "v")])
    assert result.exit_code == 0, result.output
    assert listened == [8765] and result.stderr.count("polyvox serve: http://127.0.0.1:8765/v1\n") == 1
    assert "  engines: piper\n" in result.stderr and "API keys: not required (this machine only)" in result.stderr
