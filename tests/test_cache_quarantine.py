"""A damaged cache database is moved aside whole: the database with its write-ahead log and
shared-memory index (a stale log left beside a fresh database could be replayed into it), and the
value files its rows named, so the fresh cache starts empty and the damage can be inspected."""

from __future__ import annotations

import gc
import sqlite3

import numpy as np
import pytest

import polyvox

TEXT = "The first line is long enough to be stored in its own value file.\nA second line, to be sure."
LOG = ("cache.db-wal", "cache.db-shm")


def render(cache_dir):
    return polyvox.Kernel(cache_dir=cache_dir, plugins=["template"]).render(TEXT, engine="template")


def value_files(folder):
    """The value files under `folder` (not in a damaged-* folder), by path inside it."""
    found = {p.relative_to(folder) for p in folder.rglob("*.val")}
    return {p for p in found if not p.parts[0].startswith("damaged-")}


def leave_a_stale_log(cache_dir) -> dict[str, bytes]:
    """What a process killed mid-write leaves: a write-ahead log with a commit not yet copied into
    cache.db, and its index. Returns their bytes."""
    con = sqlite3.connect(cache_dir / "cache.db", isolation_level=None)
    con.execute("PRAGMA wal_autocheckpoint = 0")
    con.execute("UPDATE Settings SET value = value WHERE key = 'size_limit'")
    left = {name: (cache_dir / name).read_bytes() for name in LOG}
    con.close()  # checkpoints and deletes the log: put back what the killed process left
    for name, data in left.items():
        (cache_dir / name).write_bytes(data)
    return left


def damage(cache_dir) -> None:
    with open(cache_dir / "cache.db", "r+b") as fh:
        fh.write(np.random.default_rng(2).bytes(4096))  # the header and first page: not a database


@pytest.fixture
def primed(tmp_path):
    cache_dir = tmp_path / "c"
    first = render(cache_dir)
    assert first.stats.synthesized == 2 and len(value_files(cache_dir)) == 2
    return cache_dir, first.audio


def test_the_database_moves_with_its_log_and_its_value_files(primed):
    cache_dir, audio = primed
    gc.collect()  # the priming kernel (in reference cycles) closes its connection: the log is ours alone
    assert not any((cache_dir / name).exists() for name in LOG)
    log = leave_a_stale_log(cache_dir)
    values = value_files(cache_dir)
    damage(cache_dir)

    again = render(cache_dir)
    assert again.stats.synthesized == 2 and again.audio == audio
    (aside,) = cache_dir.glob("damaged-*")
    assert any(str(aside) in w for w in again.warnings)
    assert (aside / "cache.db").exists()
    assert {name: (aside / name).read_bytes() for name in LOG} == log  # the log went with its database
    for name in LOG:  # and none of it is left beside the fresh one
        assert not (cache_dir / name).exists() or (cache_dir / name).read_bytes() != log[name], name
    assert value_files(aside) == values  # the value files went too, where they were
    assert not values & value_files(cache_dir)  # and the fresh cache holds only its own
    assert len(value_files(cache_dir)) == 2

    healed = render(cache_dir)
    assert healed.stats.cached == 2 and healed.audio == audio and not healed.warnings


def test_two_damaged_databases_in_one_second_keep_a_folder_each(primed, monkeypatch):
    cache_dir, audio = primed
    monkeypatch.setattr("polyvox.cache.store.time.strftime", lambda fmt: "damaged-20260101-000000")
    kept = []
    for _ in range(2):
        kept.append(value_files(cache_dir))
        damage(cache_dir)
        again = render(cache_dir)
        assert again.stats.synthesized == 2 and again.audio == audio
        assert not any("cannot be written" in w for w in again.warnings), again.warnings
    first, second = sorted(cache_dir.glob("damaged-*"), key=lambda p: len(p.name))
    assert (first.name, second.name) == ("damaged-20260101-000000", "damaged-20260101-000000-2")
    assert [value_files(first), value_files(second)] == kept
    assert all((folder / "cache.db").exists() for folder in (first, second))
    assert render(cache_dir).stats.cached == 2
