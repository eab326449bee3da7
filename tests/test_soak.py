"""`make soak` (scripts/soak.py), shortened to about 20 seconds of clients: the script starts
`polyvox serve --wyoming` on 127.0.0.1 with a temporary cache, runs every kind of client against
it, and passes only when the server survived with its threads, descriptors and memory in bounds.
Clients that close a stream early are among them: the server must survive them (issue #28.1)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from soak_clients import CLIENTS  # noqa: E402


@pytest.mark.slow
def test_a_short_soak_passes_with_every_client():
    run = subprocess.run([sys.executable, str(ROOT / "scripts/soak.py"), "--minutes", "0.33", "--threads", "3",
                          "--warm-up", "10"], capture_output=True, text=True, timeout=600)
    out = run.stdout
    assert run.returncode == 0 and out.rstrip().endswith("soak passed"), out[-4000:] + run.stderr[-2000:]
    summary = re.search(r"^(\d+) exchanges in .*: (.*)$", out, re.M)
    assert summary and int(summary[1]) >= 20, out[-2000:]
    ran = dict(item.rsplit(" ", 1) for item in summary[2].split(", "))
    assert set(ran) == set(CLIENTS)
    for key in ("threads", "fds", "sqlite_fds", "rss_mb"):  # each measured before and after
        assert re.search(rf"^  {key} +after warm-up +\d+.* end +\d+", out, re.M), key
