"""F5-TTS as a polyvox engine: voice cloning from reference audio and its transcript, with
language finetunes chosen through the kernel's language mapping.

Importing this package is cheap: torch and f5_tts are imported only when a model is loaded.
"""

from __future__ import annotations

from .engine import F5TTS
from .registry import register_finetune

#: The hook API versions this plugin was written for; the kernel refuses to load it outside
#: them (see docs/publishing.md). Raise the lower bound when you use a newer hook.
polyvox_hook_api = ">=1.0,<2"

__all__ = ["F5TTS", "plugin", "register_finetune"]

plugin = F5TTS()
