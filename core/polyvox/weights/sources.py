"""What an engine declares about a model's files: where each comes from, how big it is, and
under which licence it may be used.

Plain attrs records, validated on construction, so that a declaration that could never be
fetched fails when the plugin answers, not halfway through a multi-gigabyte download.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import attrs

from polyvox.errors import PluginError

_SHA256 = re.compile(r"[0-9a-f]{64}")


def _names(value: Any) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _relative_names(instance: Any, attribute: attrs.Attribute, value: tuple[str, ...]) -> None:
    for name in value:
        if not name or name.startswith("/") or ".." in Path(name).parts:
            raise PluginError(f"{type(instance).__name__}.{attribute.name}: {name!r} is not a relative file name")


def _sizes(value: Mapping[str, int] | None) -> dict[str, int]:
    return {str(k): int(v) for k, v in (value or {}).items()}


@attrs.frozen
class HubFiles:
    """Files of one Hugging Face repository, fetched into huggingface_hub's own cache.

    `optional` files are fetched when the repository has them (a 404 is no error) and never
    make a model count as incomplete. `sizes` (bytes by file name) let the CLI say how much a
    download is before it starts; files without a size are simply not counted.
    """

    repo: str = attrs.field(validator=attrs.validators.matches_re(r"[\w.-]+/[\w.-]+"))
    filenames: tuple[str, ...] = attrs.field(converter=_names, validator=_relative_names)
    revision: str = "main"
    optional: tuple[str, ...] = attrs.field(default=(), converter=_names, validator=_relative_names)
    sizes: dict[str, int] = attrs.field(factory=dict, converter=_sizes, hash=False)

    def __attrs_post_init__(self) -> None:
        if not self.filenames:
            raise PluginError(f"HubFiles for {self.repo!r} names no file")

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.filenames, *(n for n in self.optional if n not in self.filenames))


def _url_name(url: str) -> str:
    return os.path.basename(urlparse(url).path)


@attrs.frozen
class UrlFile:
    """One file from a plain URL, verified against its SHA-256 before it is used.

    Stored in polyvox's models folder under `filename` (default: the URL's last part).
    """

    url: str = attrs.field(validator=attrs.validators.matches_re(r"https?://.+"))
    sha256: str = attrs.field(converter=str.lower)
    size: int | None = None
    filename: str = attrs.field(default=attrs.Factory(lambda self: _url_name(self.url), takes_self=True))

    @sha256.validator
    def _check_sha(self, attribute: attrs.Attribute, value: str) -> None:
        if not _SHA256.fullmatch(value):
            raise PluginError(f"UrlFile {self.url!r}: sha256 must be 64 hex digits, got {value!r}")

    @filename.validator
    def _check_name(self, attribute: attrs.Attribute, value: str) -> None:
        if not value or "/" in value or value in (".", ".."):
            raise PluginError(f"UrlFile {self.url!r}: filename {value!r} must be a plain file name")

    @property
    def names(self) -> tuple[str, ...]:
        return (self.filename,)


@attrs.frozen
class LocalFiles:
    """Files that are already on disk (bundled with a package, or in a folder the user named)."""

    paths: tuple[Path, ...] = attrs.field(converter=lambda v: tuple(Path(p) for p in _names(v)))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.paths)


Source = HubFiles | UrlFile | LocalFiles


def _sources(value: Any) -> tuple[Source, ...]:
    items = (value,) if isinstance(value, HubFiles | UrlFile | LocalFiles) else tuple(value)
    for item in items:
        if not isinstance(item, HubFiles | UrlFile | LocalFiles):
            raise PluginError(f"model weights are HubFiles, UrlFile or LocalFiles, not {type(item).__name__}")
    return items


@attrs.frozen
class ModelWeights:
    """Everything one model needs on disk, and the licence a user accepts by fetching it."""

    sources: tuple[Source, ...] = attrs.field(converter=_sources)
    license: str = ""
    #: Where the licence text can be read (shown beside its name before a download).
    license_url: str = ""

    @property
    def size(self) -> int | None:
        """Total declared bytes, or None when no size is declared."""
        sizes = [s for s in self._sizes()]
        return sum(sizes) if sizes else None

    def _sizes(self) -> Iterator[int]:
        for source in self.sources:
            if isinstance(source, HubFiles):
                yield from (source.sizes[n] for n in source.names if n in source.sizes)
            elif isinstance(source, UrlFile) and source.size is not None:
                yield source.size

    @property
    def local(self) -> bool:
        """True when nothing needs fetching: every file is bundled or already in a named folder."""
        return all(isinstance(s, LocalFiles) for s in self.sources)


@attrs.frozen
class Files:
    """The local paths of a model's files, as handed to the engine's `load`.

    Keyed by the name the engine declared (a repository path for `HubFiles`, the file name for
    `UrlFile` and `LocalFiles`); optional files that the source does not have are absent.
    """

    paths: dict[str, Path] = attrs.field(converter=dict, hash=False)

    def __getitem__(self, name: str) -> Path:
        return self.paths[name]

    def __contains__(self, name: object) -> bool:
        return name in self.paths

    def get(self, name: str) -> Path | None:
        return self.paths.get(name)

    def all(self) -> list[Path]:
        return list(self.paths.values())


STATES = ("present", "partial", "missing")


@attrs.frozen
class Status:
    """Whether a model's files are here: ``present`` (all), ``partial`` (some, or an interrupted
    download) or ``missing``; the files found, and the bytes still to fetch when known."""

    state: str = attrs.field(validator=attrs.validators.in_(STATES))
    files: Files
    #: The declared names not found on disk (optional files excepted).
    missing: tuple[str, ...] = ()
    #: Bytes on disk of the files found.
    on_disk: int = 0
    #: Declared bytes of the missing files (None: not declared).
    to_fetch: int | None = None
    #: The folder most of the model's files are in, for `polyvox models path`.
    folder: Path | None = None
