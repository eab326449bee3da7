"""Markdown books: each ``#`` heading starts a chapter (``##`` and deeper stay inside it; in a
book without one, the top level used more than once does), the
text before the first one is an opening chapter; a book with a single ``#`` heading and several
``##`` ones is titled by the first and split at the others; emphasis, links and code marks are not
read, nor code blocks, HTML comments or footnotes; a table is read row by row. Front matter
(YAML between ``---`` lines, TOML between ``+++``) is not read: its title, author and language
are the book's.
markdown-it-py (rich's own Markdown parser) makes HTML of it, read like any HTML."""

from __future__ import annotations

import re

import attrs

from polyvox.books import html, matter
from polyvox.books.book import Book

#: Front matter at the very start: YAML between --- lines (or ending ...), TOML between +++.
_FRONT = re.compile(r"\A\ufeff?(?:---[ \t]*\n(.*?)\n(?:---|\.\.\.)|\+\+\+[ \t]*\n(.*?)\n\+\+\+)[ \t]*(?:\n|\Z)",
                    re.DOTALL)
_FIELD = re.compile(r"^(title|author|lang|language)[ \t]*[:=][ \t]*(.+?)[ \t]*$", re.IGNORECASE | re.MULTILINE)
#: A YAML list of names under a key (author:, then "- A" lines; Pandoc's "- name: A").
_BLOCK_LIST = re.compile(r"^(author)[ \t]*:[ \t]*\n((?:[ \t]*-[^\n]*(?:\n|\Z)(?:[ \t]+\w+[ \t]*:[^\n]*(?:\n|\Z))*)+)",
                         re.IGNORECASE | re.MULTILINE)
#: Footnotes as many Markdown tools write them: [^1] in the text, "[^1]: ..." below it.
_NOTE = re.compile(r"^\[\^[^\]\n]+\]:[^\n]*(?:\n(?:[ \t]+[^\n]*)?)*?(?=\n\S|\n?\Z)|\[\^[^\]\n]+\]", re.MULTILINE)


def front_matter(text: str) -> tuple[str, dict[str, str]]:
    """`text` without its front matter, and the matter's title, author and language."""
    m = _FRONT.match(text)
    if m is None:
        return text, {}
    matter = m.group(1) or m.group(2) or ""
    fields = {{"lang": "language"}.get(k.lower(), k.lower()): _listed(v) for k, v in _FIELD.findall(matter)}
    for key, items in _BLOCK_LIST.findall(matter):  # author:\n  - Anna\n  - name: Bert (Pandoc's form)
        names = [m.group(1).strip().strip("\"'") for line in items.splitlines()
                 if (m := re.match(r"\s*(?:-\s*(?:name\s*:)?|name\s*:)(?!\s*\w+\s*:)(.*)", line))]
        fields.setdefault(key.lower(), ", ".join(n for n in names if n))
    return text[m.end():], fields


def _listed(value: str) -> str:
    """A front matter value; a list in brackets (``[Anna Schmidt, Bert Braun]``) as "A, B"."""
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        return ", ".join(v.strip().strip("\"'") for v in value[1:-1].split(",") if v.strip())
    return value.strip("\"'")


#: A scene break CommonMark reads otherwise: "~~~" (a code fence, that would hide the rest of the
#: book) or "#" (an empty heading) alone between blank lines.
_BREAK = re.compile(r"(?:\A|(?<=\n))[ \t]*\n(?:~{3,}|#{1,6})[ \t]*\n(?=[ \t]*\n)")
#: Pandoc's heading attributes: "# Chapter Two {#ch2 .unnumbered}".
_ATTRIBUTES = re.compile(r"\s*\{[#.][^{}]*\}\s*$")


def read_markdown(text: str, stem: str) -> Book:
    from markdown_it import MarkdownIt

    text, fields = front_matter(text)
    text = _BREAK.sub("\n* * *\n", _NOTE.sub("", text))

    # HTML in the text is read as HTML (comments are not spoken, <br> ends a line); tables are
    # read row by row; code blocks are not read at all
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    env: dict = {}
    tokens = [t for t in md.parse(text, env) if t.type not in ("fence", "code_block")]
    blocks, _ = html.read_blocks(md.renderer.render(tokens, md.options, env))
    blocks = [attrs.evolve(b, text=_ATTRIBUTES.sub("", b.text)) if b.level else b for b in blocks]
    titles = [b.text for b in blocks if b.level == 1]
    about = {"author": fields.get("author") or None, "language": fields.get("language") or None}
    if len(titles) == 1 and sum(b.level == 2 for b in blocks) > 1:  # `# Book`, then `## Chapter`s
        rest = [b for b in blocks if b.level != 1]
        return Book(tuple(html.chapters(rest, titles[0], level=2)), title=fields.get("title") or titles[0], **about)
    title = fields.get("title") or stem
    # without any `#` heading, the top level used more than once (a book of `##` chapters)
    return Book(tuple(html.chapters(blocks, title, level=1 if titles else None)), title=title, **about)


def read_html(text: str, stem: str) -> Book:
    """An HTML document: chapters at its top heading level used more than once; its language
    from ``<html lang>``, its author from ``<meta name="author">``; as in an EPUB (`matter`),
    Project Gutenberg's licence and credits, and a contents page, are not read."""
    document = html.read_document(text)
    [(_, document)] = matter.gutenberg([("", document)])
    heads = {i for i, b in enumerate(document.blocks) if b.level}
    document = matter.without_contents(document, lambda href: document.anchors.get(href.lstrip("#"), -1) in heads)
    title, author = document.title or stem, document.author
    named = matter.gutenberg_title(title)  # <title>The Project Gutenberg eBook of X, by Y</title>
    if named is not None:
        title, author = named[0], author or named[1]
    return Book(tuple(html.chapters(document.blocks, title)), title=title, author=author, language=document.language)
