"""The words of an HTML or XHTML document, block by block, as a reader hears them: headings
and paragraphs, without scripts, navigation, footnote markers and notes, page numbers or a
publisher's pages (EPUB's ``epub:type`` and DPUB-ARIA's ``role`` say which are which), nor
characters only for the eye (soft hyphens, zero-width spaces); a poem's line is a line. Python's own HTML parser
reads it; `chapters` splits the blocks at the document's top heading level."""

from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser

import attrs

from polyvox.books.book import Chapter
from polyvox.books.prose import SCENE_BREAK, is_scene_break, with_breaks

#: Elements whose content is never read out.
_SKIPPED = {"script", "style", "head", "nav", "template", "svg", "math", "audio", "video", "object", "figcaption",
            "noscript", "footer", "rt", "rp"}  # rt, rp: a ruby's reading, for the eye
#: What an ``epub:type`` or ``role`` may call an element that is not part of the reading.
_NOT_READ = {"noteref", "footnote", "endnote", "endnotes", "footnotes", "rearnote", "rearnotes", "pagebreak",
             "page-list", "toc", "landmarks", "doc-noteref", "doc-footnote", "doc-endnote", "doc-endnotes",
             "doc-pagebreak", "doc-toc", "doc-backlink", "backlink", "annoref", "annotation",
             # a publisher's pages, not the author's: Standard Ebooks' titlepage, imprint, colophon and
             # uncopyright (the title and author are the book's own metadata), an index, lists of figures
             "titlepage", "halftitlepage", "imprint", "colophon", "copyright-page", "index", "loi", "lot",
             "doc-colophon", "doc-index"}
#: Classes that mark the same in books converted from print (Project Gutenberg's page numbers
#: and footnotes, Pandoc's and markdown-it's footnote sections).
_NOT_READ_CLASSES = {"pagenum", "pagenumber", "page-number", "pageno", "page-num", "fnanchor", "footnote", "footnotes",
                     "footnote-ref", "footnote-back", "footnote-backref", "endnotes",
                     "pg-boilerplate"}  # Project Gutenberg's licence header and footer
#: Elements that end a block of text (a line of the script).
_BLOCKS = {"p", "div", "section", "article", "blockquote", "li", "ul", "ol", "dd", "dt", "dl", "tr", "table",
           "br", "hr", "pre", "header", "footer", "main", "body", "figure", "aside", "h1", "h2", "h3", "h4", "h5",
           "h6"}
_VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "param", "source", "track",
         "wbr"}
#: Classes of a poem's line (Project Gutenberg's and others' <span class="line">): each is a line.
_LINES = {"line", "verse", "verse-line", "poemline"}
#: Characters for the eye only: soft hyphens, zero-width spaces and joiners, byte-order marks.
_INVISIBLE = str.maketrans("", "", "\u00ad\u200b\u200c\u200d\u2060\ufeff")
#: A link's target outside the book (a scheme: https:, mailto:).
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
_MARKER = re.compile(r"^[\s\d*†‡§¶,\[\]()]*$")  # what a superscript footnote marker looks like
_SPACE = re.compile(r"\s+")


@attrs.frozen
class Block:
    """A paragraph (level 0) or a heading (level 1-6), its text on one line."""

    text: str
    level: int = 0
    #: where its links inside the book point (a contents page's entries), as written
    links: tuple[str, ...] = ()


class _Reader(HTMLParser):
    def __init__(self, hidden: frozenset[str] = frozenset()) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden = hidden  # classes a stylesheet does not show
        self.language: str | None = None  # <html lang>
        self.author: str | None = None  # <meta name="author">
        self.blocks: list[Block] = []
        self.title = ""
        self._text: list[str] = []
        self._level = 0
        self._skip: list[str] = []  # open elements whose content is skipped
        self._sup: list[str] | None = None  # text of an open <sup>, kept unless it is a marker
        self._in_title = False
        self._hgroup = False  # in an <hgroup>: a heading and its subtitles are one heading
        self._links: list[str] = []  # the open block's links inside the book
        #: ids inside what is not read (a table of contents pointing there points at nothing)
        self.omitted: set[str] = set()
        self.unread = False  # whether words were left out as not part of the reading
        #: id (or <a name>) -> the index of the block it is in (a table of contents points at it)
        self.anchors: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs_: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag == "html":
            self.language = dict(attrs_).get("lang") or dict(attrs_).get("xml:lang") or None
        elif tag == "meta" and (dict(attrs_).get("name") or "").lower() in ("author", "dc.creator"):
            self.author = self.author or (dict(attrs_).get("content") or "").strip() or None
        elif tag == "body" and not self.language:
            self.language = dict(attrs_).get("lang") or dict(attrs_).get("xml:lang") or None
        given = dict(attrs_)
        if self._skip:
            self._omit(tag, given)
            return
        kinds = set(f"{given.get('epub:type') or ''} {given.get('role') or ''}".split())
        classes = set((given.get("class") or "").lower().split())
        if tag in _SKIPPED or kinds & _NOT_READ or classes & _NOT_READ_CLASSES or _unseen(given, classes, self.hidden):
            self._omit(tag, given)
            return
        if tag == "br" and self._level:  # a line break inside a heading: one title
            self._text.append(" ")
        elif tag == "hgroup":  # "Chapter I" and its "Down the Rabbit-Hole": one heading, read once
            self._end_block()
            self._hgroup = True
        elif self._hgroup and tag in _BLOCKS:
            if tag[0] == "h" and tag[1:].isdigit():
                self._level = self._level or int(tag[1:])
            if "".join(self._text).strip():
                self._text.append(": ")
        elif tag in _BLOCKS:
            self._end_block()
            if tag == "hr":  # a scene break: a pause (none at a chapter's ends)
                self.blocks.append(Block(SCENE_BREAK))
            if tag[0] == "h" and tag[1:].isdigit():
                self._level = int(tag[1:])
        elif tag in ("td", "th") and "".join(self._text).strip():
            self._text = ["".join(self._text).rstrip(), ", "]  # a table's cells, read row by row
        elif tag == "sup":
            self._sup = []
        elif tag == "span" and classes & _LINES:  # a poem's line: a line of its own
            self._end_block()
        if tag == "a" and given.get("href") and not _EXTERNAL.match(given["href"] or ""):
            self._links.append(given["href"] or "")
        anchor = given.get("id") or (given.get("name") if tag == "a" else None)
        if anchor:
            self.anchors.setdefault(anchor, len(self.blocks))

    def _omit(self, tag: str, given: dict[str, str | None]) -> None:
        """Skip an element (and what is in it), keeping its id as one not read."""
        if tag not in _VOID:
            self._skip.append(tag)
        anchor = given.get("id") or (given.get("name") if tag == "a" else None)
        if anchor:
            self.omitted.add(anchor)

    def handle_startendtag(self, tag: str, attrs_: list[tuple[str, str | None]]) -> None:
        if self._skip:
            self._omit("br", dict(attrs_))  # a void element: its id alone
            return
        if tag == "br" and self._level:
            self._text.append(" ")
        elif tag in _BLOCKS:
            self._end_block()
            if tag == "hr":
                self.blocks.append(Block(SCENE_BREAK))
        anchor = dict(attrs_).get("id")
        if anchor:
            self.anchors.setdefault(anchor, len(self.blocks))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if self._skip:
            if self._skip[-1] == tag:
                self._skip.pop()
            return
        if tag == "sup" and self._sup is not None:
            text = "".join(self._sup)
            if not _MARKER.match(text):
                self._text.append(text)
            self._sup = None
        elif tag == "hgroup":
            self._hgroup = False
            self._end_block()
        elif tag in _BLOCKS and tag != "br" and not self._hgroup:
            self._end_block()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
            return
        if self._skip:
            if self._skip[0] not in _SKIPPED and any(c.isalnum() for c in data):
                self.unread = True  # a publisher's page, notes, boilerplate: nothing here is missed
            return
        data = data.translate(_INVISIBLE)
        (self._sup if self._sup is not None else self._text).append(data)

    def _end_block(self) -> None:
        text = _SPACE.sub(" ", "".join(self._text)).strip()
        if text and not self._level and is_scene_break(text):  # <p class="center">* * * * *</p>
            self.blocks.append(Block(SCENE_BREAK))
        elif text:
            self.blocks.append(Block(text, self._level, tuple(self._links)))
        self._text, self._links = [], []
        self._level = 0

    def close(self) -> None:
        super().close()
        self._end_block()


@attrs.frozen
class Document:
    """An HTML document as read: its blocks, its <title> and where its anchors are."""

    blocks: list[Block]
    title: str
    #: id -> the index in `blocks` of the block that holds it (or follows it)
    anchors: dict[str, int]
    language: str | None = None
    author: str | None = None
    #: ids inside what is not read, and whether words were left out so
    omitted: frozenset[str] = frozenset()
    unread: bool = False

    def cut(self, start: int, end: int | None = None) -> Document:
        """The document with only blocks[start:end]; anchors outside are ones not read."""
        end = len(self.blocks) if end is None else end
        last = len(self.blocks)
        kept = {a: max(0, i - start) for a, i in self.anchors.items() if start <= i < end or i == end == last}
        gone = {a for a in self.anchors if a not in kept}
        return attrs.evolve(self, blocks=self.blocks[start:end], anchors=kept, omitted=self.omitted | gone,
                            unread=self.unread or start > 0 or end < len(self.blocks))

    def without(self, drop: set[int]) -> Document:
        """The document without the blocks at `drop` (its anchors there move to the next block)."""
        index = [i for i in range(len(self.blocks)) if i not in drop]
        moved = list(itertools.accumulate((i not in drop for i in range(len(self.blocks))), initial=0))
        return attrs.evolve(self, blocks=[self.blocks[i] for i in index],  # moved[i]: blocks kept before i
                            anchors={a: moved[min(i, len(self.blocks))] for a, i in self.anchors.items()},
                            unread=self.unread or bool(drop))


def _unseen(given: dict[str, str | None], classes: set[str], hidden: frozenset[str]) -> bool:
    """Whether an element is not shown to a reader (so not read either): ``hidden``,
    ``aria-hidden="true"``, a style or a class of the stylesheets that hides it."""
    return ("hidden" in given or (given.get("aria-hidden") or "").strip().lower() == "true"
            or bool(_HIDING.search(given.get("style") or "")) or bool(classes & hidden))


#: A declaration that hides what it applies to.
_HIDING = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_CLASS_SELECTOR = re.compile(r"^\s*[\w-]*\.([\w-]+)\s*$")
_STYLE_ELEMENT = re.compile(r"<style[^>]*>(.*?)</style>", re.IGNORECASE | re.DOTALL)


def hidden_classes(css: str) -> frozenset[str]:
    """The classes a stylesheet hides with a rule of their own (``.note { display: none }``,
    ``span.x, .y {visibility: hidden}``); selectors of more than a class are not followed."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    return frozenset(found.group(1).lower() for selectors, body in _RULE.findall(css) if _HIDING.search(body)
                     for selector in selectors.split(",") if (found := _CLASS_SELECTOR.match(selector)))


def read_document(html: str, hidden: frozenset[str] = frozenset()) -> Document:
    """`html` as read; `hidden`: classes its stylesheets hide (its own <style> elements are read too)."""
    reader = _Reader(hidden | hidden_classes(" ".join(_STYLE_ELEMENT.findall(html))))
    reader.feed(html)
    reader.close()
    title = _SPACE.sub(" ", reader.title).strip()
    return Document(reader.blocks, _PUBLISHER.sub("", title) or title, reader.anchors, reader.language, reader.author,
                    frozenset(reader.omitted), reader.unread)


#: A site's name after a page's title ("The Short Tale | Project Gutenberg").
_PUBLISHER = re.compile(r"\s+[|–—-]\s+(?:Project Gutenberg|Standard Ebooks|Wikisource)\s*$", re.IGNORECASE)


def read_blocks(html: str) -> tuple[list[Block], str]:
    """The document's blocks in order, and its <title> (empty if none)."""
    document = read_document(html)
    return document.blocks, document.title


def same_title(heading: str, title: str) -> bool:
    """Whether a heading says what a chapter's title says ("Chapter 1" / "Chapter 1: The
    Lighthouse", "CHAPTER I." / "Chapter I"), so it is not spoken twice."""
    a, b = ("".join(c for c in t.lower() if c.isalnum()) for t in (heading, title))
    return bool(a and b) and (a in b or b in a)


def body_text(blocks: list[Block]) -> str:
    """Blocks as script lines: one per paragraph (a character tag holds to the end of its line),
    a scene break a pause, but at the ends."""
    return "\n".join(with_breaks([block.text for block in blocks]))


def chapters(blocks: list[Block], opening: str, level: int | None = None) -> list[Chapter]:
    """The blocks split at headings of `level` (None: the top level used more than once, else
    the top level); text before the first heading is a chapter called `opening`."""
    levels = sorted({b.level for b in blocks if b.level})
    if not levels or (level is not None and level not in levels):
        return [Chapter(opening, body_text(blocks))]
    top = level or next((lv for lv in levels if sum(b.level == lv for b in blocks) > 1), levels[0])
    out: list[Chapter] = []
    title, body = opening, []
    for block in blocks:
        if block.level == top:
            if body or title != opening:
                out.append(Chapter(title, body_text(body)))
            title, body = block.text, []
        else:
            body.append(block)
    out.append(Chapter(title, body_text(body)))
    return [c for c in out if c.has_words or c.title != opening]
