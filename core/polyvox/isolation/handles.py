"""Handles to what a worker process owns (polyvox.isolation.host): a loaded model and prepared voice
conditioning stay in the worker; the kernel holds these, which remember how each was made so the
host can make it again after the worker restarts."""

from __future__ import annotations

from typing import Any

import attrs

from polyvox.voices.voice import Voice


@attrs.define(eq=False)
class ModelHandle:
    """A model loaded in a worker. Reloaded transparently when the worker had to restart."""

    engine: str
    model: str
    device: str
    generation: int
    id: int
    size: int | None = None
    #: The local weight files the kernel fetched for it (name -> path), sent again on a reload.
    files: dict[str, str] | None = None


@attrs.define(eq=False)
class VoiceHandle:
    """Voice conditioning prepared in a worker, with what it takes to prepare it again."""

    model: ModelHandle
    voice: Voice
    params: dict[str, Any]
    generation: int
    id: int
