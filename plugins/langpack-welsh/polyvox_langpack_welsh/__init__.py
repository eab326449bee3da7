"""A language pack: Welsh (``cy``) for the template engine, and nothing else.

It declares no engine. It ships one checkpoint (``cy.json``, in which ``w`` and ``y`` are vowels,
as in Welsh) and answers the `map_language` hook for one (engine, language) pair, so the existing
engine speaks a language it did not declare. The same few lines add a German Piper voice to
Piper (return the path of a ``de_DE-….onnx``) or a fine-tuned checkpoint to any engine.
"""

from __future__ import annotations

from importlib import resources

import polyvox

#: The hook API versions this plugin was written for; the kernel refuses to load it outside
#: them (see docs/publishing.md). Raise the lower bound when you use a newer hook.
#: 1.1: the normalization_rules hook.
polyvox_hook_api = ">=1.1,<2"

ENGINE = "template"
LANGUAGE = "cy"


def checkpoint() -> str:
    """The path of the Welsh checkpoint this package ships."""
    return str(resources.files(__name__).joinpath("cy.json"))


@polyvox.hookimpl
def map_language(engine: str, language: str) -> str | None:
    """The Welsh checkpoint for the template engine; None for every other question."""
    if engine == ENGINE and language == LANGUAGE:
        return checkpoint()
    return None


#: How Welsh is normalized (numbers through num2words' ``cy``): the kernel has no Welsh table,
#: so this is a whole one; a pack for a language the kernel knows returns only the entries it
#: adds, e.g. ``{"abbreviations": {"Bsp.": "Beispiel"}}`` for German.
RULES = {
    "number_language": "cy",
    "decimal": ".",
    "thousands": ",",
    "words": {"point": "pwynt", "minus": "minws", "percent": "y cant", "to": "i", "and": "a", "dot": "dot"},
    "abbreviations": {"e.e.": "er enghraifft", "Dr.": "Doctor", "Mr.": "Mister"},
    "symbols": {"&": "a", "+": "adio", "%": "y cant"},
}


@polyvox.hookimpl
def normalization_rules(language: str) -> dict | None:
    """Welsh rules for ``cy``; None for every other language."""
    return RULES if language == LANGUAGE else None
