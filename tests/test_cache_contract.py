"""The cache store's contract, run against every store: a directory (diskcache), Redis, and
Redis with a directory in front. Hits, misses, first writer wins, damaged entries healed,
statistics seen alike from two kernels, verify and clear; and for Redis, a server that goes
away mid-render (the render finishes uncached and says so once)."""

from __future__ import annotations

import pytest
from conftest import ToneEngine
from rediskit import redis_server  # noqa: F401 - the fixture

import polyvox
from polyvox.cache.entries import AUDIO
from polyvox.cache.opening import open_cache

TEXT = "The first line is long enough to be stored in its own value file.\nA second line, to be sure."


class Store:
    """How a test opens one backend and damages an entry behind its back."""

    def __init__(self, kind, tmp_path, server):
        self.kind = kind
        self.tmp_path = tmp_path
        self.server = server

    def kernel(self, name="k1", **options):
        url = self.server.url if self.server is not None else None
        return polyvox.Kernel(cache_dir=self.tmp_path / ("disk" if self.server is None else f"local-{name}"),
                              cache_url=url, cache_local=self.kind == "redis+local", plugins=["template"],
                              **options)

    def damage(self, key):
        """One flipped bit in the audio of the entry under `key`, in the store every process shares."""
        if self.server is not None:
            client = self.server.client()
            client.set(f"polyvox:{AUDIO}{key}", flipped(client.get(f"polyvox:{AUDIO}{key}")))
            return
        import diskcache

        with diskcache.Cache(str(self.tmp_path / "disk")) as dc:
            dc.set(AUDIO + key, flipped(dc.get(AUDIO + key)))


def flipped(blob):
    damaged = bytearray(blob)
    damaged[len(damaged) // 2] ^= 0x10
    return bytes(damaged)


@pytest.fixture(params=["disk", "redis", "redis+local"])
def store(request, tmp_path):
    server = request.getfixturevalue("redis_server") if request.param != "disk" else None
    return Store(request.param, tmp_path, server)


def cache_warnings(result):
    return [w for w in result.warnings if "cache" in w]


def test_a_render_is_made_once_then_read_back(store):
    first = store.kernel().render(TEXT, engine="template")
    assert (first.stats.cached, first.stats.synthesized) == (0, 2)
    again = store.kernel("k2").render(TEXT, engine="template")  # another process, the same store
    assert (again.stats.cached, again.stats.synthesized) == (2, 0)
    assert again.audio == first.audio and not cache_warnings(again)


def test_a_line_repeated_in_one_render_is_made_once(store):
    first = store.kernel().render("Again and again.\nSomething else.\nAgain and again.", engine="template")
    assert (first.stats.synthesized, first.stats.cached) == (2, 1)


def test_a_warm_render_from_redis_reads_its_segments_many_per_round_trip(redis_server, tmp_path):  # noqa: F811
    text = "\n".join(f"Line number {i} of the script." for i in range(40))
    polyvox.Kernel(cache=True, cache_url=redis_server.url, plugins=["template"]).render(text, engine="template")
    client = redis_server.client()
    client.config_resetstat()
    warm = polyvox.Kernel(cache_url=redis_server.url, plugins=["template"]).render(text, engine="template")
    assert warm.stats.cached == 40
    calls = {name: stats["calls"] for name, stats in client.info("commandstats").items()}
    # 32 + 8 segments in two round trips, not a GET each (a GET or so is the memo's: file hashes)
    assert calls.get("cmdstat_mget") == 2 and calls.get("cmdstat_get", 0) < 5


def test_what_is_stored_after_it_was_read_ahead_is_found(redis_server):  # noqa: F811
    import numpy as np

    cache = open_cache(url=redis_server.url)
    first, second = "01" * 32, "02" * 32
    cache.expect([first, second])
    assert cache.get(first) is None  # reads both: neither is there yet
    clip = polyvox.Audio(np.full(800, 0.25, dtype=np.float32), 16000)
    cache.put(second, clip)  # made meanwhile (by another render of this server)
    assert cache.get(second) == clip
    # and by another replica: absent when read ahead is asked again at its turn
    third, fourth = "03" * 32, "04" * 32
    cache.expect([third, fourth])
    assert cache.get(third) is None
    open_cache(url=redis_server.url).put(fourth, clip)
    assert cache.get(fourth) == clip


def test_first_writer_wins_and_a_new_take_replaces(store):
    cache = store.kernel().cache
    import numpy as np

    one = polyvox.Audio(np.full(3200, 0.1, dtype=np.float32), 16000)
    two = polyvox.Audio(np.full(3200, 0.2, dtype=np.float32), 16000)
    key = "ab" * 32
    assert cache.get(key) is None  # a miss
    assert cache.put(key, one) == one
    assert cache.put(key, two) == one  # someone got there first: theirs is what is stored
    assert store.kernel("k2").cache.get(key) == one
    assert cache.put(key, two, replace=True) == two
    assert store.kernel("k3").cache.get(key) == two


def test_a_damaged_entry_is_a_miss_made_again_and_healed(store):
    first = store.kernel().render(TEXT, engine="template")
    store.damage(first.segments[0].key)
    again = store.kernel("k2").render(TEXT, engine="template")
    assert (again.stats.cached, again.stats.synthesized) == (1, 1)
    assert again.audio == first.audio
    (warning,) = cache_warnings(again)
    assert "synthesized again" in warning
    healed = store.kernel("k3").render(TEXT, engine="template")
    assert healed.stats.cached == 2 and not cache_warnings(healed)


def test_verify_finds_the_damage_and_repair_drops_it(store):
    first = store.kernel().render(TEXT, engine="template")
    store.damage(first.segments[1].key)
    cache = store.kernel("k2").cache
    report = cache.verify()
    assert [b.reason for b in report.bad] == [
        "fails its checksum (the audio or its header changed after it was written)"]
    assert cache.verify(repair=True).removed == 1
    assert not cache.verify().bad
    assert cache.clear() == 1 and cache.stats().entries == 0


def test_statistics_are_the_same_from_either_kernel(store):
    store.kernel().render(TEXT, engine="template")
    store.kernel("k2").render(TEXT + "\nA third line.", engine="template")
    one, two = store.kernel("k3").cache.stats(), store.kernel("k4").cache.stats()
    assert one == two
    assert (one.entries, one.last_hits, one.last_misses) == (3, 2, 1)
    assert one.size_bytes > 3 * 4 * 16000 * 0.5  # three clips of float32 audio, half a second or more each
    if store.kind != "disk":  # a shared store keeps the totals of every render of every server
        assert (one.total_hits, one.total_misses) == (2, 3)


class Unplugging(ToneEngine):
    """Kills the Redis server as it makes the segment with "kill" in it, and starts it again on
    the segment with "restart"."""

    def __init__(self, server):
        super().__init__()
        self.server = server

    def synthesize(self, model, request, conditioning):
        if "kill" in request.text:
            self.server.kill()
        if "restart" in request.text:
            self.server.start()
        return super().synthesize(model, request, conditioning)


@pytest.mark.parametrize("local", [False, True])
def test_redis_going_away_mid_render_finishes_it_uncached_and_says_so_once(redis_server, tmp_path,  # noqa: F811
                                                                          local):
    events = []
    kernel = polyvox.Kernel(cache_dir=tmp_path / "local", cache_url=redis_server.url, cache_local=local,
                            on_event=events.append)
    kernel.register(Unplugging(redis_server))
    script = ["one", "two kill", "three", "four restart", "five", "six"]
    result = kernel.render("\n".join(script), engine="tone")
    assert [s.segment.text for s in result.segments] == script and result.audio.duration > 0
    (warning,) = cache_warnings(result)
    assert "cannot be used" in warning and "goes on without it" in warning
    assert [e.kind for e in events if isinstance(e, polyvox.events.Warning)] == ["cache"]
    # uncached to the end: the segments after the restart were not stored either
    assert list(redis_server.client().scan_iter(match=f"polyvox:{AUDIO}*")) == []
    # the server came back empty (nothing saved); the next render stores again, the one after reads
    again = kernel.render("\n".join(t.replace("kill", "k").replace("restart", "r") for t in script), engine="tone")
    assert not cache_warnings(again)
    third = kernel.render("\n".join(t.replace("kill", "k").replace("restart", "r") for t in script), engine="tone")
    assert third.stats.cached == 6


def test_a_bad_cache_url_is_one_line():
    with pytest.raises(polyvox.PolyvoxError, match="'http://x' is not a Redis URL"):
        open_cache(url="http://x")


def test_the_cache_commands_speak_of_the_shared_cache(redis_server, tmp_path, monkeypatch):  # noqa: F811
    import json

    from click.testing import CliRunner

    from polyvox.cli import cli

    url = redis_server.url.replace("redis://", "redis://:hunter2-secret@")
    redis_server.client().config_set("requirepass", "hunter2-secret")
    monkeypatch.setenv("POLYVOX_CACHE_URL", url)
    polyvox.Kernel(plugins=["template"]).render(TEXT, engine="template")
    stats = json.loads(CliRunner().invoke(cli, ["cache", "stats", "--json"]).output)
    assert (stats["entries"], stats["total"], stats["directory_source"]) == (
        2, {"hits": 0, "misses": 2}, "env POLYVOX_CACHE_URL")
    assert "hunter2" not in stats["directory"] and stats["directory"].startswith("redis://:***@127.0.0.1")
    assert "hunter2" not in CliRunner().invoke(cli, ["cache", "path"]).output
    # the password redis-py takes in the query (a unix socket has no user part) is hidden too
    queried = redis_server.url + "?password=hunter2-secret"
    assert "hunter2" not in CliRunner().invoke(cli, ["cache", "path"], env={"POLYVOX_CACHE_URL": queried}).output
    # a Redis without maxmemory has no limit: its size stands alone, never "of 0 B"
    shown = CliRunner().invoke(cli, ["cache", "stats"], env={"COLUMNS": "200"}).output
    assert "(no limit set)" in shown and "of 0 B" not in shown
    assert CliRunner().invoke(cli, ["cache", "clear", "--yes"]).output.startswith("removed 2 entries")
    from rediskit import free_port

    monkeypatch.setenv("POLYVOX_CACHE_URL", f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there
    failed = CliRunner().invoke(cli, ["cache", "stats"])
    assert failed.exit_code == 1 and "cannot use the cache at redis://127.0.0.1:" in failed.output
    assert "Traceback" not in failed.output


def test_a_key_of_another_type_is_one_keys_problem_healed_not_the_caches(redis_server, tmp_path):  # noqa: F811
    """A list planted under a sentence's key turned the cache off for the whole process (every
    render in flight stored nothing), was never replaced, broke `cache stats` (WRONGTYPE) and
    passed `cache verify` as "evicted"."""
    text = "The first line.\nThe second line.\nThe third line."
    kernel = polyvox.Kernel(cache=True, cache_url=redis_server.url, plugins=["template"])
    poisoned = f"polyvox:{AUDIO}" + kernel.plan(text, engine="template")[0].key
    client = redis_server.client()
    client.rpush(poisoned, "x")
    cache = open_cache(url=redis_server.url)
    assert cache.stats().entries == 0  # no WRONGTYPE: the list is no entry
    report = cache.verify()
    assert [b.key for b in report.bad] == [poisoned] and "not a string" in report.bad[0].reason
    first = kernel.render(text, engine="template")
    assert first.stats.synthesized == 3 and any("refused a command" in w for w in first.warnings)
    again = polyvox.Kernel(cache=True, cache_url=redis_server.url, plugins=["template"]).render(text, engine="template")
    assert again.stats.cached == 3  # the others were stored, and the poisoned key replaced by its audio
    assert client.type(poisoned) == b"string"
