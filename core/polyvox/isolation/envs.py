"""Engine environments: one virtual environment per isolated plugin, made with uv.

An environment lives in ``<envs dir>/<plugin>-<key>/``, where the key hashes what was
installed (the requirements, a plugin folder's pyproject.toml and requirements.lock, the
Python version), so a changed requirement makes a new environment instead of patching a
working one. A plugin folder's requirements.lock constrains what is installed. Next to
it, ``<plugin>.json`` records what the kernel needs without starting anything: the
worker command, the engines' specs and the versions of the packages that make the audio.
uv links identical wheels from its cache, so two environments that both hold torch
cost one copy on disk (on one filesystem).

The envs dir is ``POLYVOX_ENVS_DIR``, else ``envs`` under the user data dir.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from polyvox.errors import PolyvoxError

RECORD_VERSION = 1
#: An interpreter's version and site-packages (absolute, and relative to its prefix as a venv has it).
_SITE_INFO = (
    "import json, platform, site, sys\n"
    "v = sys.version_info\n"
    "print(json.dumps({'version': platform.python_version(), 'site': site.getsitepackages(),\n"
    "                  'relative_site': f'lib/python{v.major}.{v.minor}/site-packages'}))\n"
)
_ENTRY_POINTS = (
    "import json, sys\nfrom importlib.metadata import distribution\n"
    "d = distribution(sys.argv[1])\n"
    "print(json.dumps([[e.group, e.name, e.value] for e in d.entry_points "
    "if e.group in ('polyvox.isolated', 'polyvox')]))\n"
)


class EnvError(PolyvoxError):
    """An engine environment that cannot be made, found or used."""


def envs_dir(env: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if env is None else env
    if environ.get("POLYVOX_ENVS_DIR"):
        return Path(environ["POLYVOX_ENVS_DIR"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("polyvox")) / "envs"


@attrs.frozen
class EnvRecord:
    """What the kernel knows about one isolated plugin's environment."""

    name: str  # the plugin's short name
    key: str
    path: str  # the environment's directory
    python: str  # its interpreter
    python_version: str
    distribution: str | None
    #: Entry points the worker loads: (name, "module:attr").
    plugins: tuple[tuple[str, str], ...] = attrs.field(converter=lambda v: tuple(tuple(p) for p in v))
    specs: tuple[dict[str, Any], ...] = attrs.field(converter=tuple)
    #: The plugin's distribution and direct requirements -> version: part of every cache key.
    versions: dict[str, str] = attrs.field(factory=dict)
    finds_voices: bool = False
    #: The listeners it declares (`polyvox.listen`), as the worker reported them.
    listeners: tuple[dict[str, Any], ...] = attrs.field(default=(), converter=tuple)
    #: How it was made, so another machine can make it again (polyvox.distributed.node_envs):
    #: {"requirement": a distribution requirement or None, "folder": the plugin folder or None,
    #: "inherit", "no_deps", "offline"}; None for one layered on a `base` (not portable).
    source: dict[str, Any] | None = None

    @property
    def version(self) -> str:
        """The engine version the cache key uses: the audio-making packages' versions."""
        from polyvox.plugin.versions import version_text

        return version_text(self.versions)

    def worker_command(self) -> list[str]:
        command = [self.python, "-m", "polyvox.isolation.worker"]
        for name, target in self.plugins:
            command += ["--plugin", f"{name}={target}"]
        if self.distribution:
            command += ["--distribution", self.distribution]
        return command

    def describe(self) -> str:
        packages = ", ".join(f"{k} {v}" for k, v in self.versions.items())
        return f"{self.path} (Python {self.python_version}{'; ' + packages if packages else ''})"

    def save(self, directory: Path) -> Path:
        path = directory / f"{self.name}.json"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"record": RECORD_VERSION, **attrs.asdict(self)}, indent=1))
        os.replace(tmp, path)
        return path


def records(directory: Path | None = None) -> list[EnvRecord]:
    """The isolated plugins installed in `directory`; unreadable records are skipped."""
    directory = envs_dir() if directory is None else directory
    out = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            data = json.loads(path.read_text())
            if data.pop("record", None) != RECORD_VERSION:
                continue
            record = EnvRecord(**data)
        except (OSError, ValueError, TypeError):
            continue
        if Path(record.python).exists():
            out.append(record)
    return out


def find_uv() -> str:
    """The uv executable: the one the ``uv`` package ships, else one on PATH."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise EnvError("isolated engines are installed with uv, which is missing: pip install 'polyvox[isolation]'")


def env_key(requirements: Sequence[str], python_version: str, inherit: bool) -> str:
    """The hash an environment is filed under: what is installed and with which Python. A
    folder counts by its pyproject.toml and lock, not by where it lies, so a copy of the same
    plugin folder on another machine (a Ray node) files its environment under the same key."""
    parts: list[Any] = [python_version, inherit]
    for req in requirements:
        pyproject, lock = Path(req) / "pyproject.toml", plugin_lock(req)
        parts.append(["<folder>" if Path(req).is_dir() else req, pyproject.read_text() if pyproject.is_file() else None,
                      *([lock.read_text()] if lock else [])])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:12]


def plugin_lock(requirement: str) -> Path | None:
    """A plugin folder's ``requirements.lock``: the versions its tests ran with. It constrains the
    plugin's environment, so a user's gets the tested versions and, where two engines' locks pin
    the same torch, uv links one copy of it into both."""
    lock = Path(requirement) / "requirements.lock"
    return lock if lock.is_file() else None


def kernel_source() -> str:
    """What installs this polyvox into an engine environment: its source folder when it was
    installed from one (a checkout), else its version from the package index."""
    from importlib import metadata

    dist = metadata.distribution("polyvox")
    direct = dist.read_text("direct_url.json")
    if direct:
        url = json.loads(direct).get("url", "")
        if url.startswith("file://"):
            return url[len("file://"):]
    return f"polyvox=={dist.version}"


def _run(command: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 3600) -> str:
    try:
        proc = subprocess.run(list(command), capture_output=True, text=True, env=dict(env) if env else None,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise EnvError(f"{Path(command[0]).name} {command[1]} took longer than {timeout:g} s") from None
    if proc.returncode != 0:
        lines = [line.strip() for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
        # uv ends with hints; the cause is the last line that says error
        errors = [line for line in lines if "error" in line.lower() and not line.startswith("hint")]
        raise EnvError(f"{Path(command[0]).name} {' '.join(command[1:3])} failed: "
                       f"{(errors or lines or ['no output'])[-1]}")
    return proc.stdout


def create(name: str, requirement: str, *, directory: Path | None = None, distribution: str | None = None,
           inherit: bool = False, base: str | None = None, offline: bool = False, no_deps: bool = False,
           env: Mapping[str, str] | None = None) -> EnvRecord:
    """Make (or reuse) the environment for plugin `name` from `requirement` (a folder or a
    distribution requirement), start its worker once to record its engines, and file it.

    `inherit` makes the environment see the kernel's packages (tests and plugin
    development: no download); `base` (the Python of another environment) makes it see that
    one's instead, e.g. a pinned engines environment built once per machine, and uses its
    interpreter. Otherwise polyvox itself is installed into it.
    """
    from polyvox.isolation.host import WorkerHost

    directory = envs_dir() if directory is None else directory
    directory.mkdir(parents=True, exist_ok=True)
    layer = base or (sys.executable if inherit else None)
    interpreter = base or sys.executable
    path, requirements, info = _plan(name, requirement, directory, inherit, base, env)
    key = path.name[len(name) + 1:]
    python = path / "bin" / "python"
    uv = find_uv()
    if not (path / ".complete").exists():
        shutil.rmtree(path, ignore_errors=True)
        _run([uv, "venv", "--quiet", "--python", interpreter, str(path)], env)
        if layer:
            parents = [p for p in info["site"] if Path(p).is_dir()]
            (path / info["relative_site"] / "_polyvox_base_env.pth").write_text(
                "".join(f"import site; site.addsitedir({p!r})\n" for p in parents))
        distribution = distribution or _distribution_of(requirement)
        # A layer that already holds the plugin (an engines environment with the checkout's
        # plugins installed editable) needs nothing more: its own build tools may be too old.
        if not (layer and _installed(str(python), distribution, env)):
            command = [uv, "pip", "install", "--quiet", "--python", str(python)]
            if offline:
                command.append("--offline")
            if no_deps:
                command += ["--no-deps", "--no-build-isolation"]
            for lock in filter(None, map(plugin_lock, requirements)):
                command += ["--constraint", str(lock)]
            _run([*command, *requirements], env)
        (path / ".complete").write_text("")
    distribution = distribution or _distribution_of(requirement)
    entry = json.loads(_run([str(python), "-c", _ENTRY_POINTS, distribution], env))
    isolated = [(n, v) for g, n, v in entry if g == "polyvox.isolated"]
    plugins = isolated or [(n, v) for g, n, v in entry if g == "polyvox"]
    if not plugins:
        raise EnvError(f"{distribution} declares no polyvox entry point: it is not a polyvox plugin")
    draft = EnvRecord(name, key, str(path), str(python), info["version"], distribution, plugins, ())
    host = WorkerHost(draft.worker_command(), label=f"{name} ({path})", env=env, start_timeout=600)
    try:
        hello = host.start()  # a plugin that does not load there raises WorkerError, with its error
    finally:
        host.close()
    folder = Path(requirement).is_dir()
    source = None if base else {"requirement": None if folder else requirement,
                                "folder": str(Path(requirement).resolve()) if folder else None,
                                "inherit": inherit, "no_deps": no_deps, "offline": offline}
    record = attrs.evolve(draft, specs=hello["specs"], versions=hello["versions"],
                          finds_voices=hello["finds_voices"], listeners=hello.get("listeners", []), source=source)
    for old in records(directory):
        if old.name == name and old.path != record.path:
            shutil.rmtree(old.path, ignore_errors=True)
    record.save(directory)
    return record


def planned(name: str, requirement: str, *, directory: Path | None = None, inherit: bool = False,
            base: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The folder `create` makes (or reuses) for these arguments, without making anything."""
    return _plan(name, requirement, envs_dir() if directory is None else directory, inherit, base, env)[0]


def _plan(name: str, requirement: str, directory: Path, inherit: bool, base: str | None,
          env: Mapping[str, str] | None) -> tuple[Path, list[str], dict[str, Any]]:
    """The environment's folder, what is installed into it, and its interpreter's site info."""
    layer = base or (sys.executable if inherit else None)
    info = json.loads(_run([base or sys.executable, "-c", _SITE_INFO], env))
    requirements = [requirement] if layer else [requirement, kernel_source()]
    key = env_key([*requirements, *([f"base={base}"] if base else [])], info["version"], layer is not None)
    return directory / f"{name}-{key}", requirements, info


def _installed(python: str, distribution: str, env: Mapping[str, str] | None) -> bool:
    probe = f"from importlib.metadata import distribution; distribution({distribution!r})"
    return subprocess.run([python, "-c", probe], capture_output=True, env=dict(env) if env else None,
                          timeout=120).returncode == 0


def remove(name: str, directory: Path | None = None) -> EnvRecord | None:
    """Delete plugin `name`'s environment and record; None when it has none."""
    directory = envs_dir() if directory is None else directory
    for record in records(directory):
        if record.name == name:
            shutil.rmtree(record.path, ignore_errors=True)
            (directory / f"{name}.json").unlink(missing_ok=True)
            return record
    return None


def short_name(given: str) -> str:
    """The plugin's short name for a folder, a distribution or a short name: ``polyvox-x`` -> ``x``."""
    name = _distribution_of(given) if Path(given).is_dir() else given.strip()
    name = re.match(r"[A-Za-z0-9._-]+", name).group(0) if name else name  # type: ignore[union-attr]
    for prefix in ("polyvox-", "polyvox_"):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _distribution_of(requirement: str) -> str:
    folder = Path(requirement)
    if (folder / "pyproject.toml").is_file():
        import tomllib

        return tomllib.loads((folder / "pyproject.toml").read_text())["project"]["name"]
    return re.match(r"[A-Za-z0-9._-]+", requirement).group(0)  # type: ignore[union-attr]


def declares_isolation(folder: str | Path) -> bool:
    """True when the plugin folder's pyproject.toml has a ``polyvox.isolated`` entry point."""
    pyproject = Path(folder) / "pyproject.toml"
    if not pyproject.is_file():
        return False
    import tomllib

    data = tomllib.loads(pyproject.read_text())
    return bool(data.get("project", {}).get("entry-points", {}).get("polyvox.isolated"))
