"""EPUB 2 and 3 through ebooklib: the spine's documents in reading order (not those it marks
``linear="no"``), a chapter starting wherever the table of contents points (a document, or an
anchor inside one: several chapters in one file; a document it does not name continues the
chapter before), without what is not the book's text (`matter`); title, author, language and
cover from the package, and a chapter's language where its document says another. Without a
table of contents each document is a chapter titled by its first heading. A book that cannot be
read (not a zip, no spine, encrypted by DRM, no text) is one line of `ScriptError`."""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import attrs

from polyvox.books import html, matter, needs
from polyvox.books.book import Book, Chapter, Cover
from polyvox.errors import ScriptError

#: Resources an encryption.xml may list without the book being DRM-locked (font obfuscation).
_FONTS = (".ttf", ".otf", ".woff", ".woff2")
#: The encoding an XML declaration names.
_DECLARED = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


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
    marks = _toc_marks(book.toc)
    styles = book.get_items_of_type(ebooklib.ITEM_STYLE)
    hidden = html.hidden_classes(" ".join(_decode(item.content) for item in styles))  # what the book never shows
    # what the spine lists as not in the reading order (linear="no": notes, a cover page) is not read
    spine = [idref for idref, *linear in book.spine if linear[:1] != ["no"]] or [s[0] for s in book.spine]
    documents = []
    for idref in spine:
        item = book.get_item_with_id(idref)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT or isinstance(item, epub.EpubNav):
            continue
        document = html.read_document(_decode(item.content), hidden)  # as written (get_content rebuilds <head>)
        documents.append((posixpath.normpath(unquote(item.get_name())), document))
    targets = {(doc, fragment) for doc, found in marks.items() for fragment, _title in found}
    language = _meta(book, "language")
    chapters: list[Chapter] = []
    for doc, document in matter.gutenberg(documents):
        pointed = matter.without_contents(document, lambda href, doc=doc: _target(doc, href) in targets)
        before = len(chapters)
        _add_document(chapters, pointed, marks.get(doc, []), bool(marks))
        if _primary(document.language) not in ("", _primary(language)):  # a chapter in another language
            chapters[before:] = [attrs.evolve(c, language=document.language) for c in chapters[before:]]
    if not any(c.has_words for c in chapters):
        raise ScriptError(f"cannot read EPUB {name!r}: none of its {len(book.spine)} spine documents has text "
                          "(zero chapters)")
    return Book(tuple(chapters), title=_meta(book, "title") or path.stem, author=_meta(book, "creator"),
                language=language, cover=_cover(book))


def _primary(language: str | None) -> str:
    """A language's primary subtag ("en" for "en-GB")."""
    return (language or "").strip().lower().replace("_", "-").split("-")[0]


def _check_container(path: Path) -> None:
    """Not a zip, or DRM: say so before ebooklib fails in its own words."""
    name = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "META-INF/encryption.xml" in names:
                listed = archive.read("META-INF/encryption.xml").decode("utf-8", "replace")
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


def _target(name: str, href: str) -> tuple[str, str]:
    """Where a link in document `name` points: a document's name and a fragment."""
    path, _, fragment = unquote(href).partition("#")
    return (posixpath.normpath(posixpath.join(posixpath.dirname(name), path)) if path else name), fragment


def _add_document(chapters: list[Chapter], document: html.Document, marks: list[tuple[str, str]],
                  has_toc: bool) -> None:
    """Add a spine document to `chapters`: split where the table of contents points into it
    (`marks`: fragment, title); the text before its first mark, or all of it where the table
    names none, goes on the chapter before (a chapter split across files). Without a table of
    contents each document is a chapter, titled by its first heading. Marks at what is not read
    (a licence's heading) are passed over; a document with nothing but that adds nothing."""
    blocks = document.blocks
    marks = [(fragment, title) for fragment, title in marks if not fragment or fragment not in document.omitted]
    if not blocks and document.unread:  # a publisher's page, the endnotes: not an empty chapter either
        return
    starts: dict[int, list[str]] = {}
    found = [(fragment, title) for fragment, title in marks if not fragment or fragment in document.anchors]
    for fragment, title in found or marks[:1]:  # a part and its first chapter at one place: "Part One: Chapter 1"
        # a mark whose anchor is not in the document is passed over (it put its chapter first)
        starts.setdefault(document.anchors[fragment] if fragment in document.anchors else 0, []).append(title)
    cuts = sorted(starts)
    lead = html.body_text(blocks[: cuts[0] if cuts else len(blocks)])
    if any(c.isalnum() for c in lead):
        if chapters and has_toc:
            chapters[-1] = Chapter(chapters[-1].title, f"{chapters[-1].text}\n{lead}".strip())
        else:  # front matter before the first chapter, or a book without a table of contents
            title = next((b.text for b in blocks if b.level), None) or document.title
            chapters.append(_chapter(title or f"Chapter {len(chapters) + 1}", blocks[: cuts[0] if cuts else None]))
    for cut, after in zip(cuts, [*cuts[1:], None], strict=False):
        chapters.append(_chapter(": ".join(dict.fromkeys(starts[cut])), blocks[cut:after]))


def _chapter(title: str, blocks: list[html.Block]) -> Chapter:
    """A chapter of `blocks`; the lines that open them and say its title are not read twice (a
    part and its first chapter in one file: "Part One: Chapter 1" opens with both headings)."""
    return Chapter(title, html.body_text(matter.without_title(blocks, title)))


def _toc_marks(toc: Any) -> dict[str, list[tuple[str, str]]]:
    """Document name -> where the table of contents points into it (fragment or "", title), in
    its order; a section and its first entry pointing at one place are both kept."""
    out: dict[str, list[tuple[str, str]]] = {}

    def walk(entries: Any) -> None:
        for entry in entries:
            if isinstance(entry, tuple):  # (Section, [children])
                section, children = entry
                add(section)
                walk(children)
            else:
                add(entry)

    def add(link: Any) -> None:
        href, _, fragment = unquote(getattr(link, "href", None) or "").partition("#")
        title = " ".join((getattr(link, "title", None) or "").split())
        href = posixpath.normpath(href) if href else ""
        if href and title and (fragment, title) not in out.get(href, []):
            out.setdefault(href, []).append((fragment, title))

    walk(toc if isinstance(toc, (list, tuple)) else [toc] if toc else [])  # an empty navMap: one Link, no list
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
    """A document's text in the encoding its XML declaration names (older books: ISO-8859-1,
    windows-1252), else UTF-8 (or UTF-16 by its byte-order mark)."""
    if not isinstance(content, bytes):
        return str(content)
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16", "replace")
    declared = _DECLARED.match(content)
    encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        return content.decode(encoding, "replace")
    except LookupError:  # an encoding Python does not know
        return content.decode("utf-8", "replace")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
