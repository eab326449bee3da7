"""A host app embedding polyvox: a tiny HTTP speech endpoint on the standard library.

POST /speak with a script in the body; the reply streams 16-bit PCM WAV as segments finish,
in script order. Progress events go to a log; a client that hangs up stops the render after
the current segment (what was finished stays in the cache for the next request).

    python docs/examples/speech_handler.py 8765   # then: curl -d 'Hello there.' localhost:8765/speak > out.wav
"""

from __future__ import annotations

import logging
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polyvox
from polyvox.events import ModelLoading, SegmentFinished

log = logging.getLogger("speech")
KERNEL = polyvox.Kernel()  # one per process: models and cache are shared by every request


def on_event(event: polyvox.events.Event) -> None:
    if isinstance(event, ModelLoading):
        log.info("loading %s/%s", event.engine, event.model)
    elif isinstance(event, SegmentFinished):
        log.info("segment %d %s (%.2f s of audio)", event.index, "cached" if event.cached else "made",
                 event.audio_seconds)


class SpeechHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        text = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        try:
            stream = KERNEL.stream(text, on_event=on_event)  # the script is planned here: errors before any byte
        except polyvox.PolyvoxError as exc:
            self.send_error(400, str(exc))
            return
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.end_headers()
        try:
            # WAV with a streaming header, then the PCM of each chunk as it comes
            with polyvox.AudioWriter(self.wfile, stream.sample_rate, "wav") as out:
                for chunk in stream:
                    out.write(chunk)
                    self.wfile.flush()
        except polyvox.PolyvoxError:  # the client left: nothing more is synthesized
            stream.close()
        else:
            log.info("done: %d synthesized, %d from the cache", stream.result.stats.synthesized,
                     stream.result.stats.cached)

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
