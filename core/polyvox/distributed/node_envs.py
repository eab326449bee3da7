"""Engine environments on a cluster's nodes: what travels with a replica, and the build there.

An isolated engine (polyvox.isolation) runs in a worker process started from its own uv
environment. On a Ray cluster that environment must exist on the node the replica lands
on; rather than asking for a shared volume, each replica of an isolated engine carries in
its Ray `runtime_env` what the node needs to make it:

``env_vars``: where engine environments live on the nodes (``POLYVOX_ENVS_DIR``), the
worker's timeout, the replica's thread count, and any variables the user adds (uv's index
or cache, ``HF_HOME``). With them, as the actor's argument, goes a `Recipe`: the plugin's
requirement when it came from the package index, or its folder (pyproject.toml,
requirements.lock, source) packed as a small tar when it was installed from one. Ray's
runtime_env cannot carry that folder per actor: `working_dir` and `py_modules` take a local
folder only in the job's runtime_env (`ray.init`), and a replica's actor is made inside a
session the host may have started already.

On start the replica (`ensure`) takes a per-node file lock, looks for the environment's
record under the driver's key, then under the key this recipe gives on this node (what is
installed, its lock, the Python version), and when it is missing or differs, makes it with polyvox's own installer
(`polyvox.isolation.envs.create`: uv, package registries only). Two replicas on one node
build it once; a node that has it builds nothing.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from polyvox.errors import PolyvoxError
from polyvox.isolation import envs
from polyvox.isolation.envs import EnvRecord

#: Driver settings a replica's node needs as they are (when set on the driver).
PASSED_SETTINGS = ("POLYVOX_WORKER_TIMEOUT",)
#: What of a plugin folder is not packed: version control, caches, build output, its tests.
SKIPPED = {".git", "__pycache__", "build", "dist", ".venv", "tests", ".pytest_cache", ".ruff_cache"}
#: A plugin folder larger than this packed is refused (weights belong in the model cache).
MAX_PACKED = 32 * 1024 * 1024


@attrs.frozen
class Recipe:
    """How a node makes one isolated plugin's environment (plain data: it travels to actors)."""

    name: str
    #: The key of the driver's environment: a node that has a record under it uses that one.
    key: str
    #: A distribution requirement (from the package index), or None: built from `archive`.
    requirement: str | None
    #: The plugin folder it was installed from, as an uncompressed tar (None: from the index).
    archive: bytes | None
    inherit: bool = False
    no_deps: bool = False
    offline: bool = False

    @classmethod
    def of(cls, record: EnvRecord) -> Recipe | None:
        """The recipe a record was made with; None for one no other machine can make again."""
        source = record.source
        if not source or not (source.get("requirement") or source.get("folder")):
            return None
        if source.get("folder") and not Path(source["folder"]).is_dir():
            return None  # its folder is gone from this machine: nothing to send
        archive = pack(Path(source["folder"])) if source.get("folder") else None
        return cls(record.name, record.key, source.get("requirement"), archive, bool(source.get("inherit")),
                   bool(source.get("no_deps")), bool(source.get("offline")))


def pack(folder: Path) -> bytes:
    """`folder`'s files as a tar, without what `SKIPPED` names or egg-info."""
    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        parts = Path(info.name).parts
        if any(p in SKIPPED or p.endswith(".egg-info") for p in parts) or not (info.isfile() or info.isdir()):
            return None
        return info

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(folder, arcname=".", filter=keep)
    if buffer.tell() > MAX_PACKED:
        raise PolyvoxError(f"plugin folder {folder} packs to {buffer.tell() >> 20} MiB, more than the "
                           f"{MAX_PACKED >> 20} MiB a Ray replica carries: keep model files out of it")
    return buffer.getvalue()


def unpack(archive: bytes, directory: Path) -> Path:
    """The folder `archive` unpacks to under `directory`/.sources, named by its content."""
    folder = directory / ".sources" / hashlib.sha256(archive).hexdigest()[:16]
    if not (folder / "pyproject.toml").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            if hasattr(tarfile, "data_filter"):  # Python 3.11.4+: no links out, no absolute paths
                tar.extractall(folder, filter="data")
            else:  # packed by `pack`: plain files and folders only
                tar.extractall(folder)  # noqa: S202
    return folder


def isolated_record(engine: str, directory: Path | None = None) -> EnvRecord | None:
    """The record of the isolated plugin that declares `engine`, in the driver's envs dir."""
    for record in envs.records(directory):
        if any(spec.get("name") == engine for spec in record.specs):
            return record
    return None


def runtime_env(*, envs_dir: str, threads: int,
                extra: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Ray `runtime_env` of one replica of an isolated engine."""
    env_vars = {"POLYVOX_ENVS_DIR": envs_dir, "OMP_NUM_THREADS": str(threads)}
    env_vars.update({k: os.environ[k] for k in PASSED_SETTINGS if os.environ.get(k)})
    env_vars.update(extra or {})
    return {"env_vars": env_vars}


def ensure(recipe: Recipe, directory: Path | None = None) -> bool:
    """Make `recipe`'s environment in this node's envs dir unless it is there: True when this
    call built it. Replicas on one node take turns through a file lock, so it is built once."""
    from filelock import FileLock

    directory = envs.envs_dir() if directory is None else directory
    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(str(directory / f".{recipe.name}.build.lock")):
        mine = [r for r in envs.records(directory) if r.name == recipe.name]
        if any(r.key == recipe.key for r in mine):
            # the driver's own (one machine, a shared volume, the same image): used as it is,
            # even when the plugin folder changed since it was made
            return False
        if recipe.requirement:
            requirement = recipe.requirement
        elif recipe.archive:
            requirement = str(unpack(recipe.archive, directory))
        else:
            raise PolyvoxError(f"the recipe of isolated plugin {recipe.name!r} names neither a requirement "
                               "nor a plugin folder")
        path = envs.planned(recipe.name, requirement, directory=directory, inherit=recipe.inherit)
        if any(Path(r.path) == path for r in mine):  # made here before (another Python than the driver's)
            return False
        envs.create(recipe.name, requirement, directory=directory, inherit=recipe.inherit,
                    offline=recipe.offline, no_deps=recipe.no_deps)
        return True
