"""The versions that make an engine's audio: its distribution and the packages it requires.

They go into every cache key, so upgrading an engine's model library (in the kernel's
environment or in the engine's own) never serves audio the old version made. Computed
the same way in process and in a worker, so the same packages give the same key wherever
the engine runs.
"""

from __future__ import annotations

import functools
import re
from importlib import metadata

#: The distribution name at the start of a requirement line (PEP 508).
_NAME = re.compile(r"[A-Za-z0-9._-]*")
#: The Version field among the core metadata's headers.
_VERSION = re.compile(r"^Version:[ \t]*(.*?)[ \t]*$", re.MULTILINE)


def _version(name: str) -> str:
    """`importlib.metadata.version(name)`, read from the metadata's headers alone: that parses
    the whole file (a long description often) as an e-mail, about 1 ms a package, and a
    process asks for some twenty before its first segment. Raises `PackageNotFoundError`."""
    dist = metadata.distribution(name)
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    found = _VERSION.search(text.replace("\r\n", "\n").partition("\n\n")[0])
    return found.group(1) if found else dist.version


def kernel_version() -> str:
    """The installed polyvox's version ("0.0.0" in a source tree that was never installed)."""
    try:
        return _version("polyvox")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def package_versions(distribution: str | None) -> dict[str, str]:
    """`distribution` and its installed direct requirements, name -> version, sorted.

    polyvox itself and optional extras are left out: they do not change an engine's audio.
    """
    if not distribution:
        return {}
    out: dict[str, str] = {}
    try:
        out[distribution] = _version(distribution)
        requires = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return out
    for line in requires:
        name = _NAME.match(line).group(0)  # type: ignore[union-attr]
        if not name or name.lower() == "polyvox" or "extra ==" in line:
            continue
        try:
            out[name] = _version(name)
        except metadata.PackageNotFoundError:
            pass
    return dict(sorted(out.items()))


def version_text(versions: dict[str, str]) -> str:
    """``polyvox-x 0.1.0; numpy 2.1.0`` ("0" for none): the engine_version of cache keys."""
    return "; ".join(f"{k} {v}" for k, v in versions.items()) or "0"


@functools.lru_cache(maxsize=64)
def installed_version_text(distribution: str) -> str:
    return version_text(package_versions(distribution))
