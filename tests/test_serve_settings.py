"""The server's smaller promises: `speed` is a number from 0.25 to 4.0 and nothing else, API keys
are long enough and need never be on a command line, and a cache that cannot be written is
said once at start and shown in /health."""

from __future__ import annotations

import logging
import sqlite3

import httpx
import pytest
from click.testing import CliRunner
from servekit import running

import polyvox
from polyvox.cli import cli
from polyvox.errors import PolyvoxError
from polyvox.serve import ServeConfig

SPEAK = "/v1/audio/speech"
KEY = "a-key-of-twenty-chars"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("settings")
    with running(polyvox.Kernel(cache_dir=tmp / "cache"), tmp) as srv:
        yield srv


# (null is the field left out: normal speed)
@pytest.mark.parametrize("speed", ["NaN", "Infinity", '"2"', "true", "false", "5", "0.1", '"fast"', "[1]"])
def test_speed_is_a_number_from_a_quarter_to_four_and_nothing_else(server, speed):
    body = '{"model": "template", "input": "Hi.", "speed": ' + speed + '}'
    r = httpx.post(f"{server.url}{SPEAK}", content=body, headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 400, (speed, r.status_code)
    error = r.json()["error"]
    assert (error["param"], error["code"], error["type"]) == ("speed", "invalid_value", "invalid_request_error")
    assert "a number from 0.25 to 4.0" in error["message"] and "≤" not in error["message"], error["message"]


@pytest.mark.parametrize("speed", [2, 0.25, 4, 1.5])
def test_a_whole_or_fractional_number_in_range_is_a_speed(server, speed):
    r = httpx.post(f"{server.url}{SPEAK}", json={"model": "template", "input": "Hi.", "speed": speed,
                                                 "response_format": "pcm"}, timeout=30)
    assert r.status_code == 200 and r.content


def test_a_short_key_is_refused_in_one_line_without_showing_it():
    with pytest.raises(PolyvoxError) as caught:
        ServeConfig(api_keys=(KEY, "x"))
    message = str(caught.value)
    assert "API key 2 has 1 characters" in message and "16 or more" in message and "\n" not in message
    assert KEY not in message
    ServeConfig(api_keys=(KEY, "b" * 16))  # 16 is enough
    result = CliRunner().invoke(cli, ["serve", "--api-key", "secret"])
    assert result.exit_code == 1 and "has 6 characters" in result.output and "secret" not in result.output
    assert "Traceback" not in result.output


def _started(monkeypatch, *args: str, env: dict[str, str] | None = None) -> tuple[object, ServeConfig | None]:
    """`polyvox serve ARGS` up to the point it would start serving: the config it would serve with."""
    import polyvox.serve

    seen: list[ServeConfig] = []
    monkeypatch.setattr(polyvox.serve, "run", lambda config, kernel, wyoming=None: seen.append(config))
    result = CliRunner().invoke(cli, ["serve", *args], env=env)
    return result, (seen[0] if seen else None)


def test_keys_come_from_a_file_and_the_environment_not_only_the_command_line(tmp_path, monkeypatch):
    keys = tmp_path / "keys.txt"
    keys.write_text(f"# the team's keys\n{KEY}\n\n  {'c' * 32}  \n", encoding="utf-8")
    result, config = _started(monkeypatch, "--api-key-file", str(keys), env={"POLYVOX_API_KEYS": "d" * 16})
    assert result.exit_code == 0, result.output
    assert config is not None and set(config.api_keys) == {KEY, "c" * 32, "d" * 16}
    for content, says in (("# only a comment\n\n", "holds no key"), (None, "cannot read the API key file")):
        path = tmp_path / ("comments.txt" if content else "missing.txt")
        if content is not None:
            path.write_text(content, encoding="utf-8")
        result, config = _started(monkeypatch, "--api-key-file", str(path))
        assert result.exit_code == 1 and says in result.output and config is None, result.output
        assert len([line for line in result.output.splitlines() if line.strip()]) == 1


def test_a_cache_that_cannot_be_written_is_said_once_and_shown_in_health(tmp_path, monkeypatch, caplog):
    """Simulated as a read-only mount (tests run as root, whom permissions do not stop): the
    database cannot be opened for writing."""
    import diskcache

    def read_only(self, *args, **kwargs):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    with running(polyvox.Kernel(cache_dir=tmp_path / "fine"), tmp_path / "a") as srv:
        assert httpx.get(f"{srv.url}/health", timeout=10).json()["cache"] == "ok"
    monkeypatch.setattr(diskcache.Cache, "__init__", read_only)
    with caplog.at_level(logging.WARNING, logger="polyvox.serve"), running(kernel, tmp_path / "b") as srv:
        health = httpx.get(f"{srv.url}/health", timeout=10).json()
        spoken = [httpx.post(f"{srv.url}{SPEAK}", json={"model": "template", "input": f"Hi {n}."}, timeout=30)
                  for n in range(2)]
    assert health["cache"] == "read-only" and health["status"] == "ok"
    assert [r.status_code for r in spoken] == [200, 200]  # it still serves
    said = [r.getMessage() for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(said) == 1 and "readonly" in said[0] and str(tmp_path / "cache") in said[0]
