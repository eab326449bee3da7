"""polyvox studio: a web page served at ``/`` to write a script, cast it, render it with live
progress, hear each segment, retake one, read along and download the file (docs/studio.md).

The page is plain HTML, CSS and JavaScript shipped in ``static/`` (no build step, nothing from
elsewhere at run time), under a strict Content-Security-Policy; what it does goes through the
JSON and SSE routes of `routes`, behind the server's gate and keys."""

from polyvox.serve.studio.routes import CSP, install, studio_body_limits

__all__ = ["CSP", "install", "studio_body_limits"]
