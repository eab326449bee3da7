"""Markdown books: each ``#`` heading starts a chapter (``##`` and deeper stay inside it), the
text before the first one is an opening chapter; a book with a single ``#`` heading and several
``##`` ones is titled by the first and split at the others; emphasis, links and code marks are not
read, nor code blocks or HTML comments; a table is read row by row.
markdown-it-py (rich's own Markdown parser) makes HTML of it, read like any HTML."""

from __future__ import annotations

from polyvox.books import html
from polyvox.books.book import Book


def read_markdown(text: str, stem: str) -> Book:
    from markdown_it import MarkdownIt

    # HTML in the text is read as HTML (comments are not spoken, <br> ends a line); tables are
    # read row by row; code blocks are not read at all
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    env: dict = {}
    tokens = [t for t in md.parse(text, env) if t.type not in ("fence", "code_block")]
    blocks, _ = html.read_blocks(md.renderer.render(tokens, md.options, env))
    titles = [b.text for b in blocks if b.level == 1]
    if len(titles) == 1 and sum(b.level == 2 for b in blocks) > 1:  # `# Book`, then `## Chapter`s
        rest = [b for b in blocks if b.level != 1]
        return Book(tuple(html.chapters(rest, titles[0], level=2)), title=titles[0])
    return Book(tuple(html.chapters(blocks, stem, level=1)), title=stem)


def read_html(text: str, stem: str) -> Book:
    """An HTML document: chapters at its top heading level used more than once."""
    blocks, doc_title = html.read_blocks(text)
    return Book(tuple(html.chapters(blocks, doc_title or stem)), title=doc_title or stem)
