"""The hook API version: which plugins this kernel can load.

The hook API is the contract in `polyvox.plugin.hookspecs` plus the records its hooks pass
(`EngineSpec`, `Request`, `Voice`, `Audio`). It is versioned on its own, apart from the
distribution, because plugins care about the hooks, not about the kernel's other changes:

- a new hook, a new optional field or argument: minor (1.0 -> 1.1), old plugins keep working;
- a hook removed or renamed, an argument or return value changed, a field removed: major
  (1.x -> 2.0), plugins written for 1.x are refused at start instead of failing mid-render.

A plugin declares the range it was written for as ``polyvox_hook_api = ">=1.0,<2"`` in the module
its entry point names (or on the plugin object). This module imports nothing heavy: it is read
by ``import polyvox``.
"""

from __future__ import annotations

import sys
from typing import Any

#: (major, minor) of the hook API this kernel implements. See docs/publishing.md.
HOOK_API: tuple[int, int] = (1, 1)  # 1.1: normalization_rules, Capabilities.normalizes/phonemes;
#: listeners: register_listeners, hear
#: The name a plugin module (or plugin object) gives its supported range under.
ATTRIBUTE = "polyvox_hook_api"


def hook_api_version() -> str:
    """``HOOK_API`` as a version string (``"1.0"``), the form ranges are checked against."""
    return ".".join(str(part) for part in HOOK_API)


def declared_range(plugin: Any, module: str | None = None) -> Any:
    """The range `plugin` declares, or None: its own attribute, else that of `module` (the one
    its entry point names), of its class's module, or of that module's top-level package."""
    places: list[Any] = [plugin]
    if module:
        places.append(sys.modules.get(module))
    if not isinstance(plugin, type(sys)):
        owner = getattr(type(plugin), "__module__", "") or ""
        places += [sys.modules.get(owner), sys.modules.get(owner.partition(".")[0])]
    for place in places:
        value = getattr(place, ATTRIBUTE, None) if place is not None else None
        if value is not None:
            return value
    return None


def incompatibility(plugin: Any, module: str | None = None) -> str | None:
    """Why `plugin` cannot be loaded by this kernel (one line), or None when it can.

    A plugin that declares no range is accepted: declaring became possible with hook API 1.0,
    so every plugin without a declaration was written for 1.x.
    """
    declared = declared_range(plugin, module)
    if declared is None:
        return None
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    example = f">={HOOK_API[0]},<{HOOK_API[0] + 1}"
    try:
        if not isinstance(declared, str) or not declared.strip():
            raise InvalidSpecifier(str(declared))
        supported = SpecifierSet(declared)
    except InvalidSpecifier:
        return f"declares {ATTRIBUTE} = {declared!r}, which is not a version range such as {example!r}"
    if supported.contains(hook_api_version(), prereleases=True):
        return None
    return (f"written for hook API {declared}, and this polyvox has hook API {hook_api_version()}: "
            "install a release of the plugin made for it (see docs/publishing.md)")
