"""Who may call: Bearer keys, compared in constant time so a wrong key's timing says nothing
about the right one, and which web pages (origins) a browser may call from."""

from __future__ import annotations

import hmac

from polyvox.serve.config import is_loopback
from polyvox.serve.errors import ApiError, unauthorized


def check_bearer(header: str | None, keys: tuple[str, ...]) -> None:
    """Raise a 401 `ApiError` unless `header` is ``Bearer <one of keys>`` (no keys: open)."""
    if not keys:
        return
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise unauthorized("missing API key: send the header 'Authorization: Bearer KEY'")
    given_bytes = given.strip().encode()
    # every key is compared (no early exit), each in constant time
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given_bytes, key.encode())
    if not matched:
        raise unauthorized("incorrect API key")


def check_origin(origin: str | None, allowed: tuple[str, ...], host: str | None = None, keyed: bool = False) -> None:
    """Raise a 403 `ApiError` for a browser request from a web page whose origin was not allowed
    (`--cors-origin`). CORS alone does not stop it: a page may send a multipart form or a
    text/plain body without asking first (no preflight), and the server would act on it (store
    an upload, render) even though the page never reads the answer. Browsers always send
    `Origin` on such requests; programs (Open WebUI's and SillyTavern's backends, scripts) do
    not, so they are not affected.

    The server's own pages (the studio at ``/``) call it from its own origin: that origin is
    allowed when the `host` the browser asked for is a loopback name, or when the server has
    keys. (A page of another site that rebinds its DNS name to this machine is also "its own
    origin" to the browser, but its Host is that name, not a loopback one, and it has no key.)"""
    if origin is None or "*" in allowed or origin in allowed:
        return
    if host and origin in (f"http://{host}", f"https://{host}") and (keyed or _loopback_host(host)):
        return
    raise ApiError(403, f"requests from the web page origin {origin[:100]!r} are not allowed: start the server "
                        "with --cors-origin ORIGIN to let that page call it", code="origin_not_allowed")


def _loopback_host(host: str) -> bool:
    """Whether a Host header (``127.0.0.1:8000``, ``[::1]:8000``, ``localhost``) names this machine."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") and host.count(":") == 1 else host
    name = name.split("]")[0].lstrip("[") if name.startswith("[") else name
    return is_loopback(name)
