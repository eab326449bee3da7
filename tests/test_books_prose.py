"""Books as publishers and Project Gutenberg make them: brackets that are not markup, page
numbers, hard-wrapped plain text, several chapters in one EPUB file or one chapter in two,
parts around chapters, headings broken over lines, Latin-1 documents, the book's language.
Each test plans the book (nothing synthesized) and reads what the engine would be given."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from epubkit import CONTAINER

import polyvox

pytest.importorskip("ebooklib")

VOICES = {"Bob": polyvox.Voice(name="Bob", model="heart", engine="hibari")}


def spoken(source, **options) -> list[tuple[str | None, str]]:
    """(character, text the engine gets) of every speech job."""
    jobs = polyvox.Kernel(cache=False).plan(source, engine="template", normalize=False, **options)
    return [(j.segment.character, j.request.text) for j in jobs if j.request is not None]


def test_brackets_in_prose_are_words_or_dropped_and_markup_still_works(tmp_path):
    page = tmp_path / "pg.html"
    page.write_text(
        "<html><head><title>PG</title></head><body><h2>CHAPTER I.</h2>"
        '<p>The wind <span class="pagenum"><a id="Page_12">[12]</a></span>howled. She said [quietly] that she would'
        " stay.[1]</p><p>[Illustration: A moor at night]</p><p>[Pg 13]Morning came [sic].</p>"
        "<p>[Alice] Where to?</p><p>Then [Bob] Home, he said.</p>"
        '<div class="footnote"><p>[1] A footnote.</p></div><h2>CHAPTER II.</h2><p>The end.</p></body></html>')
    said = spoken(page, voices=VOICES)
    texts = [t for _, t in said]
    assert "The wind howled. She said quietly that she would stay." in texts
    assert "Morning came sic." in texts
    assert not any("Illustration" in t or "footnote" in t or "12" in t or "Pg" in t for t in texts)
    # a tag opening a paragraph is markup; inside one, a character with a voice is too
    assert ("Alice", "Where to?") in said and ("Bob", "Home, he said.") in said
    assert {c for c, _ in said} == {None, "Alice", "Bob"}


def test_hard_wrapped_plain_text_is_read_a_paragraph_at_a_time(tmp_path):
    book = tmp_path / "gutenberg.txt"
    book.write_text("CHAPTER I.\n\nThe captain had read the account of the wreck, which is given in\n"
                    "chapter 3 of Hartley's famous survey, and he did not believe a word\nof it. Nobody did.\n\n"
                    "Part two was harder than part one, she admitted.\n\n[Alice] Fine.\nShe left.\n\n"
                    "CHAPTER II. The Calm\n\nThe next morning was calm.\n")
    chapters = polyvox.read_book(book).chapters
    assert [c.title for c in chapters] == ["CHAPTER I.", "CHAPTER II. The Calm"]
    assert chapters[0].text.split("\n") == [
        "The captain had read the account of the wreck, which is given in chapter 3 of Hartley's famous survey, "
        "and he did not believe a word of it. Nobody did.",
        "Part two was harder than part one, she admitted.",
        "[Alice] Fine. She left."]


def _epub(path: Path, documents: dict[str, str | bytes], nav: str, language: str = "en",
          title: str = "<dc:title>Harbour</dc:title>", css: str | None = None) -> Path:
    """An EPUB 3 written by hand as publishers' tools write them: `documents` in spine order,
    `nav` the table of contents' <ol>; `css` the book's stylesheet."""
    items = "".join(f'<item id="d{i}" href="{name}" media-type="application/xhtml+xml"/>'
                    for i, name in enumerate(documents))
    items += '<item id="css" href="style.css" media-type="text/css"/>' if css is not None else ""
    spine = "".join(f'<itemref idref="d{i}"/>' for i in range(len(documents)))
    opf = ('<?xml version="1.0" encoding="utf-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
           'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
           f'<dc:identifier id="id">x</dc:identifier>{title}<dc:language>{language}</dc:language>'
           '</metadata><manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" '
           f'properties="nav"/>{items}</manifest><spine>{spine}</spine></package>')
    nav_doc = ('<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml" '
               'xmlns:epub="http://www.idpf.org/2007/ops"><head><title>Contents</title></head><body>'
               f'<nav epub:type="toc"><ol>{nav}</ol></nav></body></html>')
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr("META-INF/container.xml", CONTAINER)
        z.writestr("OEBPS/content.opf", opf)
        z.writestr("OEBPS/nav.xhtml", nav_doc)
        if css is not None:
            z.writestr("OEBPS/style.css", css)
        for name, body in documents.items():
            z.writestr(f"OEBPS/{name}", body if isinstance(body, bytes) else _xhtml(body))
    return path


def _xhtml(body: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title>'
            f'</head><body>{body}</body></html>')


def test_epub_chapters_follow_the_table_of_contents_into_and_across_files(tmp_path):
    latin = ('<?xml version="1.0" encoding="iso-8859-1"?><html xmlns="http://www.w3.org/1999/xhtml"><head>'
             '<title>t</title></head><body><h2>Chapter 4</h2><p>Gr\u00f6\u00dfe and Stra\u00dfe.</p></body></html>')
    path = _epub(tmp_path / "harbour.epub", {
        "part1.xhtml": "<h1>Part One</h1>",
        "ch1.xhtml": "<h2>Chapter 1<br/>The Lighthouse</h2><p>The lamp burned.</p>",
        "ch2a.xhtml": "<h2>Chapter 2</h2><p>Rain came.</p>",
        "ch2b.xhtml": "<p>The boats strained.</p>",  # the same chapter, in a second file
        "ch 3.xhtml": '<h2 id="c3">Chapter 3</h2><p>Short.</p><h2 id="c3b">Chapter 3b</h2><p>Shorter.</p>',
        "ch4.xhtml": latin.encode("iso-8859-1"),
    }, '<li><a href="part1.xhtml">Part One</a><ol><li><a href="ch1.xhtml">Chapter 1: The Lighthouse</a></li>'
       '<li><a href="ch2a.xhtml">Chapter 2</a></li></ol></li>'
       '<li><a href="ch%203.xhtml#c3">Chapter 3</a></li><li><a href="ch%203.xhtml#c3b">Chapter 3b</a></li>'
       '<li><a href="ch4.xhtml">Chapter 4</a></li>')
    book = polyvox.read_book(path)
    assert [(c.title, c.text) for c in book.chapters] == [
        ("Part One", ""),
        ("Chapter 1: The Lighthouse", "The lamp burned."),  # its heading, broken over two lines, not read twice
        ("Chapter 2", "Rain came.\nThe boats strained."),
        ("Chapter 3", "Short."),
        ("Chapter 3b", "Shorter."),
        ("Chapter 4", "Größe and Straße."),
    ]
    # and rendered, the part's page is its title spoken and a chapter mark (it was skipped)
    result = polyvox.Kernel(cache=False).render(path, engine="template")
    assert [c.title for c in result.chapters][:2] == ["Part One", "Chapter 1: The Lighthouse"]


def test_a_book_is_read_in_its_own_language_with_its_region_or_a_warning(tmp_path):
    body = {"ch1.xhtml": "<h2>One</h2><p>On 12/06/2026 it rained.</p>", "ch2.xhtml": "<h2>Two</h2><p>Dry.</p>"}
    nav = '<li><a href="ch1.xhtml">One</a></li><li><a href="ch2.xhtml">Two</a></li>'
    american = _epub(tmp_path / "us.epub", body, nav, language="en-US")
    jobs = polyvox.Kernel(cache=False).plan(american, engine="template")
    assert "December sixth" in " ".join(j.request.text for j in jobs if j.request)
    assert polyvox.read_book(_epub(tmp_path / "untitled-tale.epub", body, nav, title="")).title == "untitled-tale"
    german = _epub(tmp_path / "de.epub", body, nav, language="xx")
    warnings: list[str] = []
    kernel = polyvox.Kernel(cache=False, on_event=lambda e: warnings.append(str(getattr(e, "message", ""))))
    kernel.plan(german, engine="template")
    assert any("'xx'" in w and "no installed engine speaks" in w for w in warnings)


def test_a_book_with_nothing_to_read_names_its_file(tmp_path):
    empty = tmp_path / "empty.md"
    empty.write_text("# Only a heading\n")
    with pytest.raises(polyvox.ScriptError, match="'.*empty.md' has nothing to read"):
        polyvox.read_book(empty)


def test_markdown_comments_code_and_tables(tmp_path):
    md = tmp_path / "notes.md"
    md.write_text("<!-- Draft 3: do not distribute -->\nNotes\n=====\n\n# One\n\nHome again<br>at last.\n\n"
                  "| City | Price |\n|---|---|\n| Paris | 5 |\n\n```python\nprint('hi')\n```\n\n# Two\n\nEnd.\n")
    book = polyvox.read_book(md)
    assert "Draft" not in (book.title or "") and all("Draft" not in c.text for c in book.chapters)
    assert [(c.title, c.text) for c in book.chapters][1:] == [
        ("One", "Home again\nat last.\nCity, Price\nParis, 5"), ("Two", "End.")]


def test_an_epub_with_an_empty_table_of_contents_and_ruby_readings(tmp_path):
    """ebooklib gives an empty navMap as one Link, not a list (it was an internal TypeError); a
    ruby's reading (<rt>) is for the eye, and was read after its word."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("x")
    book.set_title("Neko")
    book.set_language("ja")
    page = epub.EpubHtml(title="One", file_name="c1.xhtml", lang="ja")
    page.content = ("<html><body><h1>一</h1><p>吾輩は<ruby>猫<rp>(</rp><rt>ねこ</rt><rp>)</rp></ruby>である。"
                    "</p></body></html>")
    book.add_item(page)
    book.toc = []
    book.spine = [page]
    book.add_item(epub.EpubNcx())
    epub.write_epub(str(tmp_path / "neko.epub"), book)
    chapters = polyvox.read_book(tmp_path / "neko.epub").chapters
    assert "".join(c.text for c in chapters) == "吾輩は猫である。"


PG = """\ufeffThe Project Gutenberg eBook of The Short Tale, by A. Writer\r
\r
This eBook is for the use of anyone anywhere in the United States and\r
most other parts of the world at no cost.\r
\r
Title: The Short Tale\r
\r
Author: A. Writer\r
\r
Language: English\r
\r
*** START OF THE PROJECT GUTENBERG EBOOK THE SHORT TALE ***\r
\r
THE SHORT TALE\r
\r
CONTENTS\r
\r
 CHAPTER I. The Beginning\r
 CHAPTER II. The End\r
\r
\r
CHAPTER I.\r
The Beginning\r
\r
It was the best of times, and the\r
town was quiet.\r
\r
CHAPTER II.\r
\r
The End\r
\r
And so it ended.\r
\r
*** END OF THE PROJECT GUTENBERG EBOOK THE SHORT TALE ***\r
\r
Updated editions will replace the previous one.\r
"""


def test_a_project_gutenberg_text_is_its_book_without_the_licence_or_the_contents(tmp_path):
    """The licence header and footer were read aloud, the contents list's entry became a chapter,
    a heading's title on the line under it was read as prose, and the book was titled 'pg'."""
    path = tmp_path / "pg.txt"
    path.write_bytes(PG.encode())
    book = polyvox.read_book(path)
    assert (book.title, book.author, book.language) == ("The Short Tale", "A. Writer", "en")
    assert [(c.title, c.text) for c in book.chapters] == [
        ("The Short Tale", "THE SHORT TALE"),
        ("CHAPTER I. The Beginning", "It was the best of times, and the town was quiet."),
        ("CHAPTER II. The End", "And so it ended.")]
    spoken = " ".join(j.request.text for j in polyvox.Kernel(cache=False).plan(path, engine="template") if j.request)
    assert "Gutenberg" not in spoken and "Updated editions" not in spoken and "CONTENTS" not in spoken


def test_markdown_front_matter_and_footnotes_are_not_read(tmp_path):
    """YAML front matter became a chapter read aloud ("title: ... author: ..."), TOML's "+++"
    was read as "plus plus plus", and a footnote's definition was read after a colon."""
    md = tmp_path / "novel.md"
    md.write_text('---\ntitle: "The Lighthouse Keeper"\nauthor: Sam Smith\nlang: en-GB\ntags: [sea]\n---\n\n'
                  "# One\n\nThe storm lasted 3 days.[^1]\n\n# Two\n\nCalm.\n\n[^1]: Actually it lasted four.\n")
    book = polyvox.read_book(md)
    assert (book.title, book.author, book.language) == ("The Lighthouse Keeper", "Sam Smith", "en-GB")
    assert [(c.title, c.text) for c in book.chapters] == [("One", "The storm lasted 3 days."), ("Two", "Calm.")]
    # a book whose chapters are all `##` headings is split at them (it was one chapter)
    h2 = tmp_path / "h2.md"
    h2.write_text("## One\n\nFirst.\n\n### A scene\n\nInside.\n\n## Two\n\nSecond.\n")
    assert [c.title for c in polyvox.read_book(h2).chapters] == ["One", "Two"]
    toml = tmp_path / "toml.md"
    toml.write_text('+++\ntitle = "Plus"\n+++\n\n# One\n\nHi.\n\n# Two\n\nBye.\n')
    assert polyvox.read_book(toml).title == "Plus" and polyvox.read_book(toml).chapters[0].text == "Hi."


def test_a_heading_and_its_subtitle_in_an_hgroup_are_read_once(tmp_path):
    """Standard Ebooks: <hgroup><h2>Chapter I</h2><p>Down the Rabbit-Hole</p></hgroup>; the
    subtitle was read as the chapter's first line, after the title that already said it."""
    body = {"c1.xhtml": '<section><hgroup><h2>Chapter I</h2><p epub:type="title">Down the Rabbit-Hole</p></hgroup>'
                        "<p>Alice was beginning to get very tired.</p></section>",
            "c2.xhtml": "<h2>Chapter II</h2><p>Curiouser and curiouser!</p>"}
    nav = '<li><a href="c1.xhtml">Chapter I: Down the Rabbit-Hole</a></li><li><a href="c2.xhtml">Chapter II</a></li>'
    book = polyvox.read_book(_epub(tmp_path / "alice.epub", body, nav))
    assert [(c.title, c.text) for c in book.chapters] == [
        ("Chapter I: Down the Rabbit-Hole", "Alice was beginning to get very tired."),
        ("Chapter II", "Curiouser and curiouser!")]


def test_what_a_book_never_shows_is_not_read(tmp_path):
    """Text hidden by a style, an attribute or the book's stylesheet was read aloud."""
    body = {"c1.xhtml": '<h2>One</h2><p>Seen.</p><p style="display: none">INLINE.</p><div hidden="hidden">ATTR.</div>'
                        '<p class="x hid">CLASS.</p><p aria-hidden="true">ARIA.</p><p>Also <span class="sr">not</span>'
                        "seen.</p>"}
    book = polyvox.read_book(_epub(tmp_path / "h.epub", body, '<li><a href="c1.xhtml">One</a></li>',
                                   css="/* hidden */ .hid { display:none } p.note, span.sr {visibility: hidden}"))
    assert [c.text for c in book.chapters] == ["Seen.\nAlso seen."]


def test_a_part_and_its_chapter_in_one_file_and_a_dead_link_keep_their_order(tmp_path):
    body = {"p1.xhtml": "<h1>Part One</h1><h2>Chapter 1: The Lighthouse</h2><p>The lamp burned.</p>",
            "all.xhtml": '<p>An intro.</p><h2 id="c2">Chapter 2</h2><p>Two.</p><h2>Chapter 3</h2><p>Three.</p>'}
    nav = ('<li><a href="p1.xhtml">Part One</a><ol><li><a href="p1.xhtml">Chapter 1: The Lighthouse</a></li></ol>'
           '</li><li><a href="all.xhtml#c2">Chapter 2</a></li><li><a href="all.xhtml#nope">Chapter 3</a></li>')
    book = polyvox.read_book(_epub(tmp_path / "p.epub", body, nav))
    assert [(c.title, c.text) for c in book.chapters] == [
        ("Part One: Chapter 1: The Lighthouse", "The lamp burned.\nAn intro."),  # neither heading read again
        ("Chapter 2", "Two.\nChapter 3\nThree."),  # a link to no anchor does not put its chapter first
    ]


def test_a_title_that_opens_with_a_roman_numeral_says_its_number(tmp_path):
    """Standard Ebooks titles chapters "I: Down to the Sea"; whisper heard "i down to the seat"."""
    body = {"c1.xhtml": "<p>The ship sailed.</p>", "c2.xhtml": "<p>Land.</p>", "c3.xhtml": "<p>Home.</p>"}
    nav = ('<li><a href="c1.xhtml">I: Down to the Sea</a></li><li><a href="c2.xhtml">II. Landfall</a></li>'
           '<li><a href="c3.xhtml">I Remember</a></li>')
    jobs = polyvox.Kernel(cache=False).plan(_epub(tmp_path / "se.epub", body, nav), engine="template")
    said = [j.request.text for j in jobs if j.request]
    assert "one: Down to the Sea" in said and "two. Landfall" in said and "I Remember" in said
    assert [c.title for c in polyvox.read_book(tmp_path / "se.epub").chapters][0] == "I: Down to the Sea"


def test_html_and_markdown_books_say_their_language_and_authors(tmp_path):
    page = tmp_path / "jardin.html"
    page.write_text('<html lang="fr"><head><title>Le Jardin</title><meta name="author" content="Marie Curie"></head>'
                    "<body><h1>Un</h1><p>Texte.</p><h1>Deux</h1><p>Plus.</p></body></html>", encoding="utf-8")
    book = polyvox.read_book(page)
    assert (book.title, book.author, book.language) == ("Le Jardin", "Marie Curie", "fr")
    listed = tmp_path / "a.md"
    listed.write_text("---\ntitle: X\nauthor: [Anna Schmidt, Bert Braun]\n---\n\n# One\n\nHi.\n")
    assert polyvox.read_book(listed).author == "Anna Schmidt, Bert Braun"
    pandoc = tmp_path / "b.md"
    pandoc.write_text("---\ntitle: X\nauthor:\n  - name: Anna\n    affiliation: U\n  - Bert\n---\n\n# One\n\nHi.\n")
    assert polyvox.read_book(pandoc).author == "Anna, Bert"



def test_an_opening_is_not_titled_by_a_file_name_nor_read_twice(tmp_path):
    """A .txt's opening was announced as "my_novel_final_v2"; a page's <h1> over its chapters was
    said as the opening's title and again as its first line."""
    draft = tmp_path / "my_novel_final_v2.txt"
    draft.write_text("It was a dark night.\n\nChapter 1\n\nRain came down.\n\nChapter 2\n\nThe sun.\n")
    page = tmp_path / "jardin.html"
    page.write_text("<html><head><title>Le Jardin</title></head><body><h1>Le Jardin</h1><p>Intro.</p>"
                    "<h2>Un</h2><p>Rain came.</p><h2>Deux</h2><p>Plus.</p></body></html>")
    kernel = polyvox.Kernel(cache=False, plugins=["template"])
    said = [[j.request.text for j in kernel.plan(path) if j.request] for path in (draft, page)]
    assert said[0] == ["It was a dark night.", "Chapter one", "Rain came down.", "Chapter two", "The sun."]
    assert said[1] == ["Le Jardin", "Intro.", "Un", "Rain came.", "Deux", "Plus."]
    assert [c.title for c in polyvox.read_book(draft).chapters][0] == "my_novel_final_v2"  # its mark keeps it
