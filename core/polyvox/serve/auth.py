"""Bearer keys, compared in constant time so a wrong key's timing says nothing about the
right one."""

from __future__ import annotations

import hmac

from polyvox.serve.errors import unauthorized


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
