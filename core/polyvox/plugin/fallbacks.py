"""The kernel's own plugin: fallback answers that apply to every engine.

It is registered like any other plugin, so `polyvox plugins` lists it and other plugins
can override what it answers.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping

from polyvox.plugin.hookspecs import hookimpl
from polyvox.plugin.spec import EngineSpec


class Fallbacks:
    """Answers hooks that no engine-specific plugin answered."""

    name = "builtin"

    def __init__(self, specs: Mapping[str, EngineSpec]):
        self._specs = specs  # the live table of declared engines

    @hookimpl(wrapper=True)
    def map_language(self, engine: str, language: str) -> Generator[None, str | None, str | None]:
        """After every plugin had its say: an engine that declares `language` speaks it with
        its default model. (A wrapper, so it runs last whatever the registration order.)"""
        answer = yield
        if answer is None:
            spec = self._specs.get(engine)
            if spec is not None and language in spec.languages:
                return spec.default_model
        return answer
