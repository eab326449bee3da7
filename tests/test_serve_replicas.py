"""Two `polyvox serve` processes on one Redis, as replicas behind a load balancer are: what one
made is a cache hit on the other (X-Polyvox-Cache), both report the same cache statistics, and
one killed mid-request loses nothing the other needs. Real processes, a real redis-server,
Piper's bundled voice; loopback only."""

from __future__ import annotations

import io

import httpx
import soundfile as sf
from rediskit import redis_server  # noqa: F401 - the fixture
from serveproc import serving
from test_serve_models import metric

TEXT = ("The lighthouse keeper climbed the stairs. The lamp was cold. He struck a match. "
        "The flame caught at once. Far out, a ship turned toward the light. Morning was still hours away.")


def speak(url, text, **extra):
    return httpx.post(f"{url}/v1/audio/speech", timeout=120,
                      json={"model": "piper", "input": text, "voice": "alloy", "response_format": "wav", **extra})


def test_a_second_replica_hits_what_the_first_made_and_both_count_alike(redis_server, tmp_path):  # noqa: F811
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    options = ("--cache", redis_server.url)
    with serving(tmp_path / "a", *options) as a, serving(tmp_path / "b", *options) as b:
        first = speak(a.url, "One replica says this first.")
        assert first.status_code == 200 and first.headers["x-polyvox-cache"] == "miss"
        second = speak(b.url, "One replica says this first.")
        assert second.status_code == 200 and second.headers["x-polyvox-cache"] == "hit"
        assert sf.read(io.BytesIO(second.content))[0].tolist() == sf.read(io.BytesIO(first.content))[0].tolist()
        assert metric(b.url, "polyvox_segments_total", source="cache") == 1
        for name in ("polyvox_cache_entries", "polyvox_cache_hits", "polyvox_cache_misses", "polyvox_cache_bytes"):
            assert metric(a.url, name) == metric(b.url, name), name
        assert (metric(a.url, "polyvox_cache_hits"), metric(a.url, "polyvox_cache_misses")) == (1, 1)


def test_a_replica_killed_mid_request_leaves_what_it_made_to_the_other(redis_server, tmp_path):  # noqa: F811
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    options = ("--cache", redis_server.url)
    with serving(tmp_path / "a", *options) as a, serving(tmp_path / "b", *options) as b:
        with httpx.stream("POST", f"{a.url}/v1/audio/speech", timeout=120,
                          json={"model": "piper", "input": TEXT, "voice": "alloy", "response_format": "pcm"}) as r:
            assert r.status_code == 200
            next(r.iter_bytes())  # the first sentence is made (and stored) ...
            a.process.kill()  # ... and the replica dies mid-request
        a.process.wait(10)
        whole = speak(b.url, TEXT)
        assert whole.status_code == 200 and whole.headers["x-polyvox-cache"] == "hit"
        audio, rate = sf.read(io.BytesIO(whole.content))
        assert len(audio) / rate > 5  # every sentence, spoken
        made_by_a = metric(b.url, "polyvox_segments_total", source="cache")
        assert 1 <= made_by_a < 6
        assert metric(b.url, "polyvox_segments_total", source="synthesized") == 6 - made_by_a
        again = speak(b.url, TEXT)
        assert again.content == whole.content and metric(b.url, "polyvox_segments_total", source="cache") == \
            made_by_a + 6
        assert not b.faults()
