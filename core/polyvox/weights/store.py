"""Where weights live and what of them is on disk: huggingface_hub's cache for hub files (the
same cache every other Hugging Face tool shares, so nothing is downloaded twice), polyvox's
models folder for files from plain URLs. Nothing here touches the network.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from polyvox.weights.sources import Files, HubFiles, LocalFiles, ModelWeights, Status, UrlFile

MODELS_ENV = "POLYVOX_MODELS_DIR"


def hub_cache() -> Path:
    """huggingface_hub's cache folder, read from the environment at each call (HF_HUB_CACHE,
    else HF_HOME/hub), so a process that changes it sees the change."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    return Path(home).expanduser() / "hub"


def models_dir() -> Path:
    """polyvox's folder for weights that do not come from the hub (POLYVOX_MODELS_DIR, else the
    platform's user data folder)."""
    if os.environ.get(MODELS_ENV):
        return Path(os.environ[MODELS_ENV]).expanduser()
    import platformdirs

    return platformdirs.user_data_path("polyvox") / "models"


def repo_folder(source: HubFiles) -> Path:
    """The folder huggingface_hub keeps `source`'s repository in."""
    return hub_cache() / ("models--" + source.repo.replace("/", "--"))


def url_path(engine: str, source: UrlFile) -> Path:
    return models_dir() / engine / source.filename


def part_path(path: Path) -> Path:
    """Where an unfinished download of `path` is kept until it is complete and verified."""
    return path.with_name(path.name + ".part")


def hub_file(source: HubFiles, name: str) -> Path | None:
    """The cached file, or None; a lookup in the cache folder only. A file in no snapshot of
    its repository is answered without importing huggingface_hub (about 0.1 s with what it
    imports), so declaring engines whose weights were never fetched costs nothing at start-up."""
    snapshots = repo_folder(source) / "snapshots"
    if not snapshots.is_dir() or not any(p.is_file() for p in snapshots.glob(f"*/{glob.escape(name)}")):
        return None
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(source.repo, name, cache_dir=hub_cache(), revision=source.revision)
    return Path(found) if isinstance(found, str) and os.path.isfile(found) else None


def _hub_interrupted(source: HubFiles) -> bool:
    blobs = repo_folder(source) / "blobs"
    return blobs.is_dir() and any(blobs.glob("*.incomplete"))


def status(engine: str, weights: ModelWeights) -> Status:
    """Which of the declared files are on disk, without any network access."""
    paths: dict[str, Path] = {}
    missing: list[str] = []
    required_found = interrupted = False
    to_fetch: int | None = None
    folders: list[Path] = []
    for source in weights.sources:
        if isinstance(source, HubFiles):
            folders.append(repo_folder(source))
            interrupted |= _hub_interrupted(source)
            for name in source.names:
                found = hub_file(source, name)
                if found is not None:
                    paths[name] = found
                    required_found |= name in source.filenames
                elif name in source.filenames:
                    missing.append(name)
                    if name in source.sizes:
                        to_fetch = (to_fetch or 0) + source.sizes[name]
        elif isinstance(source, UrlFile):
            target = url_path(engine, source)
            folders.append(target.parent)
            if target.is_file():
                paths[source.filename] = target
                required_found = True
            else:
                missing.append(source.filename)
                interrupted |= part_path(target).is_file()
                if source.size is not None:
                    to_fetch = (to_fetch or 0) + source.size
        elif isinstance(source, LocalFiles):
            for path in source.paths:
                folders.append(path.parent)
                if path.is_file():  # present or not, a local file says nothing of a download
                    paths[path.name] = path
                else:
                    missing.append(str(path))
    if not missing:
        state = "present"
    elif required_found or interrupted:
        state = "partial"
    else:
        state = "missing"
    found = list(paths.values())
    folder = found[0].parent if found else (folders[0] if folders else None)
    on_disk = sum(p.stat().st_size for p in found)
    return Status(state, Files(paths), tuple(missing), on_disk, to_fetch, folder)


def remove(engine: str, weights: ModelWeights, keep: set[Path]) -> list[Path]:
    """Delete the fetched files of a model, except those in `keep` (resolved paths other models
    still use). Bundled (`LocalFiles`) files are never deleted. Returns what was removed."""
    removed: list[Path] = []

    def unlink(path: Path) -> None:
        if path.exists() or path.is_symlink():
            path.unlink()
            removed.append(path)

    for source in weights.sources:
        if isinstance(source, HubFiles):
            for name in source.names:
                found = hub_file(source, name)
                if found is None or found.resolve() in keep:
                    continue
                blob = found.resolve()
                unlink(found)
                if blob != found:
                    unlink(blob)
            blobs = repo_folder(source) / "blobs"
            for partial in blobs.glob("*.incomplete") if blobs.is_dir() else ():
                unlink(partial)
        elif isinstance(source, UrlFile):
            target = url_path(engine, source)
            if target.resolve() not in keep:
                unlink(target)
            unlink(part_path(target))
    return removed
