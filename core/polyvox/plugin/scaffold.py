"""`new_plugin`: a new engine plugin, scaffolded from plugins/template by a careful rename.

plugins/template stays an installable, tested plugin; every "template" in it (any case) names
the plugin itself, so the rename is exact:

    polyvox_template -> polyvox_<package>     polyvox-template -> polyvox-<name>
    Template         -> <ClassName>          TEMPLATE         -> <CONSTANT>
    template         -> <engine name>        "Your Name"      -> the author

and a scaffold that still contains the word is refused (the test suite checks it never is).
The plugin's ``polyvox_hook_api`` range is set to the hook API of the kernel that runs
``new-plugin`` (``>=1.1,<2`` for hook API 1.1), whatever the template's copy says.
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
from pathlib import Path

import attrs

from polyvox.errors import PolyvoxError
from polyvox.plugin import compat

#: Files and folders of the template that never go into a new plugin.
SKIP = ("__pycache__", ".pytest_cache", ".ruff_cache", "build", "dist", ".venv")
SKIP_SUFFIXES = (".pyc", ".egg-info")
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
_TOKEN = re.compile(r"polyvox_template|polyvox-template|template|Template|TEMPLATE")
_HOOK_API_LINE = re.compile(rf"^{compat.ATTRIBUTE} = .*$", re.MULTILINE)


class ScaffoldError(PolyvoxError):
    """A plugin name that cannot be used, an existing target, or a missing template."""


@attrs.frozen
class Names:
    """Every name a new plugin needs, derived from one plugin name."""

    plugin: str  # my-voice: the entry point name and the default engine name
    distribution: str  # polyvox-my-voice
    package: str  # polyvox_my_voice
    engine: str  # my-voice (or --engine-name)
    class_name: str  # MyVoice
    constant: str  # MY_VOICE

    @classmethod
    def from_name(cls, name: str, engine: str | None = None) -> Names:
        """Validate `name` (and `engine`) and derive the rest; `ScaffoldError` names what is wrong."""
        plugin = name.strip()
        for prefix in ("polyvox-", "polyvox_"):
            if plugin.startswith(prefix):
                plugin = plugin[len(prefix):]
        if not _NAME.match(plugin):
            raise ScaffoldError(f"plugin name {name!r} is not valid: use lower-case letters and digits, "
                                "separated by single '-' or '_', starting with a letter (e.g. my-voice)")
        if "template" in plugin or (engine and "template" in engine):
            raise ScaffoldError(f"plugin name {name!r} is not valid: 'template' names the template itself")
        package = "polyvox_" + plugin.replace("-", "_")
        if not package.isidentifier() or keyword.iskeyword(package):
            raise ScaffoldError(f"plugin name {name!r} does not give a Python package name ({package!r})")
        engine = (engine or plugin).strip()
        if not _NAME.match(engine):
            raise ScaffoldError(f"engine name {engine!r} is not valid: use lower-case letters and digits, "
                                "separated by single '-' or '_', starting with a letter")
        words = re.split(r"[-_]", plugin)
        return cls(plugin=plugin, distribution=f"polyvox-{plugin}", package=package, engine=engine,
                   class_name="".join(w.capitalize() for w in words), constant="_".join(words).upper())

    def rename(self, text: str, *, path: bool = False) -> str:
        """`text` with every name of the template replaced by this plugin's (in a `path`, with
        '_' for '-', so ``test_template_contract.py`` stays an importable module name)."""
        table = {"polyvox_template": self.package, "polyvox-template": self.distribution,
                 "template": self.engine.replace("-", "_") if path else self.engine,
                 "Template": self.class_name, "TEMPLATE": self.constant}
        return _TOKEN.sub(lambda m: table[m.group(0)], text)


@attrs.frozen
class Scaffold:
    """What `new_plugin` made."""

    names: Names
    directory: Path
    files: tuple[Path, ...]


def template_dir() -> Path:
    """The plugin template: POLYVOX_TEMPLATE, else the copy installed with polyvox (package data,
    ``polyvox/plugin/plugin-template``; in a source checkout a link to plugins/template), else the
    checkout's plugins/template."""
    configured = os.environ.get("POLYVOX_TEMPLATE")
    candidates = [Path(configured)] if configured else []
    here = Path(__file__).resolve().parent
    candidates += [here / "plugin-template", here.parents[2] / "plugins" / "template"]
    for path in candidates:
        if (path / "pyproject.toml").is_file() and (path / "polyvox_template").is_dir():
            return path
    raise ScaffoldError(f"the plugin template was not found in {here / 'plugin-template'}: reinstall polyvox, or set "
                        "POLYVOX_TEMPLATE to a copy of plugins/template from its source")


def new_plugin(name: str, directory: str | Path | None = None, *, engine: str | None = None,
               author: str | None = None, template: str | Path | None = None) -> Scaffold:
    """Create a plugin called `name` in `directory` (default ``./polyvox-<name>``) from the template.

    Refuses an existing `directory`. The result installs with ``pip install -e`` unchanged and
    passes its own tests (the contract kit and the template engine's tests, renamed).
    """
    names = Names.from_name(name, engine)
    if author is not None and (not author.strip() or '"' in author or "\n" in author):
        raise ScaffoldError(f"author {author!r} is not valid: give a name without double quotes or newlines")
    source = Path(template) if template else template_dir()
    if not (source / "pyproject.toml").is_file() or not (source / "polyvox_template").is_dir():
        raise ScaffoldError(f"{source} is not the plugin template: it needs pyproject.toml and polyvox_template/")
    target = Path(directory) if directory else Path.cwd() / names.distribution
    if target.exists():
        raise ScaffoldError(f"{target} already exists: choose another --dir (nothing was written)")
    made: list[Path] = []
    try:
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(source)
            if any(part in SKIP or part.endswith(SKIP_SUFFIXES) for part in relative.parts) or path.is_dir():
                continue
            out = target / names.rename(str(relative), path=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            made.append(out)
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                shutil.copyfile(path, out)
                continue
            text = _HOOK_API_LINE.sub(f'{compat.ATTRIBUTE} = "{hook_api_range()}"', names.rename(text))
            if author is not None:
                text = text.replace("Your Name", author.strip())
            out.write_text(text, encoding="utf-8")
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    left = [str(p.relative_to(target)) for p in made if _mentions_template(p)]
    if left:
        shutil.rmtree(target, ignore_errors=True)
        raise ScaffoldError(f"the template still says 'template' after renaming in {', '.join(left)}")
    return Scaffold(names, target, tuple(made))


def hook_api_range() -> str:
    """The hook API range a plugin written now supports: this minor and later, up to the next major."""
    major, minor = compat.HOOK_API
    return f">={major}.{minor},<{major + 1}"


def _mentions_template(path: Path) -> bool:
    try:
        return "template" in path.read_text(encoding="utf-8").lower() or "template" in path.name.lower()
    except UnicodeDecodeError:
        return False
