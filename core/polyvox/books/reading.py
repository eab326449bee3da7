"""Which files are books, and reading one: `read_book` by the file's suffix."""

from __future__ import annotations

from pathlib import Path

from polyvox.books.book import Book
from polyvox.books.language import with_language
from polyvox.errors import ScriptError

#: Suffixes always read as books; a .txt is one when it has chapter headings (`plaintext`).
BOOK_SUFFIXES = (".epub", ".md", ".markdown", ".html", ".htm", ".xhtml")


def is_book_path(path: Path) -> bool:
    return path.suffix.lower() in BOOK_SUFFIXES


def read_book(path: str | Path) -> Book:
    """The `Book` in an EPUB, Markdown, HTML or plain-text file (chapters from "Chapter N" lines).

        book = polyvox.read_book("moby-dick.epub")
        kernel.render(book, output="moby-dick.m4b")
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".epub":
        from polyvox.books.epub import read_epub

        return with_language(read_epub(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScriptError(f"cannot read book {str(path)!r}: {exc.strerror or exc}") from None
    from polyvox.text.encoding import decode_script

    text = decode_script(data, str(path))
    if suffix in (".md", ".markdown", ".html", ".htm", ".xhtml"):
        from polyvox.books.markdown import read_html, read_markdown

        book = (read_markdown if suffix in (".md", ".markdown") else read_html)(text, path.stem)
        if not any(c.has_words for c in book.chapters):
            raise ScriptError(f"{str(path)!r} has nothing to read: no chapter in it has any text")
        return with_language(book)
    from polyvox.books.plaintext import read_plaintext

    book = read_plaintext(text, path.stem)
    if book is None:
        raise ScriptError(f"{str(path)!r} has no chapter headings (lines such as 'Chapter 1'): render it as a "
                          "script, or give an .epub, .md or .html book")
    return book
