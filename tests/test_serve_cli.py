"""`polyvox serve` on the command line: safe defaults, one-line refusals, a light --help."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from polyvox.cli import cli


def test_help_imports_no_server_stack():
    code = "import sys, polyvox.cli; sys.exit(1 if {'fastapi', 'uvicorn', 'av'} & set(sys.modules) else 0)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


@pytest.fixture
def never_served(monkeypatch):
    """Nothing is ever served, so no test binds an address: a refusal that went missing makes
    the command start the server, which fails the test at once instead of listening on the network."""
    def started(*args, **kwargs):
        raise AssertionError("the server was started: the refusal is missing")

    monkeypatch.setattr("polyvox.serve.run", started)


@pytest.mark.parametrize("host", ["::", "192.0.2.1"])  # every address, and another machine's
def test_a_network_bind_without_a_key_is_refused_in_one_line(never_served, host):
    result = CliRunner().invoke(cli, ["serve", "--host", host])
    assert result.exit_code == 1
    assert f"refusing to listen on '{host}' without an API key" in result.output
    assert "Traceback" not in result.output


def test_bad_wyoming_uri_and_mappings_are_refused_before_starting(never_served):
    result = CliRunner().invoke(cli, ["serve", "--wyoming", "tcp://[::]:10200"])
    assert result.exit_code == 1 and "refusing to serve Wyoming on '::'" in result.output
    result = CliRunner().invoke(cli, ["serve", "--model-alias", "tts-1"])
    assert result.exit_code == 2 and "is not NAME=TARGET" in result.output
