"""The clients of `make soak` (scripts/soak.py) and the server they talk to: `polyvox serve
--wyoming` in a subprocess on 127.0.0.1. Each client makes one exchange, well-formed or hostile,
with a deadline, and raises `Surprise` at an answer the server should not have given."""

from __future__ import annotations

import base64
import io
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import soundfile as sf
from wyoming.event import Event, read_event, write_event
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

SPEECH = "/v1/audio/speech"
FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
#: What each format's bytes start with (MP3 from Lame starts with a frame sync, AAC is ADTS).
MAGIC = {"mp3": (b"ID3", b"\xff"), "opus": (b"OggS",), "aac": (b"\xff",), "flac": (b"fLaC",), "wav": (b"RIFF",)}
MODELS = ("piper", "template")
#: The cache's database files (see `sample`).
SQLITE_FILES = (".db", ".db-wal", ".db-shm")
WORDS = ("amber", "birch", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper",
         "kestrel", "lantern", "meadow", "nectar", "orchid", "pebble", "quartz", "raven", "saffron", "thistle")


class Surprise(Exception):
    """An answer the server should not have given."""


def _text(rng: random.Random, sentences: int) -> str:
    return " ".join(f"The {rng.choice(WORDS)} {rng.choice(WORDS)} waited by the {rng.choice(WORDS)}."
                    for _ in range(sentences))


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise Surprise(what)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`polyvox serve --wyoming` in a subprocess, with a temporary cache and voices folder."""

    def __init__(self, tmp: Path):
        self.port, self.wyoming = _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "server.log"
        env = {**os.environ, "POLYVOX_CACHE_DIR": str(tmp / "cache")}
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "polyvox", "serve", "--port", str(self.port), "--voices", str(tmp / "voices"),
                 "--wyoming", f"tcp://127.0.0.1:{self.wyoming}"], env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            _expect(self.proc.poll() is None and time.monotonic() < deadline, "the server did not start")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    with socket.create_connection(("127.0.0.1", self.wyoming), timeout=2):
                        return
            except (httpx.HTTPError, OSError):
                time.sleep(0.2)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def sample(self) -> dict[str, float]:
        """The server's threads, file descriptors (those on the cache's SQLite files apart: see
        scripts/soak.py) and resident memory."""
        proc = Path(f"/proc/{self.proc.pid}")
        rss = next(int(line.split()[1]) for line in (proc / "status").read_text().splitlines()
                   if line.startswith("VmRSS"))
        targets = self.fd_targets()
        sqlite = sum(t.endswith(SQLITE_FILES) for t in targets)
        return {"threads": len(os.listdir(proc / "task")), "fds": len(targets) - sqlite, "sqlite_fds": sqlite,
                "rss_mb": rss / 1024}

    def fd_targets(self) -> list[str]:
        """What the server's file descriptors are open on (sockets and pipes by kind only)."""
        folder = Path(f"/proc/{self.proc.pid}/fd")
        targets = []
        for fd in os.listdir(folder):
            try:
                target = os.readlink(folder / fd)
            except OSError:
                continue  # closed meanwhile
            targets.append(target.split(":")[0] if target.startswith(("socket:", "pipe:", "anon_inode:")) else target)
        return targets

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


# -- the clients: each makes one exchange and raises Surprise at a wrong answer ------------------------

def speech(s: Server, http: httpx.Client, rng: random.Random) -> None:
    fmt = rng.choice(FORMATS)
    r = http.post(SPEECH, json={"model": rng.choice(MODELS), "input": _text(rng, rng.randint(1, 3)),
                                "voice": "alloy", "response_format": fmt}, timeout=120)
    _expect(r.status_code == 200, f"speech {fmt}: {r.status_code} {r.text[:200]}")
    _expect(r.content.startswith(MAGIC.get(fmt, (b"",))) and len(r.content) > 64 and
            (fmt != "pcm" or len(r.content) % 2 == 0), f"speech {fmt}: {r.content[:16]!r} is no {fmt}")


def early_close(s: Server, http: httpx.Client, rng: random.Random) -> None:
    fmt = rng.choice(FORMATS)
    with http.stream("POST", SPEECH, json={"model": rng.choice(MODELS), "input": _text(rng, 12),
                                           "response_format": fmt}, timeout=120) as r:
        _expect(r.status_code == 200, f"streamed {fmt}: {r.status_code}")
        next(r.iter_bytes(), None)  # and leave, the rest unread


def sse(s: Server, http: httpx.Client, rng: random.Random) -> None:
    events = []
    with http.stream("POST", SPEECH, json={"model": rng.choice(MODELS), "input": _text(rng, 2),
                                           "stream_format": "sse", "response_format": "pcm"}, timeout=120) as r:
        _expect(r.status_code == 200, f"sse: {r.status_code}")
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    _expect(bool(events) and events[-1]["type"] == "speech.audio.done", f"sse: ended with {events[-1:]}")
    _expect(sum(len(base64.b64decode(e["audio"])) for e in events[:-1]) > 0, "sse: no audio")


def _refused(r: httpx.Response, status: int, what: str) -> None:
    _expect(r.status_code == status and set(r.json().get("error", {})) >= {"message", "type", "code"},
            f"{what}: {r.status_code} {r.text[:200]}")


def bad_json(s: Server, http: httpx.Client, rng: random.Random) -> None:
    body = rng.choice([b'{"model": "tts-1", "input": ', b"\xff\xfe\x00", b"[1, 2, 3]", b'"just a string"'])
    _refused(http.post(SPEECH, content=body, headers={"content-type": "application/json"}, timeout=30), 400,
             "bad json")


def wrong_keys(s: Server, http: httpx.Client, rng: random.Random) -> None:
    body = rng.choice([{"modle": "tts-1", "text": "Hi."}, {"model": "tts-1", "input": "Hi.", "speed": "fast"},
                       {"model": "tts-1", "input": "Hi.", "response_format": "ogg"},
                       {"model": "tts-1", "input": "Hi.", "voice": 12}])
    _refused(http.post(SPEECH, json=body, timeout=30), 400, f"wrong keys {body}")


def oversized(s: Server, http: httpx.Client, rng: random.Random) -> None:
    if rng.random() < 0.5:  # text over the input limit
        _refused(http.post(SPEECH, json={"model": "tts-1", "input": "word " * 20_000}, timeout=30), 413, "long input")
        return
    with socket.create_connection(("127.0.0.1", s.port), timeout=30) as sock:  # a body announced at 64 MiB
        sock.sendall(b"POST /v1/audio/speech HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 67108864\r\n\r\n")
        try:
            sock.sendall(b"x" * (1 << 20))
        except OSError:
            pass  # refused before it was read: the answer is still there to read
        answer = sock.recv(4096)
    _expect(answer.startswith(b"HTTP/1.1 413"), f"64 MiB body: {answer[:80]!r}")


def idle(s: Server, http: httpx.Client, rng: random.Random) -> None:
    """A socket that connects and says nothing, or half a request, then leaves."""
    port = rng.choice([s.port, s.wyoming])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        if rng.random() < 0.5 and port == s.port:
            sock.sendall(b"POST /v1/audio/speech HTTP/1.1\r\nHost: soak\r\n")
        time.sleep(rng.uniform(0.5, 3))


def slow(s: Server, http: httpx.Client, rng: random.Random) -> None:
    """A whole request sent a few bytes at a time over about two seconds."""
    body = json.dumps({"model": "template", "input": _text(rng, 1), "response_format": "pcm"}).encode()
    raw = (f"POST {SPEECH} HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\nConnection: close\r\n"
           f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", s.port), timeout=60) as sock:
        step = max(1, len(raw) // 20)
        for at in range(0, len(raw), step):
            sock.sendall(raw[at:at + step])
            time.sleep(0.1)
        answer = b"".join(iter(lambda: sock.recv(65536), b""))  # all of it (leaving early is early_close)
    _expect(answer.startswith((b"HTTP/1.1 200", b"HTTP/1.1 408")) or answer == b"", f"slow: {answer[:80]!r}")


def voices(s: Server, http: httpx.Client, rng: random.Random) -> None:
    """Upload a voice (a tone of its own), speak with it, list it, delete it."""
    wav = io.BytesIO()
    t = np.arange(24000) / 16000
    sf.write(wav, 0.3 * np.sin(2 * np.pi * rng.uniform(150, 400) * t), 16000, format="WAV")
    name = f"soak-{rng.randrange(10**9)}"
    r = http.post("/v1/audio/voices", files={"file": ("v.wav", wav.getvalue(), "audio/wav")}, data={"name": name},
                  timeout=60)
    _expect(r.status_code == 201, f"upload: {r.status_code} {r.text[:200]}")
    voice_id = r.json()["id"]
    r = http.post(SPEECH, json={"model": "template", "input": "Mine.", "voice": name, "response_format": "wav"},
                  timeout=120)
    _expect(r.status_code == 200, f"speak with an upload: {r.status_code} {r.text[:200]}")
    listed = http.get("/v1/audio/voices", timeout=30).json()["voices"]
    _expect(voice_id in {v["id"] for v in listed}, "upload not listed")
    r = http.delete(f"/v1/audio/voices/{voice_id}", timeout=30)
    _expect(r.status_code == 200, f"delete: {r.status_code} {r.text[:200]}")


def operations(s: Server, http: httpx.Client, rng: random.Random) -> None:
    _expect(http.get("/health", timeout=30).json()["status"] == "ok", "health")
    _expect(http.get("/metrics", timeout=30).status_code == 200, "metrics")


def wyoming_exchange(s: Server, raw: bytes, stop_on: str | None = None, leave_after: str | None = None,
             deadline: float = 120) -> list[Event]:
    """Events the Wyoming server answers `raw` with, up to `stop_on` (or until it hangs up)."""
    with socket.create_connection(("127.0.0.1", s.wyoming), timeout=deadline) as sock:
        sock.sendall(raw)
        answers, got = sock.makefile("rb"), []
        while (event := read_event(answers)) is not None:
            got.append(event)
            if event.type in (stop_on, leave_after, "error"):
                break
        return got


def events(*events: Any) -> bytes:
    out = io.BytesIO()
    for event in events:
        write_event(event.event(), out)
    return out.getvalue()


def wy_synthesize(s: Server, http: httpx.Client, rng: random.Random) -> None:
    got = wyoming_exchange(s, events(Synthesize(text=_text(rng, 2))), "audio-stop")
    _expect([e.type for e in got][-1:] == ["audio-stop"] and sum(len(e.payload or b"") for e in got) > 0,
            f"wyoming synthesize: {[e.type for e in got][-3:]} {got[-1].data if got else ''}")


def wy_stream(s: Server, http: httpx.Client, rng: random.Random) -> None:
    text = _text(rng, 2)
    cut = rng.randrange(1, len(text))
    sent = events(SynthesizeStart(), SynthesizeChunk(text=text[:cut]), SynthesizeChunk(text=text[cut:]),
                  SynthesizeStop())
    got = wyoming_exchange(s, sent, "synthesize-stopped")
    _expect([e.type for e in got][-1:] == ["synthesize-stopped"], f"wyoming stream: {[e.type for e in got][-3:]}")


def wy_early_close(s: Server, http: httpx.Client, rng: random.Random) -> None:
    got = wyoming_exchange(s, events(Synthesize(text=_text(rng, 10))), leave_after="audio-start")
    _expect([e.type for e in got] == ["audio-start"], f"wyoming early close: {[e.type for e in got]}")


def wy_garbage(s: Server, http: httpx.Client, rng: random.Random) -> None:
    raw = rng.choice([b"garbage", b"[1, 2]", b'{"type": 5}', b'{"type": "zork"}', b'{"type": "synthesize"}',
                      b'{"type": "synthesize", "data_length": "x"}',
                      b'{"type": "synthesize", "data_length": 300000000}',
                      rng.randbytes(rng.randint(1, 300)).replace(b"\n", b"")])
    got = wyoming_exchange(s, raw + b"\n", deadline=30)
    _expect([e.type for e in got] == ["error"], f"wyoming garbage {raw[:40]!r}: {[e.type for e in got]}")


CLIENTS: dict[str, tuple[int, Callable[[Server, httpx.Client, random.Random], None]]] = {
    "speech": (4, speech), "early_close": (2, early_close), "sse": (2, sse), "bad_json": (1, bad_json),
    "wrong_keys": (1, wrong_keys), "oversized": (1, oversized), "idle": (1, idle), "slow": (1, slow),
    "voices": (1, voices), "operations": (1, operations), "wy_synthesize": (2, wy_synthesize),
    "wy_stream": (1, wy_stream), "wy_early_close": (1, wy_early_close), "wy_garbage": (2, wy_garbage),
}
