"""Books in the studio: an uploaded EPUB, Markdown, HTML or chaptered .txt file read with
`polyvox.read_book`, shown as a script with one ``# Title`` line per chapter, and that script
read back into a `polyvox.Book` (its chapters as the script now says, the title, author,
language and cover of the file opened) so a render of it carries chapters.

The books opened are kept (by a random id, for the key that opened them, a few per key) only
for what the script cannot hold: title, author, language and cover."""

from __future__ import annotations

import re
import secrets
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path, PurePath
from typing import Any

import polyvox
from polyvox import Book, Chapter, PolyvoxError
from polyvox.serve.errors import bad_request, not_found

#: What the studio opens on the server: books, and .txt (a book when it has "Chapter N" lines).
SUFFIXES = (*polyvox.BOOK_SUFFIXES, ".txt")

#: A chapter's heading in the studio's script: a line ``# Title``.
_HEADING = re.compile(r"^#[ \t]+(\S.*?)[ \t]*$", re.MULTILINE)


def suffix_of(name: str) -> str:
    suffix = PurePath(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise bad_request(f"cannot open {name[:100]!r} as a book: give a file ending in {', '.join(SUFFIXES)}",
                          "name", "unsupported_file")
    return suffix


def open_book(data: bytes, name: str) -> tuple[Book | None, str]:
    """(the book, its script) in an uploaded file; a .txt without chapter headings is (None, its
    text). A file that cannot be read is a 400 naming it (not the server's temporary copy)."""
    suffix = suffix_of(name)
    with tempfile.TemporaryDirectory(prefix="polyvox-studio-book-") as folder:
        # under the name it was opened as (no folders: its last part, a safe length), so a book
        # without a title inside is titled by it, as `polyvox render` titles it
        stem = re.sub(r"[\x00-\x1f/\\]+", " ", PurePath(name).stem).strip()[:100] or "upload"
        path = Path(folder) / f"{stem}{suffix}"
        path.write_bytes(data)
        try:
            if suffix == ".txt":
                given = polyvox.read_source(path)
                if not isinstance(given, Book):
                    return None, polyvox.decode_script(data, name)
                book = given
            else:
                book = polyvox.read_book(path)
        except PolyvoxError as exc:
            message = str(exc).replace(repr(str(path)), repr(name)).replace(str(path), name)
            raise bad_request(message, "file", "invalid_book") from None
    return book, script_of(book)


def script_of(book: Book) -> str:
    """The book as one script: each chapter a ``# Title`` line, then its text."""
    return "\n\n".join(f"# {c.title.strip() or 'Untitled'}\n\n{c.text.strip()}" for c in book.chapters) + "\n"


def book_of(text: str, opened: Book) -> Book:
    """The script read back as chapters at its ``# Title`` lines (text before the first is an
    untitled opening chapter), with what `opened` says about the book."""
    chapters = tuple(Chapter(title, body) for title, body, _ in _parts(text, opened.title or ""))
    return Book(chapters, title=opened.title, author=opened.author, language=opened.language, cover=opened.cover)


def line_offsets(text: str) -> list[int]:
    """For each chapter `book_of` reads, the script's lines before its text's first line (a
    warning's "chapter 2 (...): line 3" is on the script's line offsets[1] + 3)."""
    return [offset for _, _, offset in _parts(text, "")]


def _parts(text: str, untitled: str) -> list[tuple[str, str, int]]:
    """(title, text, lines before the text) of each chapter of the script."""
    headings = list(_HEADING.finditer(text))
    bounds = [(untitled if not headings else "", 0, headings[0].start() if headings else len(text))]
    bounds += [(h.group(1), h.end(), headings[n + 1].start() if n + 1 < len(headings) else len(text))
               for n, h in enumerate(headings)]
    parts = []
    for n, (title, start, end) in enumerate(bounds):
        body = text[start:end]
        if n == 0 and not body.strip():
            continue  # nothing before the first heading
        first = start + len(body) - len(body.lstrip())
        parts.append((title, body.strip(), text.count("\n", 0, first)))
    return parts


def summary(book_id: str, book: Book) -> dict[str, Any]:
    return {"id": book_id, "title": book.title, "author": book.author, "language": book.language,
            "cover": book.cover is not None,
            "chapters": [{"title": c.title, "characters": len(c.text)} for c in book.chapters]}


class Shelf:
    """The books opened, by id, each visible to the key that opened it; past `per_owner` (or
    `total`) the oldest is forgotten."""

    def __init__(self, per_owner: int = 4, total: int = 32):
        self.per_owner, self.total = per_owner, total
        self._books: OrderedDict[str, tuple[str, Book]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, owner: str, book: Book) -> str:
        book_id = secrets.token_urlsafe(16)
        with self._lock:
            self._books[book_id] = (owner, book)
            mine = [k for k, (o, _) in self._books.items() if o == owner]
            for old in mine[: max(0, len(mine) - self.per_owner)]:
                del self._books[old]
            while len(self._books) > self.total:
                self._books.popitem(last=False)
        return book_id

    def get(self, book_id: str, owner: str) -> Book:
        with self._lock:
            held = self._books.get(book_id)
        if held is None or not secrets.compare_digest(held[0], owner):
            raise not_found("no such book here (the server keeps the last few each key opened): open it again",
                            "book", "book_not_found")
        return held[1]

