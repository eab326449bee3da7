"""`FakeHub`: a local HTTP server that stands in for the Hugging Face hub (through
``HF_ENDPOINT``) and for plain download URLs, so weight fetching is tested with no network.

    with FakeHub({("acme/tts", "model.bin"): b"..."}, urls={"voc.zip": b"..."}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        ...  # hub.requests: what was asked for; hub.url("voc.zip"): a plain URL

It answers what ``hf_hub_download`` asks, file by file: a HEAD and a GET of
``{endpoint}/{repo}/resolve/{revision}/{filename}`` with the commit, ETag and length headers
the client needs, byte ranges for resumed downloads, and a 404 huggingface_hub reads as "no
such file". `cut` names files whose first GET stops halfway (a broken connection). It never
serves more than `max_requests` requests, so a client that loops fails instead of hanging.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<name>.+)$")


class FakeHub:
    def __init__(self, files: Mapping[tuple[str, str], bytes] | None = None, *,
                 urls: Mapping[str, bytes] | None = None, cut: tuple[str, ...] = (), max_requests: int = 200,
                 etags: Mapping[str, str] | None = None):
        self.files = dict(files or {})
        #: ETags to send instead of the content's SHA-256, by file name (a hub whose file was
        #: tampered with, or damaged on the way: its LFS checksum no longer matches).
        self.etags = dict(etags or {})
        self.urls = dict(urls or {})
        self.cut = set(cut)
        self.max_requests = max_requests
        #: (method, path, Range header or None) of every request, in order.
        self.requests: list[tuple[str, str, str | None]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- addresses ---------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        assert self._server is not None, "start the FakeHub first (use it as a context manager)"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, name: str) -> str:
        return f"{self.endpoint}/files/{name}"

    def gets(self, name: str) -> list[str | None]:
        """The Range headers of the GETs of a file (None: the whole file)."""
        return [rng for method, path, rng in self.requests if method == "GET" and path.endswith("/" + name)]

    # -- lifetime ----------------------------------------------------------------------
    def __enter__(self) -> FakeHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10

            def log_message(self, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                hub._answer(self, body=False)

            def do_GET(self) -> None:
                hub._answer(self, body=True)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- answers -----------------------------------------------------------------------
    def _find(self, path: str) -> tuple[bytes | None, str | None, str]:
        """(content, commit, name) for a request path; content None when there is no such file."""
        if path.startswith("/files/"):
            name = path[len("/files/"):]
            return self.urls.get(name), None, name
        match = _RESOLVE.match(path)
        if not match:
            return None, None, path
        repo, name = match["repo"], match["name"]
        commit = hashlib.sha1(repo.encode()).hexdigest()
        return self.files.get((repo, name)), commit, name

    def _answer(self, h: BaseHTTPRequestHandler, *, body: bool) -> None:
        path = h.path.split("?")[0]
        rng = h.headers.get("Range")
        with self._lock:
            self.requests.append((h.command, path, rng))
            over = len(self.requests) > self.max_requests
            first_get = body and path.rsplit("/", 1)[-1] in self.cut
            if first_get:
                self.cut.discard(path.rsplit("/", 1)[-1])
        content, commit, name = self._find(path)
        if over or content is None:
            status = 503 if over else 404
            h.send_response(status)
            if commit is not None:
                h.send_header("X-Repo-Commit", commit)
                h.send_header("X-Error-Code", "EntryNotFound")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        start = 0
        if rng and body:
            start = int(re.match(r"bytes=(\d+)-", rng)[1])  # type: ignore[index]
        part = content[start:]
        h.send_response(206 if start else 200)
        if commit is not None:
            h.send_header("X-Repo-Commit", commit)
        etag = self.etags.get(path.rsplit("/", 1)[-1]) or hashlib.sha256(content).hexdigest()
        h.send_header("ETag", f'"{etag}"')
        h.send_header("Accept-Ranges", "bytes")
        h.send_header("Content-Length", str(len(part)))
        if start:
            h.send_header("Content-Range", f"bytes {start}-{len(content) - 1}/{len(content)}")
        h.end_headers()
        if not body:
            return
        if first_get:  # a broken connection: half the promised bytes, then nothing
            h.wfile.write(part[: len(part) // 2])
            h.wfile.flush()
            h.close_connection = True
            return
        h.wfile.write(part)
