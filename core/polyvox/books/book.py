"""`Book` and `Chapter`: what a book file holds once read, whatever its format."""

from __future__ import annotations

import attrs

from polyvox.errors import ScriptError


def _text(instance: object, attribute: attrs.Attribute, value: str) -> None:
    if not isinstance(value, str):
        raise ScriptError(f"{attribute.name} must be text, got {type(value).__name__}")


@attrs.frozen
class Chapter:
    """One chapter: its title (spoken first, and its mark in the output) and its text, in script
    markup (``[Alice] Hello.`` works inside a chapter as in any script); its language where
    it is not the book's."""

    title: str = attrs.field(validator=_text)
    text: str = attrs.field(validator=_text)
    #: the chapter's own language where it is not the book's (an EPUB document's ``xml:lang``)
    language: str | None = None

    @property
    def has_words(self) -> bool:
        return any(c.isalnum() for c in self.text)


@attrs.frozen
class Cover:
    """A cover image: its bytes and MIME type (image/jpeg or image/png)."""

    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")
    mime: str = "image/jpeg"


def _chapters(value: object) -> tuple[Chapter, ...]:
    chapters = tuple(value)  # type: ignore[call-overload]
    if not chapters:
        raise ScriptError("the book has no chapters: nothing to read")
    for chapter in chapters:
        if not isinstance(chapter, Chapter):
            raise ScriptError(f"a book's chapters must be Chapter objects, got {type(chapter).__name__}")
    return chapters


@attrs.frozen
class Book:
    """A book to render: its chapters in reading order and what players show about it."""

    chapters: tuple[Chapter, ...] = attrs.field(converter=_chapters)
    title: str | None = None
    author: str | None = None
    language: str | None = None
    cover: Cover | None = None

    @property
    def tags(self) -> dict[str, str]:
        """Title and author, for the output file's metadata."""
        return {k: v for k, v in (("title", self.title), ("author", self.author)) if v}
