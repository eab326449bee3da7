"""Text no engine call should take whole: a 4,000-character word, 20,000 characters with no
punctuation. Each reaches the engine in pieces under its limit, a short request behind it waits
for one piece, not the whole text, and the server's memory comes back afterwards."""

from __future__ import annotations

import random
import string
import threading
import time
from typing import Any

import httpx
import pytest
from conftest import ToneEngine
from servekit import running
from serveproc import serving

import polyvox
from polyvox.events import SegmentStarted

SPEAK = "/v1/audio/speech"
#: 4,000 letters, not a space among them (not periodic: no piece of it is another's, cached)
WORD = "".join(random.Random(28).choices(string.ascii_lowercase, k=4000))
UNPUNCTUATED = " ".join(f"word{n}" for n in range(2300))  # 20,589 characters, not a full stop


class Gated(ToneEngine):
    """A tone engine (one call at a time, max_chars 200) that blocks in its third call until
    the test opens the gate."""

    def __init__(self) -> None:
        super().__init__(name="gated")
        self.gate = threading.Event()
        self.holding = threading.Event()
        self._count = 0

    def synthesize(self, model: Any, request: Any, conditioning: Any) -> Any:
        self._count += 1  # (one call at a time: the engine is not thread-safe)
        if self._count == 3:
            self.holding.set()
            assert self.gate.wait(30), "the test never opened the gate"
        return super().synthesize(model, request, conditioning)


@pytest.mark.parametrize("text", [WORD, UNPUNCTUATED], ids=["word", "unpunctuated"])
def test_a_short_request_behind_a_huge_text_waits_for_one_piece(tmp_path, text):
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    engine = Gated()
    kernel.register(engine)
    queued = threading.Event()
    kernel.subscribe(lambda e: queued.set() if isinstance(e, SegmentStarted) and e.text == "Short one." else None)
    answers: dict[str, httpx.Response] = {}

    def ask(name: str, text: str) -> None:
        answers[name] = httpx.post(f"{srv.url}{SPEAK}", timeout=120,
                                   json={"model": "gated", "input": text, "response_format": "pcm"})

    with running(kernel, tmp_path, max_input_chars=25_000) as srv:
        long = threading.Thread(target=ask, args=("long", text))
        long.start()
        assert engine.holding.wait(30), "the text never reached the engine in three pieces or more"
        short = threading.Thread(target=ask, args=("short", "Short one."))
        short.start()
        assert queued.wait(30), "the short request never reached the engine's lock"
        time.sleep(0.1)  # from the event to the lock's queue: microseconds
        engine.gate.set()
        for t in (long, short):
            t.join(120)
    assert answers["long"].status_code == 200 and answers["short"].status_code == 200
    calls = engine.calls
    assert max(len(c) for c in calls) <= 200  # never more than the engine takes
    assert "".join(c.replace(" ", "") for c in calls if c != "Short one.") == text.replace(" ", "")
    # right after the piece in progress (the third call), not after the rest of the text
    assert calls.index("Short one.") <= 4, calls.index("Short one.")
    assert len(calls) - calls.index("Short one.") > 10


@pytest.mark.slow
def test_the_servers_memory_comes_back_after_huge_texts(tmp_path):
    """Piper needs memory in proportion to the audio of one call, and ONNX Runtime's arena kept
    the largest call's: one long unpunctuated text left a server gigabytes bigger, for good."""
    sentences = " ".join(f"This is warm-up sentence number {n}." for n in range(6))
    with serving(tmp_path, "--max-input", "25000") as server:
        def speak(model: str, text: str) -> None:
            r = httpx.post(f"{server.url}{SPEAK}", timeout=300,
                           json={"model": model, "input": text, "response_format": "pcm"})
            assert r.status_code == 200 and len(r.content) > 16000

        for model in ("piper", "template"):  # every session and code path once (Piper's batch sessions too)
            speak(model, sentences)
        warm = _settled(server)
        speak("piper", WORD[:1200])  # one call of all of it once held ~1.2 GB and kept it
        speak("template", WORD)
        speak("template", UNPUNCTUATED)
        after = _settled(server)
        assert server.faults() == []
    print(f"server memory: {warm / 2**20:.0f} MB after the warm-up, {after / 2**20:.0f} MB after the long texts")
    assert after - warm < 150 * 2**20, f"{(after - warm) / 2**20:.0f} MB more than after the warm-up"


def _settled(server, seconds: float = 10) -> int:
    """The server's memory once freed memory has gone back to the system (half a second after
    the last request), or after `seconds`: the lowest reading."""
    deadline = time.monotonic() + seconds
    lowest = server.rss()
    time.sleep(1)
    while time.monotonic() < deadline:
        now = server.rss()
        if now >= lowest:
            break
        lowest = now
        time.sleep(0.5)
    return min(lowest, server.rss())
