"""Finding plugins: entry points of group ``polyvox``, the built-ins through the same path,
and objects a host app registers directly. A plugin that fails, or that declares a hook API
range this kernel is outside of, is recorded and not loaded, never fatal."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterable
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import attrs
import pluggy

from polyvox.errors import PluginError, UnknownEngineError
from polyvox.listen.heard import ListenerSpec
from polyvox.plugin import compat, hookspecs
from polyvox.plugin.fallbacks import Fallbacks
from polyvox.plugin.spec import EngineSpec
from polyvox.plugin.versions import kernel_version

GROUP = "polyvox"
#: Plugins shipped inside the kernel distribution (name -> "module:attribute"), loaded like
#: entry points (and selected by POLYVOX_PLUGINS the same way), so `pip install polyvox` speaks.
BUILTINS = {"piper": "polyvox.builtins.piper:plugin", "hibari": "polyvox.builtins.hibari:plugin"}


@attrs.frozen
class PluginFailure:
    """A plugin that could not be used, and why."""

    name: str
    distribution: str | None
    error: str
    detail: str = ""  # the traceback, for --debug
    #: "failed" (import or hook raised), "incompatible" (hook API range), "shadowed" (a
    #: distribution's entry point with a built-in's name) or "empty" (it implements no hook and
    #: declares no engine: an entry point naming the wrong object, or hooks without @hookimpl);
    #: "unknown" (named by POLYVOX_PLUGINS or plugins= but not installed).
    kind: str = "failed"


@attrs.frozen
class PluginInfo:
    """A registered plugin: where it came from and what it implements."""

    name: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]
    engines: tuple[str, ...]
    listeners: tuple[str, ...] = ()


def selected_names(env: str | None = None) -> set[str] | None:
    """The plugin names ``POLYVOX_PLUGINS`` allows (None: all; empty string: none)."""
    value = os.environ.get("POLYVOX_PLUGINS") if env is None else env
    if value is None:
        return None
    return {n.strip() for n in value.split(",") if n.strip()}


class Plugins:
    """A pluggy manager plus the record of what loaded, what failed and which engines exist."""

    def __init__(self, plugins: Iterable[str] | None = None, load_entry_points: bool = True):
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.failures: list[PluginFailure] = []
        self._dist: dict[str, tuple[str | None, str | None]] = {}
        self.specs: dict[str, EngineSpec] = {}
        self.owner: dict[str, str] = {}  # engine name -> plugin name
        self._named: list[str] = []  # plugins loaded by name, as another process can load them too
        self.listeners: dict[str, ListenerSpec] = {}
        self.listener_owner: dict[str, str] = {}  # listener name -> plugin name
        only = set(plugins) if plugins is not None else selected_names()
        self.register(Fallbacks(self.specs), name="builtin", distribution="polyvox")
        self._from_entry_points: set[str] = set()
        if load_entry_points:
            self._load_installed(only, self._load_isolated(only))
            loaded = {name for name, _ in self.pm.list_name_plugin()} | {f.name for f in self.failures}
            for name in sorted((only or set()) - loaded):  # a name no plugin has: a typo, or not installed
                installed = sorted({*BUILTINS, *(ep.name for ep in entry_points(group=GROUP))})
                self.failures.append(PluginFailure(
                    name, None, f"no plugin called {name!r} is installed (installed: {', '.join(installed)})",
                    kind="unknown"))
        self.refresh()
        self._drop_empty()

    # -- registration -----------------------------------------------------------------
    def _load_installed(self, only: set[str] | None, isolated: set[str] = frozenset()) -> None:
        for name, target in BUILTINS.items():
            if only is None or name in only:
                self._load(name, lambda t=target: _import_object(t), "polyvox", kernel_version(),
                           target.partition(":")[0])
        for ep in entry_points(group=GROUP):
            if (only is not None and ep.name not in only) or ep.name in isolated:
                continue  # an isolated install of a plugin wins over one in this environment
            dist = ep.dist.name if ep.dist else None
            version = ep.dist.version if ep.dist else None
            if ep.name in BUILTINS:  # e.g. polyvox-piper from before Piper was built in
                self.failures.append(PluginFailure(
                    ep.name, dist, f"polyvox has {ep.name!r} built in, so this copy is not loaded "
                    f"(pip uninstall {dist or ep.name} removes it)", kind="shadowed"))
                continue
            self._load(ep.name, ep.load, dist, version, ep.module)

    def _load(self, name: str, loader: Any, dist: str | None, version: str | None, module: str | None) -> None:
        try:
            obj = loader()
            reason = compat.incompatibility(obj, module)
            if reason is not None:
                self.failures.append(PluginFailure(name, dist, reason, kind="incompatible"))
                return
            registered = self.register(obj, name=name, distribution=dist, version=version)
            self._named.append(registered)
            self._from_entry_points.add(registered)
        except Exception as exc:  # a broken plugin must not break the kernel
            self._fail(name, dist, exc)

    def _drop_empty(self) -> None:
        """An installed plugin that implements no hook (or only `register_engines`, declaring
        nothing) does nothing at all: say so instead of listing it as if it worked."""
        for name in sorted(self._from_entry_points):
            plugin = self.pm.get_plugin(name)
            if plugin is None:
                continue
            hooks = {c.name for c in self.pm.get_hookcallers(plugin) or ()} - {"register_engines"}
            if hooks or name in self.owner.values():
                continue
            dist, _ = self._dist.get(name, (None, None))
            self.pm.unregister(name=name)
            self.failures.append(PluginFailure(
                name, dist, f"{_described(plugin)} implements no polyvox hook and declares no engine: check that "
                "its entry point names the plugin object, and that its hooks carry @hookimpl", kind="empty"))

    def _load_isolated(self, only: set[str] | None) -> set[str]:
        """Register the plugins installed in their own environments (polyvox.isolation); no
        worker starts until an engine is used."""
        from polyvox.isolation.envs import records

        found = [r for r in records() if only is None or r.name in only]
        if not found:  # the worker machinery is imported only where there is a worker to run
            return set()
        from polyvox.isolation.host import WorkerHost
        from polyvox.isolation.hosted import HostedPlugin
        from polyvox.isolation.protocol import decode_listener_spec, decode_spec

        names = set()
        for record in found:
            names.add(record.name)

            def load(record: Any = record) -> HostedPlugin:
                host = WorkerHost(record.worker_command(), label=f"plugin {record.name!r}",
                                  log=Path(record.path) / "worker.log")
                host.where = record.describe()
                return HostedPlugin(host, [decode_spec(s) for s in record.specs],
                                    finds_voices=record.finds_voices, version=record.version,
                                    listeners=[decode_listener_spec(s) for s in record.listeners])

            self._load(record.name, load, record.distribution, record.version, None)
        return names

    def _fail(self, name: str, dist: str | None, exc: BaseException) -> None:
        detail = "".join(traceback.format_exception(exc))
        self.failures.append(PluginFailure(name, dist, f"{type(exc).__name__}: {exc}", detail))

    def register(
        self, plugin: Any, name: str | None = None, distribution: str | None = None, version: str | None = None
    ) -> str:
        """Register a plugin object (a module or an instance with hookimpls).

        One that declares a hook API range this kernel is outside of raises `PluginError`."""
        reason = compat.incompatibility(plugin)
        if reason is not None:
            raise PluginError(f"plugin {name or plugin!r} {reason}")
        name = name or getattr(plugin, "name", None) or getattr(plugin, "__name__", None) or repr(plugin)
        if self.pm.has_plugin(name):
            name = f"{name}-{id(plugin):x}"
        self.pm.register(plugin, name=name)
        self._dist[name] = (distribution, version)
        return name

    def refresh(self) -> None:
        """Ask every plugin to declare its engines, in the order they were registered (built-ins
        first), so a later plugin declaring an engine name already taken is the one refused; a
        plugin whose hook raises is unregistered."""
        self.specs.clear()
        self.owner.clear()
        for impl in self.pm.hook.register_engines.get_hookimpls():
            found: list[EngineSpec] = []

            def register(spec: EngineSpec, _found: list[EngineSpec] = found) -> None:
                if not isinstance(spec, EngineSpec):
                    raise PluginError(f"register() takes an EngineSpec, got {type(spec).__name__}")
                _found.append(spec)

            try:
                impl.function(register=register)
                for spec in found:
                    if spec.name in self.specs:
                        owner = self.owner[spec.name]
                        raise PluginError(f"engine {spec.name!r} is already declared by plugin {owner!r}")
            except Exception as exc:
                dist, _ = self._dist.get(impl.plugin_name, (None, None))
                self._fail(impl.plugin_name, dist, exc)
                self.pm.unregister(name=impl.plugin_name)
                continue
            for spec in found:
                self.specs[spec.name] = spec
                self.owner[spec.name] = impl.plugin_name
        self._refresh_listeners()

    def _refresh_listeners(self) -> None:
        """Ask every plugin to declare its listeners (as `refresh` does for engines)."""
        self.listeners.clear()
        self.listener_owner.clear()
        for impl in self.pm.hook.register_listeners.get_hookimpls():
            found: list[ListenerSpec] = []

            def register(spec: ListenerSpec, _found: list[ListenerSpec] = found) -> None:
                if not isinstance(spec, ListenerSpec):
                    raise PluginError(f"register() takes a ListenerSpec, got {type(spec).__name__}")
                _found.append(spec)

            try:
                impl.function(register=register)
                for spec in found:
                    if spec.name in self.listeners or spec.name in self.specs:
                        owner = self.listener_owner.get(spec.name) or self.owner.get(spec.name)
                        raise PluginError(f"listener {spec.name!r}: the name is already declared by plugin "
                                          f"{owner!r}")
            except Exception as exc:
                dist, _ = self._dist.get(impl.plugin_name, (None, None))
                self._fail(impl.plugin_name, dist, exc)
                self.pm.unregister(name=impl.plugin_name)
                for name in [n for n, o in self.owner.items() if o == impl.plugin_name]:
                    del self.specs[name], self.owner[name]
                continue
            for spec in found:
                self.listeners[spec.name] = spec
                self.listener_owner[spec.name] = impl.plugin_name

    def drop_failing(self, hook: str, exc: BaseException, **kwargs: Any) -> str | None:
        """After `hook(**kwargs)` raised: find the plugin whose implementation raises, record it
        as failed and unregister it, so the other plugins keep working. Returns its name (None
        when no single implementation is to blame)."""
        caller = getattr(self.pm.hook, hook)
        for impl in caller.get_hookimpls():
            if impl.hookwrapper or getattr(impl, "wrapper", False) or impl.plugin_name == "builtin":
                continue
            try:
                impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
            except Exception as error:  # this one is broken
                dist, _ = self._dist.get(impl.plugin_name, (None, None))
                self._fail(impl.plugin_name, dist, error)
                self.pm.unregister(name=impl.plugin_name)
                return impl.plugin_name
        return None

    # -- what is there ----------------------------------------------------------------
    @property
    def hook(self) -> Any:
        return self.pm.hook

    def ranked(self) -> list[EngineSpec]:
        """Declared engines, the one chosen first when several could speak first (priority, then name)."""
        return sorted(self.specs.values(), key=lambda s: (-s.priority, s.name))

    def unknown_engine(self, engine: str) -> UnknownEngineError:
        """The error for asking for `engine`, which is not declared: its plugin failed to load
        (and why), a name it was meant to be, or how to install it."""
        known = ", ".join(sorted(self.specs)) or "none installed"
        broken = next((f for f in self.failures if f.name == engine and f.kind != "shadowed"), None)
        if broken is not None:  # installed, but its plugin did not load: say why, not "install it"
            reason = " ".join(broken.error.split())
            return UnknownEngineError(f"engine {engine!r} is installed but its plugin failed to load: {reason} "
                                      f"(`polyvox plugins` lists it; installed engines: {known})")
        near = _near(engine, self.specs)
        if near:
            return UnknownEngineError(f"engine {engine!r} is not installed: did you mean {near}? (installed: {known})")
        return UnknownEngineError(f"engine {engine!r} is not installed (installed: {known}); install it with "
                                  f"`polyvox install {engine}` (pip install polyvox-{engine})")

    def plugin_of(self, engine: str) -> str | None:
        """The name of the plugin that declares `engine`."""
        return self.owner.get(engine)

    def loadable(self) -> tuple[str, ...]:
        """The plugins another process loads by name to make the same calls (Ray replicas): those
        loaded here built in, by entry point or from their own environment -- not objects
        registered directly, which exist in this process only."""
        return tuple(sorted(name for name in self._named if self.pm.has_plugin(name)))

    def version_of(self, engine: str) -> str:
        """The versions that make `engine`'s audio, for cache keys: its distribution and direct
        requirements ("0" for unpackaged plugins; an isolated engine's as its environment has them)."""
        from polyvox.plugin.versions import installed_version_text

        plugin = self.owner.get(engine, "")
        obj = self.pm.get_plugin(plugin)
        if _hosted(obj):  # its environment's versions, as its worker reported them
            return obj.version
        dist, version = self._dist.get(plugin, (None, None))
        if dist and version:
            return installed_version_text(dist)
        return version or getattr(obj, "version", "0")

    def where(self, engine: str) -> str:
        """Where `engine` runs: "in-process", or its environment (path, Python, package versions)."""
        plugin = self.pm.get_plugin(self.owner.get(engine, ""))
        return plugin.where if _hosted(plugin) else "in-process"

    def info(self) -> list[PluginInfo]:
        out = []
        for name, plugin in self.pm.list_name_plugin():
            hooks = tuple(sorted(c.name for c in self.pm.get_hookcallers(plugin) or ()))
            engines = tuple(e for e, owner in self.owner.items() if owner == name)
            listeners = tuple(n for n, owner in self.listener_owner.items() if owner == name)
            dist, version = self._dist.get(name, (None, None))
            out.append(PluginInfo(name, dist, version, hooks, engines, listeners))
        return sorted(out, key=lambda p: p.name)


def _hosted(obj: Any) -> bool:
    """Whether `obj` is a plugin run by a worker in its own environment. None is unless the
    worker machinery was imported (`_load_isolated` imports it only when there is a worker)."""
    hosted = sys.modules.get("polyvox.isolation.hosted")
    return hosted is not None and isinstance(obj, hosted.HostedPlugin)


def _described(obj: Any) -> str:
    """A plugin object as its entry point names it: ``module 'x.y'``, ``class 'x.Engine'``, ..."""
    import inspect

    if inspect.ismodule(obj):
        return f"module {obj.__name__!r}"
    if inspect.isclass(obj):
        return f"class {obj.__module__}.{obj.__qualname__!r}"
    return f"{type(obj).__name__} object {getattr(obj, '__name__', '')!r}".replace(" ''", "")


def _import_object(target: str) -> Any:
    """``"package.module:attribute"`` -> the object, as an entry point's ``load()`` does."""
    module, _, attribute = target.partition(":")
    obj = import_module(module)
    return getattr(obj, attribute) if attribute else obj


def _near(name: str, names: Any) -> str | None:
    """The installed engine `name` was meant to be: the same name in another case (``Piper``),
    else the closest spelling (``pipr``), else None."""
    import difflib

    by_case = {n.lower(): n for n in names}
    if name.lower() in by_case:
        return by_case[name.lower()]
    close = difflib.get_close_matches(name.lower(), list(by_case), n=1, cutoff=0.75)
    return by_case[close[0]] if close else None
