"""Sentence splitting from many threads at once (a server renders in worker threads)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from polyvox.text.chunking import sentences


def test_threads_splitting_at_once_each_get_their_own_sentences():
    texts = [f"Client {i} says {'hello ' * (i % 5 + 1)}to the server. And then goodbye number {i}. Done {i}!"
             for i in range(32)]
    expected = [sentences(t) for t in texts]
    assert all(len(e) == 3 for e in expected)
    with ThreadPoolExecutor(16) as pool:
        for _ in range(6):
            assert list(pool.map(sentences, texts)) == expected
