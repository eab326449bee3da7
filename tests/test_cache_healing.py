"""A cache never takes a render down: damaged entries, a damaged database, a read-only or full
directory all end in a complete render and one warning. And nothing in it is ever unpickled."""

from __future__ import annotations

import errno
import json
import os
import pickle
import sqlite3

import numpy as np
import pytest
from click.testing import CliRunner

import polyvox
from polyvox.cache import entries
from polyvox.cache.entries import AUDIO, FILE_HASH, LAST_RENDER, DamagedEntry, decode_audio, encode_audio
from polyvox.cache.keys import Fingerprints
from polyvox.cache.store import ContentCache
from polyvox.cli import cli as main

TEXT = "The first line is long enough to be stored in its own value file.\nA second line, to be sure."


def template_kernel(cache_dir) -> polyvox.Kernel:
    return polyvox.Kernel(cache_dir=cache_dir, plugins=["template"])


def render(cache_dir, text=TEXT):
    return template_kernel(cache_dir).render(text, engine="template")


def value_files(cache_dir):
    return sorted(p for p in cache_dir.rglob("*.val") if "damaged-" not in str(p))


def cache_warnings(result):
    return [w for w in result.warnings if "cache" in w]


@pytest.fixture
def primed(tmp_path):
    """A cache holding two segments of TEXT, both in value files, and the audio they make."""
    cache_dir = tmp_path / "c"
    first = render(cache_dir)
    assert first.stats.synthesized == 2 and len(value_files(cache_dir)) == 2
    return cache_dir, first.audio


def test_random_bytes_over_a_value_file_are_a_miss_and_healed(primed):
    cache_dir, audio = primed
    victim = value_files(cache_dir)[0]
    victim.write_bytes(np.random.default_rng(1).bytes(victim.stat().st_size))
    again = render(cache_dir)
    assert (again.stats.cached, again.stats.synthesized) == (1, 1)
    assert again.audio == audio  # the template engine is deterministic: the same audio comes back
    (warning,) = cache_warnings(again)
    assert "synthesized again" in warning
    healed = render(cache_dir)
    assert healed.stats.cached == 2 and not cache_warnings(healed)


def test_one_flipped_byte_of_audio_is_caught_by_the_checksum(primed):
    cache_dir, audio = primed
    victim = value_files(cache_dir)[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01  # inside the samples: still a valid float, a wrong one
    victim.write_bytes(bytes(data))
    again = render(cache_dir)
    assert again.stats.synthesized == 1 and again.audio == audio
    (warning,) = cache_warnings(again)
    assert "checksum" in warning


def test_entry_codec_rejects_every_kind_of_damage():
    audio = polyvox.Audio(np.linspace(-0.5, 0.5, 100, dtype=np.float32), 22050)
    blob = encode_audio("k", audio)
    assert decode_audio("k", blob) == audio
    with pytest.raises(DamagedEntry, match="checksum"):
        decode_audio("other key", blob)  # the same bytes under another key
    with pytest.raises(DamagedEntry, match="bytes of audio"):
        decode_audio("k", blob[:-4])
    with pytest.raises(DamagedEntry, match="header"):
        decode_audio("k", b"PVXA")
    with pytest.raises(DamagedEntry, match="header"):
        decode_audio("k", pickle.dumps((22050, b"\0" * 400)))


def test_a_damaged_database_is_moved_aside_and_a_fresh_one_used(primed):
    cache_dir, audio = primed
    db = cache_dir / "cache.db"
    with open(db, "r+b") as fh:
        fh.write(np.random.default_rng(2).bytes(4096))
    again = render(cache_dir)
    assert again.stats.synthesized == 2 and again.audio == audio
    (warning,) = cache_warnings(again)
    (aside,) = cache_dir.glob("damaged-*")
    assert str(aside) in warning and (aside / "cache.db").exists()  # kept for inspection
    assert render(cache_dir).stats.cached == 2  # the fresh database works


def test_cli_commands_survive_a_damaged_database(primed):
    cache_dir, _ = primed
    (cache_dir / "cache.db").write_bytes(b"\0" * 4096)
    result = CliRunner().invoke(main, ["cache", "stats", "--json"], env={"POLYVOX_CACHE_DIR": str(cache_dir)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["entries"] == 0
    assert "moved aside" in result.stderr


@pytest.mark.parametrize("error", [errno.EROFS, errno.ENOSPC, errno.EACCES])
def test_an_unwritable_cache_directory_turns_caching_off_for_the_render(tmp_path, monkeypatch, error):
    """Simulated: tests run as root, whom chmod does not stop, so the cache's writes fail with
    the errno a read-only file system, a full disk or a denied permission gives."""
    import diskcache

    def failing(self, *args, **kwargs):
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(diskcache.Disk, "_write", failing)  # every value file write
    monkeypatch.setattr(entries, "write_parts", lambda *args: failing(None))  # an audio entry's
    monkeypatch.setattr(diskcache.Cache, "_transact", failing)  # every database write
    result = render(tmp_path / "c")
    assert result.stats.synthesized == 2 and result.audio.duration > 1.0
    (warning,) = cache_warnings(result)
    assert "nothing new is stored" in warning and os.strerror(error).split()[0].lower() in warning.lower()


def test_a_cache_path_that_is_a_file_turns_caching_off_not_the_render(tmp_path):
    (tmp_path / "story.txt").write_text("not a folder")
    result = render(tmp_path / "story.txt")
    assert result.stats.synthesized == 2 and result.audio.duration > 1.0
    (warning,) = cache_warnings(result)
    assert "it is a file, not a folder" in warning and "nothing new is stored" in warning


def test_a_full_database_turns_caching_off(tmp_path, monkeypatch):
    import diskcache

    def full(self, *args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(diskcache.Cache, "_transact", full)
    result = render(tmp_path / "c")
    assert result.stats.synthesized == 2
    (warning,) = cache_warnings(result)
    assert "disk is full" in warning


def test_a_cache_directory_that_cannot_be_created_turns_caching_off(tmp_path):
    """A real failure (not simulated): the cache's parent is a file, so mkdir fails even for root."""
    (tmp_path / "blocker").write_text("x")
    result = render(tmp_path / "blocker" / "c")
    assert result.stats.synthesized == 2
    (warning,) = cache_warnings(result)
    assert "nothing new is stored" in warning


def test_nothing_in_the_cache_is_pickled(primed):
    cache_dir, _ = primed
    with sqlite3.connect(cache_dir / "cache.db") as con:
        rows = con.execute("SELECT key, raw, mode FROM Cache").fetchall()
    assert rows and all(isinstance(key, str) and raw == 1 for key, raw, _ in rows)
    assert {mode for _, _, mode in rows} <= {1, 2, 3}  # raw, binary, text: never 4 (pickle)
    assert {k for k, _, _ in rows if not k.startswith((AUDIO, FILE_HASH))} <= {LAST_RENDER}


def test_a_planted_pickle_is_never_loaded(tmp_path, monkeypatch):
    cache = ContentCache(tmp_path / "c")
    audio = polyvox.Audio(np.zeros(10, np.float32), 16000)
    cache.put("k", audio)
    with sqlite3.connect(tmp_path / "c" / "cache.db") as con:
        con.execute("UPDATE Cache SET mode = 4, value = ?", (pickle.dumps(("boom",)),))
        con.execute("INSERT INTO Cache (key, raw, store_time, expire_time, access_time, access_count, tag, size,"
                    " mode, filename, value) VALUES (?, 0, 0, NULL, 0, 0, NULL, 0, 1, NULL, X'00')",
                    (pickle.dumps(("audio", "k")),))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("unpickled"))
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("unpickled"))
    seen = []
    cache.warn = lambda kind, message: seen.append(message)
    assert cache.get("k") is None and len(seen) == 1 and "pickled" in seen[0]
    report = cache.verify(repair=True)
    assert report.checked == 1 and report.removed == 1 and "not text" in report.bad[0].reason


def test_file_hash_memo_uses_text(tmp_path):
    cache = ContentCache(tmp_path / "c")
    voice = tmp_path / "v.wav"
    polyvox.Audio(np.zeros(1600, np.float32), 16000).write(voice)
    digest = polyvox.cache.keys.Fingerprints(cache.store).file(voice)
    with sqlite3.connect(tmp_path / "c" / "cache.db") as con:
        ((key, value),) = con.execute("SELECT key, value FROM Cache").fetchall()
    assert key.startswith(FILE_HASH) and value == digest
    with sqlite3.connect(tmp_path / "c" / "cache.db") as con:
        con.execute("UPDATE Cache SET value = 'not a digest'")
    again = polyvox.cache.keys.Fingerprints(cache.store)
    assert again.file(voice) == digest and again.files_hashed == 1  # a bad memo is recomputed


def test_a_cache_that_cannot_be_written_still_remembers_its_file_hashes(tmp_path, monkeypatch):
    """The memo of a read-only cache is read through the read-only connection: a voice file
    hashed before is not hashed again."""
    import diskcache

    voice = tmp_path / "v.wav"
    polyvox.Audio(np.zeros(1600, np.float32), 16000).write(voice)
    digest = Fingerprints(ContentCache(tmp_path / "c").store).file(voice)

    def read_only(self, *args, **kwargs):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(diskcache.Cache, "__init__", read_only)
    cache = ContentCache(tmp_path / "c")
    again = Fingerprints(cache.store)
    assert again.file(voice) == digest and again.files_hashed == 0
    assert any("readonly" in problem for problem in cache.problems)  # it was off, and read all the same


def test_verify_reports_and_repair_drops_bad_entries(primed):
    cache_dir, _ = primed
    victim = value_files(cache_dir)[0]
    victim.write_bytes(b"garbage")
    env = {"POLYVOX_CACHE_DIR": str(cache_dir)}
    runner = CliRunner()
    checked = runner.invoke(main, ["cache", "verify"], env=env)
    assert checked.exit_code == 1 and "1 bad; run with --repair" in checked.stdout
    assert "shorter than its 36-byte header" in checked.stdout
    repaired = runner.invoke(main, ["cache", "verify", "--repair", "--json"], env=env)
    assert repaired.exit_code == 0
    report = json.loads(repaired.stdout)
    assert report["removed"] == 1 and len(report["bad"]) == 1 and report["bad"][0]["key"].startswith(AUDIO)
    clean = runner.invoke(main, ["cache", "verify", "--json"], env=env)
    assert clean.exit_code == 0 and json.loads(clean.stdout)["checked"] == report["checked"] - 1
    assert json.loads(clean.stdout)["bad"] == []


def test_stats_and_clear_count_the_same_entries(tmp_path):
    voice = tmp_path / "v.wav"
    polyvox.Audio(np.sin(np.arange(16000) / 10).astype(np.float32) * 0.2, 16000).write(voice)
    kernel = template_kernel(tmp_path / "c")
    kernel.render("One line.", engine="template", voice=str(voice))  # one segment, plus file-hash memos
    env = {"POLYVOX_CACHE_DIR": str(tmp_path / "c")}
    stats = json.loads(CliRunner().invoke(main, ["cache", "stats", "--json"], env=env).stdout)
    cleared = json.loads(CliRunner().invoke(main, ["cache", "clear", "--yes", "--json"], env=env).stdout)
    assert stats["entries"] == cleared["removed"] == 1


FSIZE_RENDER = """
import resource, signal, sys, polyvox
kernel = polyvox.Kernel(cache_dir=sys.argv[1], plugins=["template"])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
result = kernel.render(sys.argv[3], engine="template")
print(result.stats.synthesized, round(result.audio.duration, 2), *result.warnings, sep="\\n")
"""


@pytest.mark.parametrize("limit", [0, 150_000])
def test_real_failing_writes_turn_caching_off(tmp_path, limit):
    """Not simulated: the render runs under RLIMIT_FSIZE, which stops root's writes as a full
    disk would (no file may grow past `limit` bytes: 0, or room for the database but not the
    audio). Output goes to a pipe, which the limit does not cover."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", FSIZE_RENDER, str(tmp_path / "c"), str(limit), TEXT],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    synthesized, seconds, *warnings = run.stdout.splitlines()
    assert synthesized == "2" and float(seconds) > 1.0
    (warning,) = warnings
    assert "nothing new is stored" in warning
    # nothing half-written is left behind to fill the disk further, render after render
    assert not list((tmp_path / "c").glob("*.tmp"))


def test_a_write_cut_short_by_a_full_disk_leaves_no_file(tmp_path, monkeypatch):
    """The disk fills up in the middle of a value file (simulated: root is not stopped by a full
    tmpfs in every test machine; the system call writes part of the file, then fails with the
    errno a full disk gives): the part written is removed, the render goes on uncached."""
    real = os.writev

    def cut_short(fd, buffers):
        real(fd, [b"\0" * 4096])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(os, "writev", cut_short)
        result = render(tmp_path / "c")
    assert result.stats.synthesized == 2 and "no space left" in cache_warnings(result)[0]
    assert not value_files(tmp_path / "c")


def test_a_write_cut_short_leaves_no_file_that_clear_or_repair_keeps(tmp_path, monkeypatch):
    """A value file its write left half-written (a process killed mid-write cannot remove it;
    simulated: the write leaves 4096 bytes and fails). diskcache writes a value's file before
    its row, so the file is left with no row: nothing reads, counts or evicts it. `cache
    verify` lists it, `--repair` and `cache clear` remove it."""
    def cut_short(path, entry):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "xb") as fh:
            fh.write(b"\0" * 4096)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(entries, "write_parts", cut_short)
        result = render(tmp_path / "c")
    assert result.stats.synthesized == 2 and "no space left" in cache_warnings(result)[0]
    (stray,) = value_files(tmp_path / "c")
    env = {"POLYVOX_CACHE_DIR": str(tmp_path / "c")}
    runner = CliRunner()
    fresh = runner.invoke(main, ["cache", "verify"], env=env)
    assert fresh.exit_code == 0, fresh.output  # it may still be a write waiting for the lock
    os.utime(stray, (stray.stat().st_atime - 600, stray.stat().st_mtime - 600))
    checked = runner.invoke(main, ["cache", "verify", "--json"], env=env)
    assert checked.exit_code == 1
    (bad,) = json.loads(checked.stdout)["bad"]
    assert bad["key"].startswith("file ") and "4096 bytes" in bad["reason"]
    repaired = runner.invoke(main, ["cache", "verify", "--repair", "--json"], env=env)
    assert repaired.exit_code == 0 and json.loads(repaired.stdout)["removed"] == 1
    assert not stray.exists()


def test_clear_removes_value_files_no_entry_refers_to(primed):
    cache_dir, _ = primed
    assert [len(p.relative_to(cache_dir).parts) for p in value_files(cache_dir)] == [2, 2]  # one folder deep
    stray = value_files(cache_dir)[0].with_name("0123456789abcdef0123456789ab.val")
    stray.write_bytes(b"\0" * 50_000)  # what a killed or refused write leaves
    older = cache_dir / "ab" / "cd" / "0123456789abcdef0123456789ab.val"  # older polyvox: two folders deep
    older.parent.mkdir(parents=True)
    older.write_bytes(b"\0" * 50_000)
    assert ContentCache(cache_dir).clear() == 2
    assert not value_files(cache_dir)


def damage_rows(cache_dir):
    """Zeros over the table of entries and everything after it: the database still opens (its
    schema and settings are intact) but every read of a row finds it malformed."""
    db = cache_dir / "cache.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every row into cache.db, none left in the log
    (root,) = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'Cache'").fetchone()
    page = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    with open(db, "r+b") as fh:
        fh.seek((root - 1) * page)
        fh.write(b"\0" * (db.stat().st_size - (root - 1) * page))


@pytest.mark.parametrize("command", ["verify", "stats", "clear"])
def test_cache_commands_move_aside_a_database_damaged_past_its_schema(primed, command):
    """It opens, so nothing moved it aside on the way in; `stats` and `clear` stopped with an
    internal error and `verify` too. Now each moves it aside and works on a fresh one, and
    `verify` (which asks SQLite to check every page) lists it."""
    cache_dir, _ = primed
    damage_rows(cache_dir)
    env = {"POLYVOX_CACHE_DIR": str(cache_dir)}
    args = {"verify": ["cache", "verify", "--json"], "stats": ["cache", "stats", "--json"],
            "clear": ["cache", "clear", "--yes", "--json"]}[command]
    run = CliRunner().invoke(main, args, env=env)
    assert "internal error" not in run.output
    assert run.exit_code == (1 if command == "verify" else 0), run.output
    assert "moved aside" in run.stderr and len(list(cache_dir.glob("damaged-*/cache.db"))) == 1
    if command == "verify":
        (bad,) = json.loads(run.stdout)["bad"]
        assert bad["key"] == "cache.db" and "malformed" in bad["reason"] and "\n" not in bad["reason"]
        again = CliRunner().invoke(main, ["cache", "verify"], env=env)
        assert again.exit_code == 0 and "0 bad" in again.stdout
    result = render(cache_dir)
    assert result.stats.synthesized == 2 and not cache_warnings(result)


def test_a_cache_that_cannot_be_written_still_serves_what_it_holds(primed, monkeypatch):
    """A cache on a read-only mount (a team cache, one baked into an image): diskcache cannot
    open it (it writes on opening, and on every read for its LRU clock). Simulated, as root
    is not stopped by permissions: opening fails as on a read-only file system. The segments
    already there are read through a read-only connection; new ones are synthesized."""
    import diskcache

    cache_dir, audio = primed

    def read_only(self, *args, **kwargs):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(diskcache.Cache, "__init__", read_only)
    result = render(cache_dir, TEXT + "\nA third line, not in the cache yet.")
    assert (result.stats.cached, result.stats.synthesized) == (2, 1)
    np.testing.assert_array_equal(result.audio.samples[: len(audio.samples)], audio.samples)
    (warning,) = cache_warnings(result)
    assert "readonly" in warning and "nothing new is stored" in warning


def test_a_write_failing_mid_render_does_not_stop_the_hits_after_it(primed, monkeypatch):
    """The disk fills up at the first new segment; the segments after it that the cache holds
    are still served from it, not synthesized again."""
    cache_dir, _ = primed

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(entries, "write_parts", full)
    kernel = template_kernel(cache_dir)
    result = kernel.render("A new first line, long enough to need a value file of its own.\n" + TEXT,
                           engine="template")
    assert (result.stats.synthesized, result.stats.cached) == (1, 2)
    (warning,) = cache_warnings(result)
    assert "no space left" in warning


def test_cache_commands_on_a_path_they_cannot_use_say_one_line(tmp_path):
    """No render's warning ("nothing new is stored in it for this render") before the error."""
    (tmp_path / "afile").write_text("x")
    for command in (["cache", "stats"], ["cache", "verify"], ["cache", "clear", "--yes"]):
        result = CliRunner().invoke(main, command, env={"POLYVOX_CACHE_DIR": str(tmp_path / "afile")})
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.exit_code == 1 and len(lines) == 1, result.stderr
        assert lines[0].startswith("Error: cannot use cache directory") and "it is a file" in lines[0]
