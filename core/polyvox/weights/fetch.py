"""Fetching: huggingface_hub does the hub files (its cache, its locks, its retries that resume
an interrupted transfer with a Range request); URL files go through huggingface_hub's own HTTP
download into a ``.part`` file that survives an interruption, and become usable only once their
SHA-256 matches.

Progress reaches the caller as ``report(name, done, total)`` calls, through a stand-in for the
tqdm class huggingface_hub would draw on the terminal: the kernel never draws, its listeners do.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from polyvox.errors import ModelError
from polyvox.weights.sources import HubFiles, UrlFile
from polyvox.weights.store import hub_cache, part_path

Report = Callable[[str, int, "int | None"], None]
_LFS_NAME = re.compile(r"[0-9a-f]{64}")


def _progress_class(name: str, report: Report) -> type:
    """A class huggingface_hub accepts as ``tqdm_class``: it counts bytes and reports them."""

    class Progress:
        def __init__(self, *args: Any, total: int | None = None, initial: int = 0, **kwargs: Any):
            self.total = total
            self.n = initial
            report(name, self.n, self.total)

        def update(self, n: int | float | None = 1) -> None:
            self.n += int(n or 0)
            report(name, self.n, self.total)

        def close(self) -> None:
            pass

        def __enter__(self) -> Progress:
            return self

        def __exit__(self, *exc: Any) -> None:
            pass

    return Progress


def hub_file(source: HubFiles, name: str, report: Report) -> Path | None:
    """Fetch one file into the hub cache; None when an optional file is not in the repository."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    try:
        path = hf_hub_download(source.repo, name, revision=source.revision, cache_dir=hub_cache(),
                               endpoint=os.environ.get("HF_ENDPOINT") or None,
                               tqdm_class=_progress_class(name, report))
    except LocalEntryNotFoundError:  # (an EntryNotFoundError too): the hub was not reached, not a missing file
        raise ModelError(f"downloading {name!r} from {source.repo} failed: the hub could not be reached (no "
                         "network, or a proxy or firewall in the way) and the file is not in the local cache") from None
    except EntryNotFoundError:
        if name in source.optional:
            return None
        raise ModelError(f"{source.repo}@{source.revision} has no file {name!r}") from None
    except Exception as exc:  # network, authentication, disk: huggingface_hub raises many kinds
        raise ModelError(f"downloading {name!r} from {source.repo} failed: {_first_line(exc)}") from exc
    _check_lfs(Path(path), name, source)
    return Path(path)


def _check_lfs(path: Path, name: str, source: HubFiles) -> None:
    """A hub file kept in git LFS is stored under its SHA-256 (the checksum the repository's
    commit records, so a pinned `revision` pins it): its content must hash to that name, else
    it is removed and refused. (Files kept in git itself are named by a git hash: not checked.)"""
    blob = path.resolve()
    if not _LFS_NAME.fullmatch(blob.name):
        return
    got = sha256_of(blob)
    if got != blob.name:
        blob.unlink(missing_ok=True)
        path.unlink(missing_ok=True)
        raise ModelError(f"{name!r} from {source.repo}@{source.revision} does not match its checksum: sha256 "
                         f"{got}, expected {blob.name}; the download was removed")


def hub_size(source: HubFiles, names: list[str]) -> int | None:
    """The bytes of `names` as the hub reports them (one HEAD request each), for a question that
    must say how big a download is; None when any size cannot be had."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    endpoint = os.environ.get("HF_ENDPOINT") or None
    total = 0
    for name in names:
        try:
            meta = get_hf_file_metadata(hf_hub_url(source.repo, name, revision=source.revision, endpoint=endpoint))
        except Exception:  # noqa: BLE001 - only used in a question
            return None
        if meta.size is None:
            return None
        total += meta.size
    return total


def url_file(source: UrlFile, target: Path, report: Report) -> Path:
    """Fetch `source` to `target`, resuming a ``.part`` left by an earlier try; verify its SHA-256.

    A file whose checksum does not match is deleted (resuming it could never succeed) and
    refused with a `ModelError` naming both checksums.
    """
    from huggingface_hub.file_download import http_get

    target.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(target)
    have = part.stat().st_size if part.is_file() else 0
    if source.size is not None and have > source.size:  # not a prefix of this file
        part.unlink()
        have = 0
    try:
        with open(part, "ab") as fh:
            http_get(source.url, fh, resume_size=have, expected_size=source.size,
                     tqdm_class=_progress_class(source.filename, report))
    except Exception as exc:
        kept = part.stat().st_size if part.is_file() else 0
        if not kept:  # nothing arrived (a 404, a refused connection): no partial download to speak of
            part.unlink(missing_ok=True)
        raise ModelError(f"downloading {source.url} failed: {_first_line(exc)}"
                         + (f"; run the same command again to resume ({kept} bytes kept)" if kept else "")) from exc
    got = sha256_of(part)
    if got != source.sha256:
        part.unlink()
        raise ModelError(f"{source.url} does not match its checksum: sha256 {got}, expected {source.sha256}; "
                         f"the download was removed")
    os.replace(part, target)
    return target


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
