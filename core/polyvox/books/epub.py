"""EPUB 2 and 3 through ebooklib: the spine's documents in reading order, each a chapter titled
by the table of contents (else its first heading); title, author, language and cover from the
package. A book that cannot be read (not a zip, no spine, encrypted by DRM, no text) is one
line of `ScriptError`."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from polyvox.books import html, needs
from polyvox.books.book import Book, Chapter, Cover
from polyvox.errors import ScriptError

#: Resources an encryption.xml may list without the book being DRM-locked (font obfuscation).
_FONTS = (".ttf", ".otf", ".woff", ".woff2")


def read_epub(path: Path) -> Book:
    name = str(path)
    _check_container(path)
    ebooklib = needs("ebooklib", "reading EPUB")
    from ebooklib import epub

    try:
        book = epub.read_epub(str(path), options={"ignore_ncx": False})
    except Exception as exc:  # ebooklib raises bare exceptions, KeyErrors... for broken packages
        raise ScriptError(f"cannot read EPUB {name!r}: {_reason(exc)}") from None
    if not book.spine:
        raise ScriptError(f"cannot read EPUB {name!r}: its package has no spine (no reading order)")
    titles = _toc_titles(book.toc)
    chapters: list[Chapter] = []
    for idref, *_linear in book.spine:
        item = book.get_item_with_id(idref)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT or isinstance(item, epub.EpubNav):
            continue
        blocks, doc_title = html.read_blocks(_decode(item.content))  # as written (get_content rebuilds <head>)
        title = titles.get(item.get_name()) or next((b.text for b in blocks if b.level), None) or doc_title
        if blocks and blocks[0].level and blocks[0].text == title:
            blocks = blocks[1:]  # the title is spoken once, as the chapter's title
        text = html.body_text(blocks)
        if item.get_name() not in titles and not any(c.isalnum() for c in text):
            continue  # a cover page or a blank page the table of contents does not name: not a chapter
        chapters.append(Chapter(title or f"Chapter {len(chapters) + 1}", text))
    if not any(c.has_words for c in chapters):
        raise ScriptError(f"cannot read EPUB {name!r}: none of its {len(book.spine)} spine documents has text "
                          "(zero chapters)")
    return Book(tuple(chapters), title=_meta(book, "title"), author=_meta(book, "creator"),
                language=_meta(book, "language"), cover=_cover(book))


def _check_container(path: Path) -> None:
    """Not a zip, or DRM: say so before ebooklib fails in its own words."""
    name = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "META-INF/encryption.xml" in names:
                listed = archive.read("META-INF/encryption.xml").decode("utf-8", "replace")
                import re

                uris = re.findall(r'URI="([^"]+)"', listed)
                if any(not uri.lower().endswith(_FONTS) for uri in uris):
                    raise ScriptError(f"cannot read EPUB {name!r}: it is encrypted (DRM; META-INF/encryption.xml "
                                      "lists its content); only DRM-free books can be read")
            if not _has_spine(archive):
                raise ScriptError(f"cannot read EPUB {name!r}: its package has no spine (no reading order)")
    except zipfile.BadZipFile:
        raise ScriptError(f"cannot read EPUB {name!r}: it is not a zip archive (an EPUB is one)") from None
    except OSError as exc:
        raise ScriptError(f"cannot read EPUB {name!r}: {exc.strerror or exc}") from None


def _has_spine(archive: zipfile.ZipFile) -> bool:
    """Whether the package document container.xml names lists at least one spine item."""
    from defusedxml import ElementTree

    try:
        container = ElementTree.fromstring(archive.read("META-INF/container.xml"))
        rootfile = next(e for e in container.iter() if e.tag.endswith("rootfile"))
        package = ElementTree.fromstring(archive.read(rootfile.get("full-path", "")))
    except (KeyError, StopIteration, ElementTree.ParseError):
        return True  # not ours to judge: ebooklib says what is wrong
    spine = next((e for e in package if e.tag.endswith("spine")), None)
    return spine is not None and any(e.tag.endswith("itemref") for e in spine)


def _toc_titles(toc: Any) -> dict[str, str]:
    """Document name -> the first table-of-contents title that points into it."""
    out: dict[str, str] = {}

    def walk(entries: Any) -> None:
        for entry in entries:
            if isinstance(entry, tuple):  # (Section, [children])
                section, children = entry
                add(section)
                walk(children)
            else:
                add(entry)

    def add(link: Any) -> None:
        href = (getattr(link, "href", None) or "").split("#")[0]
        title = (getattr(link, "title", None) or "").strip()
        if href and title:
            out.setdefault(href, title)

    walk(toc or ())
    return out


def _meta(book: Any, field: str) -> str | None:
    values = book.get_metadata("DC", field)
    return str(values[0][0]).strip() or None if values else None


def _cover(book: Any) -> Cover | None:
    ebooklib = needs("ebooklib", "reading EPUB")

    candidates = list(book.get_items_of_type(ebooklib.ITEM_COVER))
    meta = book.get_metadata("OPF", "cover")
    for _value, attributes in meta or ():
        item = book.get_item_with_id((attributes or {}).get("content", ""))
        if item is not None:
            candidates.append(item)
    candidates += [i for i in book.get_items_of_type(ebooklib.ITEM_IMAGE) if "cover" in i.get_name().lower()]
    for item in candidates:
        mime = getattr(item, "media_type", "") or ""
        if mime in ("image/jpeg", "image/png"):
            return Cover(item.get_content(), mime)
    return None


def _decode(content: bytes) -> str:
    return content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
