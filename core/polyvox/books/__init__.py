"""Books: EPUB, Markdown, HTML and plain text with chapter headings read into a `Book` (its
chapters, title, author, language and cover), which a render speaks chapter by chapter.

EPUB, the audiobook containers and loudness need the ``books`` extra (ebooklib, mutagen,
pyloudnorm, PyAV): ``pip install 'polyvox[books]'``; `needs` says so in one line."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from polyvox.errors import PolyvoxError


def needs(module: str, purpose: str) -> ModuleType:
    """`module` imported, or a one-line error saying which extra installs it."""
    try:
        return import_module(module)
    except ImportError:
        raise PolyvoxError(f"{purpose} needs {module.split('.')[0]}: pip install 'polyvox[books]'") from None
