"""Reading the cache fast without losing what it promised: a hit writes nothing (its access time
is written later, with others), entries written by an older polyvox are still hits, and a
value file that went away is a miss that heals."""

from __future__ import annotations

import hashlib
import sqlite3
import struct

import numpy as np
import pytest

import polyvox
from polyvox.cache.entries import AUDIO, encode_audio

TEXT = "\n".join(f"Line {i} is long enough to be stored in a value file of its own." for i in range(6))


def render(cache_dir, text=TEXT):
    return polyvox.Kernel(cache_dir=cache_dir, plugins=["template"]).render(text, engine="template")


def rows(cache_dir) -> dict[str, tuple[float, str | None]]:
    """Each audio entry's access time and value file."""
    with sqlite3.connect(cache_dir / "cache.db") as con:
        found = con.execute("SELECT key, access_time, filename FROM Cache WHERE key LIKE 'audio:%'").fetchall()
    return {key: (when, filename) for key, when, filename in found}


def format_1(key: str, audio: polyvox.Audio) -> bytes:
    """An entry as polyvox wrote them before XXH3: a 50-byte header with a BLAKE2b-256 of the
    key, the header and the samples (the format as it was, written out here on purpose)."""
    payload = np.asarray(audio.samples, dtype="<f4").tobytes()
    head = struct.pack("<4sHIQ", b"PVXA", 1, audio.sample_rate, len(payload) // 4)
    check = hashlib.blake2b(key.encode() + b"\0" + head + payload, digest_size=32).digest()
    return head + check + payload


def test_a_warm_render_writes_the_access_times_once_not_per_hit(tmp_path, monkeypatch):
    import diskcache

    cache_dir = tmp_path / "c"
    first = render(cache_dir)
    before = rows(cache_dir)
    writes = []
    real = diskcache.Cache._transact

    def counted(self, *args, **kwargs):
        writes.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(diskcache.Cache, "_transact", counted)
    assert render(cache_dir, TEXT.splitlines()[0]).stats.cached == 1
    one_hit = len(writes)
    writes.clear()
    again = render(cache_dir)
    assert again.stats.cached == 6 and again.audio == first.audio
    assert len(writes) == one_hit  # as many write transactions for six hits as for one
    after = rows(cache_dir)
    assert all(after[key][0] > before[key][0] for key in before)  # and the eviction clock moved


def test_eviction_still_follows_the_last_reads(tmp_path):
    cache_dir = tmp_path / "c"
    render(cache_dir, "An old line that is read again later on.")
    render(cache_dir, "A newer line that nobody reads again.")
    render(cache_dir, "An old line that is read again later on.")  # a hit: now the most recent
    times = sorted(rows(cache_dir).values())
    newer = polyvox.Kernel(cache_dir=cache_dir, plugins=["template"]).plan(
        "A newer line that nobody reads again.", engine="template")[0].key
    assert times[0] == rows(cache_dir)[AUDIO + newer]  # least recently used: the one not read again


def test_entries_of_the_previous_format_are_hits(tmp_path):
    """A cache filled by a polyvox that wrote BLAKE2b checksums keeps working: its entries are
    read (and checked) as they are, and a damaged one is still caught and healed."""
    import diskcache

    from polyvox.cache.entries import _disk_class, decode_audio

    cache_dir = tmp_path / "c"
    first = render(cache_dir)
    dc = diskcache.Cache(str(cache_dir), eviction_policy="least-recently-used", disk=_disk_class())
    keys = [k for k in dc.iterkeys() if k.startswith(AUDIO)]
    for db_key in keys:
        plain = decode_audio(db_key[len(AUDIO):], dc.get(db_key))  # (format 1 had no word times)
        dc.set(db_key, format_1(db_key[len(AUDIO):], polyvox.Audio(plain.samples, plain.sample_rate)))
    assert all(dc.get(k)[4:6] == b"\x01\x00" for k in keys)  # every entry is format 1 now
    old = render(cache_dir)
    assert old.stats.cached == 6 and np.array_equal(old.audio.samples, first.audio.samples) and not old.warnings
    victim = keys[2]
    blob = bytearray(dc.get(victim))
    blob[len(blob) // 2] ^= 0x01
    dc.set(victim, bytes(blob))
    dc.close()
    caught = render(cache_dir)
    assert (caught.stats.cached, caught.stats.synthesized) == (5, 1)
    assert np.array_equal(caught.audio.samples, first.audio.samples)
    assert any("checksum" in w for w in caught.warnings)
    healed = render(cache_dir)
    assert healed.stats.cached == 6 and not healed.warnings


def test_a_value_file_that_went_away_is_a_miss_that_heals(tmp_path):
    cache_dir = tmp_path / "c"
    first = render(cache_dir)
    _, filename = next(iter(rows(cache_dir).values()))
    (cache_dir / filename).unlink()
    again = render(cache_dir)
    assert (again.stats.cached, again.stats.synthesized) == (5, 1) and again.audio == first.audio
    assert render(cache_dir).stats.cached == 6


@pytest.mark.parametrize("samples", [0, 1, 7, 22050])
def test_a_read_entry_is_the_audio_written(samples):
    from polyvox.cache.entries import decode_audio

    audio = polyvox.Audio(np.random.default_rng(samples).uniform(-1, 1, samples).astype(np.float32), 22050)
    back = decode_audio("k", encode_audio("k", audio))
    assert back == audio and back.samples.flags.aligned and not back.samples.flags.writeable


def test_a_value_file_written_in_short_pieces_holds_the_whole_entry(tmp_path, monkeypatch):
    """A value file is written with one `writev`, which a file system may take in part (a signal,
    a disk nearly full): the rest is written after, so what is read back is the whole entry."""
    import os

    from polyvox.cache.store import ContentCache
    from polyvox.words.timing import WordTime

    real = os.writev
    monkeypatch.setattr(os, "writev", lambda fd, buffers: real(fd, [memoryview(buffers[0])[:1000]]))
    audio = polyvox.Audio(np.linspace(-1, 1, 30_000, dtype=np.float32), 24000,
                          words=[WordTime("one", 0.1, 0.4), WordTime("two", 0.5, 1.2)])
    cache = ContentCache(tmp_path / "c")
    cache.put("k", audio)
    back = ContentCache(tmp_path / "c").get("k")
    assert back is not None and np.array_equal(back.samples, audio.samples) and back.words == audio.words
    assert sum(p.stat().st_size for p in (tmp_path / "c").rglob("*.val")) == len(encode_audio("k", audio))
