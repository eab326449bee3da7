"""Installing plugins, the public face of ``polyvox install``, ``uninstall`` and ``new-plugin``.

    from polyvox import installing

    target = installing.resolve("chatterbox")          # a name, a distribution or a folder
    outcome = installing.install([target.given])       # into this environment: engines added
    record = installing.envs.create("chatterbox", target.requirement)  # or its own environment
    installing.new_plugin("myengine")                  # a new plugin folder from the template

The work is done in polyvox.plugin.installer (pip, beside the kernel), polyvox.isolation.envs
(an engine's own environment, made with uv) and polyvox.plugin.scaffold; this module only
names what the command line and host apps may use of them.
"""

from __future__ import annotations

from polyvox.isolation import envs
from polyvox.plugin.installer import InstallError, Outcome, Target, distribution_name, install, resolve, uninstall
from polyvox.plugin.scaffold import ScaffoldError, new_plugin

__all__ = ["InstallError", "Outcome", "ScaffoldError", "Target", "distribution_name", "envs", "install",
           "new_plugin", "resolve", "uninstall"]
