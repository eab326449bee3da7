"""A host app embedding polyvox: a tiny HTTP speech endpoint on the standard library.

POST /speak with a script in the body; the reply streams 16-bit PCM WAV as segments finish,
in script order. Progress events go to a log; a client that hangs up cancels the render
after the current segment (what was finished stays in the cache for the next request).

    python docs/examples/speech_handler.py 8765   # then: curl -d 'Hello there.' localhost:8765/speak > out.wav
"""

from __future__ import annotations

import itertools
import logging
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

import polyvox
from polyvox.events import ModelLoading, SegmentFinished

log = logging.getLogger("speech")
KERNEL = polyvox.Kernel()  # one per process: models and cache are shared by every request


def wav_header(sample_rate: int) -> bytes:
    """A WAV header for a stream of unknown length (sizes set to the maximum)."""
    return (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
            + b"data" + struct.pack("<I", 0xFFFFFFFF))


def on_event(event: polyvox.events.Event) -> None:
    if isinstance(event, ModelLoading):
        log.info("loading %s/%s", event.engine, event.model)
    elif isinstance(event, SegmentFinished):
        log.info("segment %d %s (%.2f s of audio)", event.index, "cached" if event.cached else "made",
                 event.audio_seconds)


class SpeechHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        text = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        cancel = polyvox.CancelToken()
        try:
            chunks = KERNEL.stream(text, cancel=cancel, on_event=on_event)
            first = next(chunks)  # errors in the script surface before any byte is sent
        except polyvox.PolyvoxError as exc:
            self.send_error(400, str(exc))
            return
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.end_headers()
        try:
            self.wfile.write(wav_header(first.sample_rate))
            for chunk in itertools.chain([first], chunks):
                pcm = (np.clip(chunk.samples, -1, 1) * 32767).astype("<i2").tobytes()
                self.wfile.write(pcm)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            cancel.cancel()  # the client left: stop after the segment in progress
        except polyvox.Cancelled:
            pass

    def log_message(self, format: str, *args: object) -> None:
        log.debug(format, *args)


def serve(port: int = 0) -> tuple[ThreadingHTTPServer, threading.Thread]:
    server = ThreadingHTTPServer(("127.0.0.1", port), SpeechHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    server, thread = serve(int(sys.argv[1]) if len(sys.argv) > 1 else 8765)
    print(f"listening on http://127.0.0.1:{server.server_port}/speak")
    thread.join()
