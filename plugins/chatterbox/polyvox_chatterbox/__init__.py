"""ChatterBox (Resemble AI) as a polyvox engine, on the upstream ``chatterbox-tts`` package.

Importing this package is cheap: torch and chatterbox are imported when a model loads.
"""

from __future__ import annotations

from .engine import ChatterBox

#: The hook API versions this plugin was written for; the kernel refuses to load it outside
#: them (see docs/publishing.md). Raise the lower bound when you use a newer hook.
polyvox_hook_api = ">=1.0,<2"

__all__ = ["ChatterBox", "plugin"]

plugin = ChatterBox()
