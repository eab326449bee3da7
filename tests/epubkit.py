"""EPUBs written by hand as the tools that make books in the wild write them (Project
Gutenberg's, Calibre's, Standard Ebooks', old EPUB 2 producers'): a package with a manifest,
a spine (with ``linear="no"`` where asked), an NCX and/or a nav document, a guide, a cover.
`tests/test_books_wild.py` reads them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import attrs

#: A 2×2 PNG: the cover.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000020000000208020000"
                    "00fdd49a730000001649444154789c63f8cfc0f01f0418fe33fccfc0c000002cfe05fe51e6a4f10000000049454e44ae426082")
_XHTML = ('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml" '
          'xmlns:epub="http://www.idpf.org/2007/ops"{lang}><head><title>{title}</title>'
          '<link href="style.css" rel="stylesheet" type="text/css"/></head><body{body_attrs}>{body}</body></html>')


@attrs.frozen
class Doc:
    """A spine document: its name, its <body>'s content, and how the spine lists it."""

    name: str
    body: str
    title: str = "x"
    linear: bool = True
    lang: str | None = None  # <html xml:lang lang>
    body_attrs: str = ""
    raw: bytes | None = None  # the whole file as given (another encoding, a DOCTYPE of its own)
    properties: str = ""

    def content(self) -> bytes:
        if self.raw is not None:
            return self.raw
        lang = f' xml:lang="{self.lang}" lang="{self.lang}"' if self.lang else ""
        return _XHTML.format(lang=lang, title=self.title, body=self.body, body_attrs=self.body_attrs).encode()


#: META-INF/container.xml naming the package at OEBPS/content.opf.
CONTAINER = ('<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
             '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
             "</rootfiles></container>")
NOT_LINEAR = ' linear="no"'
SPINE_TOC = ' toc="ncx"'
#: A table of contents entry: (title, href) or (title, href, [children]).
Entry = tuple


def write_epub(path: Path, docs: list[Doc], *, toc: list[Entry] | None = None, nav: bool = True, ncx: bool = True,
               version: str = "3.0", title: str = "A Book", author: str | None = "Ann Author", language: str = "en",
               cover: bool = False, guide: str = "", nav_in_spine: bool = False, extra_meta: str = "",
               css: str = "p { margin: 0 }") -> Path:
    """An EPUB of `docs` in spine order, its table of contents `toc` as a nav document (EPUB 3)
    and/or an NCX; `cover`: a cover image named in the metadata the EPUB 2 way."""
    toc = toc or []
    manifest = ['<item id="css" href="style.css" media-type="text/css"/>']
    if cover:
        cover_property = ' properties="cover-image"' if version.startswith("3") else ""
        manifest.append(f'<item id="cover-image" href="images/cover.png" media-type="image/png"{cover_property}/>')
    if ncx:
        manifest.append('<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>')
    if nav:
        manifest.append('<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>')
    for i, doc in enumerate(docs):
        props = f' properties="{doc.properties}"' if doc.properties else ""
        manifest.append(f'<item id="d{i}" href="{doc.name}" media-type="application/xhtml+xml"{props}/>')
    spine = ['<itemref idref="nav"/>'] if nav and nav_in_spine else []
    spine += [f'<itemref idref="d{i}"{"" if doc.linear else NOT_LINEAR}/>' for i, doc in enumerate(docs)]
    meta = (f'<dc:identifier id="uid">urn:uuid:0000-{path.stem}</dc:identifier><dc:title>{title}</dc:title>'
            f'<dc:language>{language}</dc:language>'
            + (f'<dc:creator opf:role="aut" opf:file-as="Author, Ann">{author}</dc:creator>' if author else "")
            + ('<meta name="cover" content="cover-image"/>' if cover else "") + extra_meta)
    opf = ('<?xml version="1.0" encoding="utf-8"?>\n<package xmlns="http://www.idpf.org/2007/opf" '
           f'version="{version}" unique-identifier="uid"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/" '
           f'xmlns:opf="http://www.idpf.org/2007/opf">{meta}</metadata><manifest>{"".join(manifest)}</manifest>'
           f'<spine{SPINE_TOC if ncx else ""}>{"".join(spine)}</spine>'
           + (f"<guide>{guide}</guide>" if guide else "") + "</package>")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", CONTAINER)
        z.writestr("OEBPS/content.opf", opf)
        z.writestr("OEBPS/style.css", css)
        if cover:
            z.writestr("OEBPS/images/cover.png", PNG)
        if ncx:
            z.writestr("OEBPS/toc.ncx", _ncx(toc, title))
        if nav:
            z.writestr("OEBPS/nav.xhtml", _nav(toc))
        for doc in docs:
            z.writestr(f"OEBPS/{doc.name}", doc.content())
    return path


def _ncx(toc: list[Entry], title: str) -> str:
    counter = iter(range(1, 10_000))

    def points(entries: list[Entry]) -> str:
        out = []
        for entry in entries:
            n = next(counter)
            out.append(f'<navPoint id="np-{n}" playOrder="{n}"><navLabel><text>{entry[0]}</text></navLabel>'
                       f'<content src="{entry[1]}"/>{points(entry[2]) if len(entry) > 2 else ""}</navPoint>')
        return "".join(out)

    return ('<?xml version="1.0" encoding="utf-8"?>\n<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" '
            'version="2005-1"><head><meta name="dtb:uid" content="x"/><meta name="dtb:depth" content="2"/></head>'
            f'<docTitle><text>{title}</text></docTitle><navMap>{points(toc)}</navMap></ncx>')


def _nav(toc: list[Entry]) -> str:
    def items(entries: list[Entry]) -> str:
        return "".join(f'<li><a href="{e[1]}">{e[0]}</a>{"<ol>" + items(e[2]) + "</ol>" if len(e) > 2 else ""}</li>'
                       for e in entries)

    return ('<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml" '
            'xmlns:epub="http://www.idpf.org/2007/ops"><head><title>Contents</title></head><body>'
            f'<nav epub:type="toc" id="toc"><h2>Contents</h2><ol>{items(toc)}</ol></nav>'
            '<nav epub:type="landmarks" hidden=""><ol><li><a epub:type="bodymatter" href="x.xhtml">Start</a></li>'
            '</ol></nav></body></html>')
