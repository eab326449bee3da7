"""The house rules of docs/architecture.md, read from the code's own imports with `ast`.

- no module imports a private name (`_x`) from another package of polyvox;
- no import circle among polyvox's modules, counting every import statement: at module level,
  under `if TYPE_CHECKING:` AND inside functions (a circle hidden in a function body, or in a
  type annotation, is still two modules that know each other);
- the layers: the CLI and the server use only `polyvox` (the names and modules its `__all__`
  lists) and their own package; engines (builtins/, plugins/*) never import polyvox.render,
  polyvox.cache or polyvox.cli; the plugin contract (polyvox.plugin) does not know the render
  that calls it. A public name (`from polyvox import JoinConfig`) counts as an import of the
  module that defines it, so a name re-exported from the top does not hide a crossing.

Nothing is imported or run: each rule is checked on the source text, so a rule broken by a
module that is costly to import (Ray, FastAPI) is found as cheaply as any other.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "core"
PLUGINS = ROOT / "plugins"


@attrs.frozen
class Import:
    """One import statement's view of one module it loads."""

    importer: str  # the importing module, dotted
    target: str  # the module loaded (a name from a package's `__init__` resolves to its home)
    names: tuple[str, ...]  # the names taken from it (empty for `import x`)
    line: int
    in_function: bool
    written: str = ""  # the module the statement names (`polyvox` for `from polyvox import Kernel`)

    def where(self) -> str:
        return f"{self.importer}:{self.line}"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources(root: Path, pattern: str) -> dict[str, Path]:
    """Every Python module under `root` matching `pattern`, by dotted name."""
    return {module_name(p, root): p for p in sorted(root.glob(pattern)) if "egg-info" not in str(p)}


CORE_MODULES = sources(CORE, "polyvox/**/*.py")
PLUGIN_MODULES = {name: path for folder in sorted(PLUGINS.iterdir()) if folder.is_dir()
                  for name, path in sources(folder, "polyvox_*/**/*.py").items()}


def _top_level() -> tuple[dict[str, str], set[str]]:
    """`polyvox.__init__`'s `_LAZY` map (a public name -> the module that defines it) and its
    `__all__` (the public API: names, and the modules it lists)."""
    lazy: dict[str, str] = {}
    public: set[str] = set()
    for node in ast.parse(CORE_MODULES["polyvox"].read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id == "_LAZY":
                lazy = {name: f"polyvox.{module}" for name, module in ast.literal_eval(node.value).items()}
            elif node.targets[0].id == "__all__":
                public = set(ast.literal_eval(node.value))
    assert lazy and public, "polyvox/__init__.py has no _LAZY map or no __all__"
    return lazy, public


LAZY, PUBLIC = _top_level()
#: The modules of the public API (`from polyvox import events`, `from polyvox.events import X`).
PUBLIC_MODULES = {f"polyvox.{name}" for name in PUBLIC if f"polyvox.{name}" in CORE_MODULES}


def _is_package(module: str) -> bool:
    return CORE_MODULES.get(module, Path()).name == "__init__.py"


def _statements(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement, with whether it is inside a function. Imports under `if
    TYPE_CHECKING:` count as module-level ones: a module that names another's types knows it."""

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, in_function
            else:
                yield from walk(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    yield from walk(tree, False)


def imports(module: str, path: Path) -> list[Import]:
    """What `module` imports from polyvox and from its own distribution, module by module."""
    found = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node, in_function in _statements(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(module, alias.name, (), node.lineno, in_function, alias.name))
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            base = ".".join(anchor[: len(anchor) - node.level + 1] + ([base] if base else []))
        by_target: dict[str, list[str]] = {}
        for alias in node.names:
            name = alias.name
            submodule = f"{base}.{name}"
            if submodule in CORE_MODULES or submodule in PLUGIN_MODULES:
                target = submodule  # `from polyvox.render import scheduler`
            elif base == "polyvox" and name in LAZY:
                target = LAZY[name]  # a public name: where it is defined
            else:
                target = base
            by_target.setdefault(target, []).append(name)
        for target, names in by_target.items():
            found.append(Import(module, target, tuple(names), node.lineno, in_function, base))
    return found


CORE_IMPORTS = [i for name, path in CORE_MODULES.items() for i in imports(name, path)]
PLUGIN_IMPORTS = [i for name, path in PLUGIN_MODULES.items() for i in imports(name, path)]


def home_package(module: str) -> str:
    """The package a module belongs to: `polyvox.render` for polyvox.render.scheduler (and for
    polyvox.render itself), `polyvox` for polyvox.audio."""
    return module if _is_package(module) else module.rpartition(".")[0]


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_crossings(found: list[Import]) -> list[str]:
    """Imports of a private name, or a private module, from another polyvox package."""
    bad = []
    for imp in found:
        if not imp.target.startswith("polyvox") or home_package(imp.importer) == home_package(imp.target):
            continue
        taken = [n for n in imp.names if _private(n)]
        if any(_private(part) for part in imp.target.split(".")):
            taken.append(imp.target)
        if taken:
            bad.append(f"{imp.where()} takes {', '.join(taken)} from {imp.target}")
    return bad


def private_attributes() -> list[str]:
    """`module._x` where `module` was imported from another polyvox package (`import
    polyvox.render.scheduler as s; s._lookup`): the same crossing, spelled as an attribute."""
    bad = []
    for module, path in CORE_MODULES.items():
        tree = ast.parse(path.read_text())
        aliases: dict[str, str] = {}
        for node, _ in _statements(tree):
            if isinstance(node, ast.Import):
                aliases.update({a.asname: a.name for a in node.names if a.asname})
            elif node.module and node.module.startswith("polyvox"):
                for a in node.names:
                    if f"{node.module}.{a.name}" in CORE_MODULES:
                        aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr)
                    and node.value.id in aliases
                    and home_package(aliases[node.value.id]) != home_package(module)):
                bad.append(f"{module}:{node.lineno} uses {node.value.id}.{node.attr} of {aliases[node.value.id]}")
    return bad


def cycles(found: list[Import]) -> list[list[str]]:
    """The import circles among `found`'s modules (Tarjan's strongly connected components)."""
    graph: dict[str, set[str]] = {}
    for imp in found:
        if imp.target in CORE_MODULES and imp.target != imp.importer:
            graph.setdefault(imp.importer, set()).add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def _ties(circle: list[str], found: list[Import]) -> str:
    members = set(circle)
    return "; ".join(f"{i.where()} -> {i.target} ({', '.join(i.names) or 'module'})"
                     for i in found if i.importer in members and i.target in members)


def crossings(found: list[Import], importers: str | tuple[str, ...], allowed: Callable[[Import], bool]) -> list[str]:
    return [f"{i.where()} imports {i.target} ({', '.join(i.names) or 'module'})"
            for i in found if i.importer.startswith(importers) and not allowed(i)]


def _polyvox_target(imp: Import) -> bool:
    return imp.target == "polyvox" or imp.target.startswith("polyvox.")


def _public_or_own(imp: Import) -> bool:
    """The CLI and the server: `polyvox` (the names its `__all__` lists, and the public modules
    among them) and their own package only."""
    if not _polyvox_target(imp):
        return True  # the standard library and third parties
    own = ".".join(imp.importer.split(".")[:2])
    if imp.target == own or imp.target.startswith(own + "."):
        return True
    if imp.written == "polyvox":  # `import polyvox`, `from polyvox import Kernel, events`
        return all(name in PUBLIC for name in imp.names)
    return imp.written in PUBLIC_MODULES and not any(_private(n) for n in imp.names)


# -- the rules -----------------------------------------------------------------------------

def test_the_rules_read_the_whole_house():
    """The checks below see every module and the imports that matter (a parser that read
    nothing would pass every rule)."""
    assert {"polyvox.kernel", "polyvox.render.scheduler", "polyvox.cli", "polyvox.serve.app"} <= set(CORE_MODULES)
    assert {"polyvox_f5tts.engine", "polyvox_template"} <= set(PLUGIN_MODULES)
    scheduler = [i for i in CORE_IMPORTS if i.importer == "polyvox.kernel" and i.target == "polyvox.render.scheduler"]
    assert scheduler and scheduler[0].names == ("Scheduler",) and not scheduler[0].in_function
    assert any(i.in_function for i in CORE_IMPORTS)  # imports inside functions are read too
    assert LAZY["Kernel"] == "polyvox.kernel" and "Kernel" in PUBLIC and "polyvox.events" in PUBLIC_MODULES


def test_no_private_name_crosses_a_package():
    assert private_crossings(CORE_IMPORTS + PLUGIN_IMPORTS) + private_attributes() == []


def test_the_house_has_no_import_circle():
    found = cycles(CORE_IMPORTS)
    assert found == [], "\n".join(_ties(c, CORE_IMPORTS) for c in found)


def test_the_cli_and_the_server_use_the_public_api():
    assert crossings(CORE_IMPORTS, ("polyvox.cli", "polyvox.serve"), _public_or_own) == []


@pytest.mark.parametrize("layer", ["polyvox.render", "polyvox.cache", "polyvox.cli"])
def test_engines_never_reach_into_the_kernel_internals(layer):
    engines = [i for i in CORE_IMPORTS if i.importer.startswith("polyvox.builtins")] + PLUGIN_IMPORTS
    assert crossings(engines, ("polyvox.builtins", "polyvox_"),
                     lambda i: not (i.target == layer or i.target.startswith(layer + "."))) == []


def test_the_plugin_contract_does_not_know_the_render():
    assert crossings(CORE_IMPORTS, "polyvox.plugin",
                     lambda i: not (i.target == "polyvox.render" or i.target.startswith("polyvox.render."))) == []


# -- the checks check ----------------------------------------------------------------------

def test_the_checks_catch_what_they_forbid(tmp_path):
    """Each rule, shown a module that breaks it, names it."""
    leak = Import("polyvox.distributed.ray_executor", "polyvox.render.scheduler", ("_segment_error",), 3, True)
    assert private_crossings([leak]) == ["polyvox.distributed.ray_executor:3 takes _segment_error from "
                                         "polyvox.render.scheduler"]
    own = Import("polyvox.render.orchestrator", "polyvox.render.scheduler", ("_guard",), 3, False)
    assert private_crossings([own]) == []
    loop = [Import("polyvox.audio", "polyvox.render.output", ("AudioWriter",), 1, True),
            Import("polyvox.render.output", "polyvox.audio", ("Audio",), 1, False)]
    assert cycles(loop) == [["polyvox.audio", "polyvox.render.output"]]
    cli = [Import("polyvox.cli.cache", "polyvox.cache.store", ("ContentCache",), 1, True),
           Import("polyvox.cli.cache", "polyvox.kernel", ("Kernel",), 2, True, "polyvox"),
           Import("polyvox.cli.cache", "polyvox.kernel", ("Kernel",), 4, True, "polyvox.kernel"),
           Import("polyvox.cli.cache", "polyvox.cli.options", ("state",), 3, False, "polyvox.cli.options"),
           Import("polyvox.cli.cache", "polyvox.events", ("SegmentFinished",), 5, False, "polyvox.events"),
           Import("polyvox.cli.cache", "polyvox", ("_LAZY",), 6, False, "polyvox"),
           Import("polyvox.cli.cache", "polyvox.serve.wyoming", ("parse_uri",), 7, True, "polyvox.serve.wyoming")]
    assert crossings(cli, "polyvox.cli", _public_or_own) == [
        "polyvox.cli.cache:1 imports polyvox.cache.store (ContentCache)",
        "polyvox.cli.cache:4 imports polyvox.kernel (Kernel)",
        "polyvox.cli.cache:6 imports polyvox (_LAZY)",
        "polyvox.cli.cache:7 imports polyvox.serve.wyoming (parse_uri)"]
