"""ChatterBox (Resemble AI) as a polyvox engine, on the upstream ``chatterbox-tts`` package.

Importing this package is cheap: torch and chatterbox are imported when a model loads.
"""

from __future__ import annotations

from .engine import ChatterBox

__all__ = ["ChatterBox", "plugin"]

plugin = ChatterBox()
