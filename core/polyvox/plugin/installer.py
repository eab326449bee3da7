"""Installing and removing plugins in the environment polyvox runs in, with pip.

A short name means the distribution ``polyvox-NAME``; when polyvox runs from a source checkout
that has ``plugins/NAME``, that folder is installed instead. Before anything is installed, pip
resolves the install without doing it (``pip install --dry-run --report``): a plugin whose
requirements would change a package this environment already has (``numpy<2`` beside numpy 2)
is refused with `KernelChangeError`, naming each package and `--isolated`, and nothing is
changed. Afterwards the engines are listed in a fresh process (entry points of a new install
are not visible to this one) and ``pip check`` is run, so a plugin whose dependencies break
another package is reported by name.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from polyvox.errors import PolyvoxError

#: Runs a command and returns (exit status, combined output). Replaceable in tests.
Runner = Callable[[Sequence[str]], tuple[int, str]]
_SPECIFIER = re.compile(r"[\[<>=!~;@ ]")
#: `python -c` puts the working directory first on sys.path: a plugin's own source folder (its
#: egg-info, a folder named like a module) would pass for what is installed. Dropped first.
_NOT_HERE = "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
_ENGINES_SCRIPT = (
    _NOT_HERE + "import json; from polyvox import Kernel; k = Kernel(cache=False); "
    "print(json.dumps({'engines': {s.name: k.plugin_of(s.name) for s in k.engines()}, "
    "'failures': [[f.name, f.error] for f in k.failures]}))"
)


class InstallError(PolyvoxError):
    """pip failed, or a plugin name or path that cannot be installed."""


@attrs.frozen
class Target:
    """What pip is given for one plugin the user named, and how it was found."""

    given: str
    requirement: str  # a distribution requirement or a directory
    note: str = ""  # e.g. "using the source checkout's plugins/template"
    #: Installed editable even without -e (a plugin of the source checkout, like polyvox itself).
    editable: bool = False

    @property
    def is_path(self) -> bool:
        return Path(self.requirement).is_dir()


class KernelChangeError(InstallError):
    """Installing the plugin beside polyvox would up- or downgrade packages it already has."""

    def __init__(self, message: str, changes: Sequence[Change]):
        super().__init__(message)
        self.changes = tuple(changes)


@attrs.frozen
class Change:
    """A package the environment has that an install would replace with another version."""

    name: str
    installed: str
    wanted: str

    def __str__(self) -> str:
        return f"{self.name} {self.installed} -> {self.wanted}"


@attrs.frozen
class Conflict:
    """One line of ``pip check``: the package whose requirements are not met, and the line."""

    package: str
    message: str


@attrs.frozen
class Outcome:
    """What an install or uninstall did."""

    targets: tuple[Target, ...]
    pip_output: str
    added: dict[str, str]  # engine -> plugin, engines that were not there before
    removed: dict[str, str]
    engines: dict[str, str]  # every engine now, -> plugin
    failures: tuple[tuple[str, str], ...]  # plugins that failed to load now: (name, error)
    conflicts: tuple[Conflict, ...]


def run_command(command: Sequence[str]) -> tuple[int, str]:
    proc = subprocess.run(list(command), capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def source_plugins_dir() -> Path | None:
    """The ``plugins`` folder of the source checkout polyvox runs from, if it does."""
    root = Path(__file__).resolve().parents[3]
    plugins = root / "plugins"
    return plugins if plugins.is_dir() and (root / "core" / "polyvox").is_dir() else None


def distribution_name(name: str) -> str:
    """``piper`` -> ``polyvox-piper``; a name that already starts with polyvox- stays."""
    name = name.strip()
    if name.startswith(("polyvox-", "polyvox_")) or name == "polyvox":
        return name
    return f"polyvox-{name}"


def resolve(given: str, plugins_dir: Path | None = None) -> Target:
    """The pip requirement for a short name, a distribution requirement or a path."""
    text = given.strip()
    if not text:
        raise InstallError("empty plugin name: give a name such as piper, or a path")
    path = Path(text).expanduser()
    looks_like_path = text.startswith((".", "/", "~")) or "/" in text or "\\" in text
    if looks_like_path or (path.is_dir() and (path / "pyproject.toml").is_file()):
        if not (path / "pyproject.toml").is_file() and not (path / "setup.py").is_file():
            raise InstallError(f"{text!r} is not a plugin folder: it has no pyproject.toml")
        return Target(given, str(path.resolve()))
    match = _SPECIFIER.search(text)
    name, rest = (text[: match.start()], text[match.start():]) if match else (text, "")
    short = name[len("polyvox-"):] if name.startswith(("polyvox-", "polyvox_")) else name
    from polyvox.plugin.registry import BUILTINS

    if short in BUILTINS:  # polyvox-piper still exists on an index, but the built-in would shadow it
        raise InstallError(f"{short!r} is built into polyvox: nothing to install (upgrade polyvox itself to "
                           f"upgrade it; POLYVOX_PLUGINS leaves it out)")
    plugins_dir = source_plugins_dir() if plugins_dir is None else plugins_dir
    local = plugins_dir / short if plugins_dir is not None else None
    if not rest and local is not None and (local / "pyproject.toml").is_file():
        return Target(given, str(local), f"using {local} from the polyvox source checkout (editable)", editable=True)
    return Target(given, distribution_name(name) + rest)


def pip_command(targets: Sequence[Target], *, editable: bool = False, upgrade: bool = False,
                no_build_isolation: bool = False, python: str | None = None) -> list[str]:
    command = [python or sys.executable, "-m", "pip", "install"]
    if upgrade:
        command.append("--upgrade")
    if no_build_isolation:
        command.append("--no-build-isolation")
    for target in targets:
        if editable or target.editable:
            if not target.is_path:
                raise InstallError(f"-e needs a plugin folder, and {target.given!r} is a distribution name "
                                   f"({target.requirement}): give a path or drop -e")
            command += ["-e", target.requirement]
        else:
            command.append(target.requirement)
    return command


def engines(python: str | None = None, runner: Runner = run_command) -> tuple[dict[str, str], list[list[str]]]:
    """Engines (-> plugin) and plugin failures as a fresh polyvox process in `python` sees them."""
    status, output = runner([python or sys.executable, "-c", _ENGINES_SCRIPT])
    if status != 0:
        raise InstallError(f"polyvox cannot start after the change: {_last_line(output)}")
    data = json.loads(output.strip().splitlines()[-1])
    return data["engines"], data["failures"]


def pip_check(python: str | None = None, runner: Runner = run_command) -> list[Conflict]:
    """The environment's broken requirements, as ``pip check`` reports them."""
    status, output = runner([python or sys.executable, "-m", "pip", "check"])
    if status == 0:
        return []
    return [Conflict(line.split()[0], line.strip()) for line in output.splitlines()
            if line.strip() and not line.startswith(("No broken", "WARNING", "["))]


def install(names: Sequence[str], *, editable: bool = False, upgrade: bool = False,
            no_build_isolation: bool = False, python: str | None = None,
            runner: Runner = run_command) -> Outcome:
    """``pip install`` the plugins in `names` (short names, requirements or paths), after a dry
    run that shows it changes no package the environment already has (`KernelChangeError`)."""
    if not names:
        raise InstallError("nothing to install: give a plugin name or path")
    targets = [resolve(n) for n in names]
    command = pip_command(targets, editable=editable, upgrade=upgrade, no_build_isolation=no_build_isolation,
                          python=python)
    changes = planned_changes(command, python, runner)
    if changes:
        given = " ".join(t.given for t in targets)
        raise KernelChangeError(
            f"installing {given} beside polyvox would change packages it runs on ({'; '.join(map(str, changes))}), "
            f"so nothing was installed: give it an environment of its own with `polyvox install {given} "
            "--isolated`", changes)
    return _change(targets, command, python, runner, "install")


def planned_changes(command: Sequence[str], python: str | None = None,
                    runner: Runner = run_command) -> list[Change]:
    """The installed packages that the pip install `command` would replace with another
    version, found by pip resolving it without installing anything (``--dry-run --report``).
    The plugins asked for are not counted (upgrading a plugin is what was asked)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="polyvox-dry-run-") as folder:
        report = Path(folder) / "report.json"
        at = list(command).index("install") + 1
        status, output = runner([*command[:at], "--dry-run", "--quiet", "--report", str(report), *command[at:]])
        if status != 0 and "No module named pip" in output:
            python = command[0]
            raise InstallError(f"{python} has no pip (an environment made by uv has none), so nothing was "
                               f"installed: add it with `uv pip install --python {python} pip` or "
                               f"`{python} -m ensurepip`, then install again")
        if status != 0:
            raise InstallError(f"pip cannot resolve the install, so nothing was installed: {_first_error(output)}")
        planned = json.loads(report.read_text(encoding="utf-8")).get("install", [])
    if not planned:
        return []
    installed = installed_versions(python, runner)
    changes = []
    for item in planned:
        meta = item.get("metadata", {})
        key = _normalized(meta.get("name", ""))
        if item.get("requested") or key not in installed or installed[key][1] == meta.get("version"):
            continue
        changes.append(Change(installed[key][0], installed[key][1], str(meta.get("version"))))
    return changes


def installed_versions(python: str | None = None, runner: Runner = run_command) -> dict[str, tuple[str, str]]:
    """Normalized name -> (name, version) of every distribution in `python`'s environment."""
    script = (_NOT_HERE + "import json, importlib.metadata as m; "
              "print(json.dumps([[d.metadata['Name'], d.version] for d in m.distributions()]))")
    status, output = runner([python or sys.executable, "-c", script])
    if status != 0:
        raise InstallError(f"cannot list the packages of {python or sys.executable}: {_last_line(output)}")
    return {_normalized(name): (name, version) for name, version in json.loads(output.strip().splitlines()[-1])
            if name}


def _normalized(name: str) -> str:
    """A distribution name as packaging compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def uninstall(names: Sequence[str], *, python: str | None = None, runner: Runner = run_command) -> Outcome:
    """``pip uninstall`` the plugins in `names` (short or distribution names)."""
    if not names:
        raise InstallError("nothing to uninstall: give a plugin name")
    if any(distribution_name(n) == "polyvox" for n in names):
        raise InstallError("polyvox uninstall removes plugins; remove polyvox itself with pip")
    targets = [Target(n, distribution_name(n)) for n in names]
    command = [python or sys.executable, "-m", "pip", "uninstall", "-y", *(t.requirement for t in targets)]
    return _change(targets, command, python, runner, "uninstall")


def _change(targets: list[Target], command: list[str], python: str | None, runner: Runner,
            verb: str) -> Outcome:
    before, _ = engines(python, runner)
    status, output = runner(command)
    if status != 0:
        raise InstallError(f"pip {verb} failed for {', '.join(t.given for t in targets)}: {_last_line(output)}")
    if verb == "uninstall" and "WARNING: Skipping" in output:
        missing = [t.requirement for t in targets if f"Skipping {t.requirement} " in output]
        if missing:
            raise InstallError(f"{', '.join(missing)} is not installed: nothing was uninstalled")
    after, failures = engines(python, runner)
    added = {e: p for e, p in after.items() if e not in before}
    removed = {e: p for e, p in before.items() if e not in after}
    return Outcome(tuple(targets), output, added, removed, after, tuple(tuple(f) for f in failures),
                   tuple(pip_check(python, runner)))


def _first_error(output: str) -> str:
    """pip's first ERROR line (a resolution failure's "Cannot install A and B ..."), else the last line."""
    errors = [line.strip() for line in output.splitlines() if line.strip().lower().startswith("error")]
    return errors[0] if errors else _last_line(output)


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error")]
    return (errors or lines or ["no output"])[-1]
