"""Plugins shipped inside the kernel distribution, so that ``pip install polyvox`` speaks.

They are loaded through the same path as installed plugins (`polyvox.plugin.registry.BUILTINS`),
are selected by ``POLYVOX_PLUGINS`` like any other, and learn nothing the hooks do not tell them.
"""
