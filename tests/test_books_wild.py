"""EPUBs as the tools that make them in the wild write them (tests/epubkit.py): Project
Gutenberg's (licence, contents page, page numbers, footnotes, chapters at anchors in big split
files), Calibre's (index_split_000.html, titles only in the NCX, nested parts, headings as plain
paragraphs), Standard Ebooks' (titlepage, imprint, colophon, uncopyright, endnotes, hgroup
titles), EPUB 2 (NCX only, linear="no", a guide, an image-only cover page), typography (soft
hyphens, joiners, poems, tables, ruby) and languages. Each reads the book and checks what a
listener would hear: the chapters, their titles and their words."""

from __future__ import annotations

import pytest
from epubkit import Doc, write_epub

import polyvox

pytest.importorskip("ebooklib")


def chapters(path) -> list[tuple[str, str]]:
    return [(c.title, c.text) for c in polyvox.read_book(path).chapters]


def about(path) -> tuple[str | None, str | None, str | None, bool]:
    """The book's title, author, language and whether it has a cover."""
    book = polyvox.read_book(path)
    return book.title, book.author, book.language, book.cover is not None


# -- Project Gutenberg --------------------------------------------------------------------------

PG_HEADER = {
    "2023": ('<section class="pg-boilerplate pgheader" id="pg-header" lang="en"><h2 id="pg-header-heading">The '
             "Project Gutenberg eBook of The Quiet Harbour, by Ann Author</h2><div>This ebook is for the use of anyone "
             'anywhere in the United States.</div><div id="pg-machine-header"><p><strong>Title</strong>: The Quiet '
             'Harbour</p></div><div id="pg-start-separator"><span>*** START OF THE PROJECT GUTENBERG EBOOK THE QUIET '
             "HARBOUR ***</span></div></section>"),
    "2010": ("<pre>\nThe Project Gutenberg EBook of The Quiet Harbour, by Ann Author\n\nThis eBook is for the use of "
             "anyone anywhere at no cost.\n\nTitle: The Quiet Harbour\n</pre>"
             "<p>*** START OF THIS PROJECT GUTENBERG EBOOK THE QUIET HARBOUR ***</p>"),
}
PG_FOOTER = {
    "2023": ('<section class="pg-boilerplate pgheader" id="pg-footer" lang="en"><div id="pg-end-separator"><span>*** '
             "END OF THE PROJECT GUTENBERG EBOOK THE QUIET HARBOUR ***</span></div><h2 id=\"pg-footer-heading\">THE "
             "FULL PROJECT GUTENBERG LICENSE</h2><p>PLEASE READ THIS BEFORE YOU DISTRIBUTE OR USE THIS WORK</p>"
             "</section>"),
    "2010": ("<p>End of the Project Gutenberg EBook of The Quiet Harbour, by Ann Author</p><p>*** END OF THIS "
             'PROJECT GUTENBERG EBOOK THE QUIET HARBOUR ***</p><h2 id="pg-footer-heading">THE FULL PROJECT '
             "GUTENBERG LICENSE</h2><p>PLEASE READ THIS BEFORE YOU DISTRIBUTE.</p><p>Section 1. General Terms.</p>"),
}


@pytest.mark.parametrize("era", ["2023", "2010"])
def test_a_project_gutenberg_epub_is_its_chapters_without_licence_contents_pages_or_notes(tmp_path, era):
    """PG's licence (its header and footer, and the footer's entry in the table of contents)
    was read, as a chapter of its own or at the end of the last one; its contents page was read
    as the opening's text; the licence's entry in a file of its own made the end of the last
    chapter a chapter called "THE FULL PROJECT GUTENBERG LICENSE"."""
    front = (PG_HEADER[era] + '<h1>THE QUIET HARBOUR</h1><p class="center">By Ann Author</p><h2>CONTENTS</h2>'
             '<table><tr><td><a href="#chap01" class="pginternal">CHAPTER I.</a></td><td>The Lamp</td></tr>'
             '<tr><td><a href="#chap02">CHAPTER II.</a></td><td>Rain</td></tr></table>'
             '<div class="chapter"><h2><a id="chap01"></a>CHAPTER I.<br/>THE LAMP</h2><p>The lamp<a href="#Footnote_1" '
             'class="fnanchor" id="FNanchor_1">[1]</a> burned all night.<span class="pagenum"><a id="Page_12">[Pg 12]'
             '</a></span> It was old.</p><div class="footnotes"><div class="footnote"><p><a id="Footnote_1" '
             'href="#FNanchor_1" class="label">[1]</a> An oil lamp.</p></div></div></div>'
             '<div class="chapter"><h2><a id="chap02"></a>CHAPTER II.<br/>RAIN</h2><p>Rain came down hard.</p>')
    middle = '<p>The boats strained.</p></div><div class="chapter"><h2 id="chap03">CHAPTER III.<br/>CALM</h2>'
    docs = [Doc("12345-h-0.htm.xhtml", front), Doc("12345-h-1.htm.xhtml", middle),
            Doc("12345-h-2.htm.xhtml", "<p>Calm at last.</p></div>" + PG_FOOTER[era])]
    toc = [("The Project Gutenberg eBook of The Quiet Harbour", "12345-h-0.htm.xhtml#pg-header-heading"),
           ("CHAPTER I. THE LAMP", "12345-h-0.htm.xhtml#chap01"), ("CHAPTER II. RAIN", "12345-h-0.htm.xhtml#chap02"),
           ("CHAPTER III. CALM", "12345-h-1.htm.xhtml#chap03"),
           ("THE FULL PROJECT GUTENBERG LICENSE", "12345-h-2.htm.xhtml#pg-footer-heading")]
    path = write_epub(tmp_path / "pg.epub", docs, toc=toc, title="The Quiet Harbour", cover=True)
    assert chapters(path) == [
        ("THE QUIET HARBOUR", "By Ann Author"),  # the title page, without the contents under it
        ("CHAPTER I. THE LAMP", "The lamp burned all night. It was old."),  # no [1], no [Pg 12], no note
        ("CHAPTER II. RAIN", "Rain came down hard.\nThe boats strained."),
        ("CHAPTER III. CALM", "Calm at last."),
    ]
    assert about(path) == ("The Quiet Harbour", "Ann Author", "en", True)


# -- Calibre --------------------------------------------------------------------------------------

def test_a_calibre_conversion_takes_its_titles_from_the_ncx_and_reads_no_heading_twice(tmp_path):
    """Calibre heads chapters with plain paragraphs ("1", "PART I" / "The Sea"): they were read
    after the table of contents' title said the same; its contents page was read."""
    docs = [Doc("index_split_000.html", '<p class="calibre1">THE QUIET HARBOUR</p><p class="calibre2">Ann Author</p>'),
            Doc("index_split_001.html", '<p class="calibre3">Contents</p><p class="toc"><a href="index_split_002.html'
                '#filepos1234">1</a></p><p class="toc"><a href="index_split_002.html#filepos5678">2</a></p>'
                '<p class="toc"><a href="index_split_004.html">3</a></p>'),
            Doc("index_split_002.html", '<p class="calibre4" id="calibre_toc_1"><span class="bold">PART I</span></p>'
                '<p class="calibre5">The Sea</p><p class="calibre6"><a id="filepos1234"></a>1</p>'
                "<p>The lamp burned.</p>"
                '<p>It was old; see <a href="index_split_004.html">the last part</a>.</p><p class="calibre6" '
                'id="filepos5678">2</p><p>Rain came.</p>'),
            Doc("index_split_003.html", '<p class="calibre1">The boats strained.</p>'),
            Doc("index_split_004.html", '<p class="calibre4"><span class="bold">PART II</span></p><p>3</p>'
                "<p>Calm at last.</p>")]
    toc = [("Start", "index_split_000.html"),
           ("Part I: The Sea", "index_split_002.html#calibre_toc_1", [
               ("Chapter 1", "index_split_002.html#filepos1234"), ("Chapter 2", "index_split_002.html#filepos5678")]),
           ("Part II", "index_split_004.html", [("Chapter 3", "index_split_004.html")])]
    path = write_epub(tmp_path / "calibre.epub", docs, toc=toc, nav=False, version="2.0")
    assert chapters(path) == [
        ("Start", "THE QUIET HARBOUR\nAnn Author"),  # no contents page after it
        ("Part I: The Sea", ""),  # a part's page: its title alone is spoken
        ("Chapter 1", "The lamp burned.\nIt was old; see the last part."),  # a link in prose is prose
        ("Chapter 2", "Rain came.\nThe boats strained."),
        ("Part II: Chapter 3", "Calm at last."),
    ]


# -- Standard Ebooks ------------------------------------------------------------------------------

def _standard_ebook(tmp_path):
    front, back, body = ' epub:type="frontmatter"', ' epub:type="backmatter"', ' epub:type="bodymatter z3998:fiction"'
    docs = [
        Doc("text/titlepage.xhtml", '<section id="titlepage" epub:type="titlepage"><h1 epub:type="title">The Quiet '
            'Harbour</h1><p>By <b epub:type="z3998:author-name">Ann Author</b>.</p><img alt="" src="../images/'
            'titlepage.svg"/></section>', body_attrs=front),
        Doc("text/imprint.xhtml", '<section id="imprint" epub:type="imprint"><header><h2 epub:type="title">Imprint</h2>'
            '</header><p>This ebook is the product of many hours of hard work by volunteers for Standard Ebooks.</p>'
            "</section>", body_attrs=front),
        Doc("text/dedication.xhtml", '<section id="dedication" epub:type="dedication"><p>To my mother.</p></section>',
            body_attrs=front),
        Doc("text/chapter-1.xhtml", '<section id="chapter-1" epub:type="chapter"><hgroup><h2 epub:type="ordinal '
            'z3998:roman">I</h2><p epub:type="title">Down to the Sea</p></hgroup><p>The lamp<a href="endnotes.xhtml'
            '#note-1" id="noteref-1" epub:type="noteref">1</a> burned<span epub:type="pagebreak" id="page-12" '
            'title="12"/> all night.</p><p>“Not yet\u2060—not quite,” she said.</p></section>', body_attrs=body),
        Doc("text/chapter-2.xhtml", '<section id="chapter-2" epub:type="chapter"><h2 epub:type="ordinal z3998:roman">'
            "II</h2><p>Rain came.</p></section>", body_attrs=body),
        Doc("text/endnotes.xhtml", '<section id="endnotes" epub:type="endnotes" role="doc-endnotes"><h2 epub:type='
            '"title">Endnotes</h2><ol><li id="note-1" epub:type="endnote"><p>An oil lamp. <a href="chapter-1.xhtml#'
            'noteref-1" epub:type="backlink">↩</a></p></li></ol></section>', body_attrs=back),
        Doc("text/colophon.xhtml", '<section id="colophon" epub:type="colophon"><header><h2 epub:type="title">Colophon'
            '</h2></header><p><i>The Quiet Harbour</i><br/>was published in 1900 by<br/>Ann Author.</p></section>',
            body_attrs=back),
        Doc("text/uncopyright.xhtml", '<section id="uncopyright" epub:type="copyright-page"><h2 epub:type="title">'
            "Uncopyright</h2><p>May you do good and not evil.</p></section>", body_attrs=back),
    ]
    toc = [("Titlepage", "text/titlepage.xhtml"), ("Imprint", "text/imprint.xhtml"),
           ("Dedication", "text/dedication.xhtml"),
           ('<span epub:type="z3998:roman">I</span>: Down to the Sea', "text/chapter-1.xhtml"),
           ('<span epub:type="z3998:roman">II</span>', "text/chapter-2.xhtml"), ("Endnotes", "text/endnotes.xhtml"),
           ("Colophon", "text/colophon.xhtml"), ("Uncopyright", "text/uncopyright.xhtml")]
    return write_epub(tmp_path / "se.epub", docs, toc=toc, ncx=False, title="The Quiet Harbour", language="en-GB",
                      cover=True)


def test_a_standard_ebook_reads_its_chapters_not_its_publishers_pages_nor_its_endnotes(tmp_path):
    """The titlepage, imprint, colophon and uncopyright were read as chapters; the endnotes were
    an empty chapter skipped with a warning; a word joiner before a dash went to the engine."""
    path = _standard_ebook(tmp_path)
    assert chapters(path) == [
        ("Dedication", "To my mother."),
        ("I: Down to the Sea", "The lamp burned all night.\n“Not yet—not quite,” she said."),
        ("II", "Rain came."),
    ]
    assert about(path) == ("The Quiet Harbour", "Ann Author", "en-GB", True)


def test_a_standard_ebook_renders_to_an_m4b_with_its_chapters(tmp_path):
    result = polyvox.Kernel(cache=False).render(_standard_ebook(tmp_path), engine="template",
                                                output=tmp_path / "se.m4b")
    assert [c.title for c in result.chapters] == ["Dedication", "I: Down to the Sea", "II"]
    assert polyvox.read_chapters(tmp_path / "se.m4b", result.stats.audio_seconds)[1].title == "I: Down to the Sea"


# -- EPUB 2 -----------------------------------------------------------------------------------------

def test_an_epub2_with_an_ncx_alone_reads_no_spine_item_outside_the_reading_order(tmp_path):
    """Notes the spine marks linear="no" were read at the end of the chapter before them."""
    docs = [Doc("cover.xhtml", '<div class="cover"><img src="images/cover.png" alt="Cover"/></div>', linear=False),
            Doc("ch1.xhtml", '<h1 class="chapter">Chapter One</h1><p>It was late.</p>'),
            Doc("notes.xhtml", '<h2>Notes</h2><p id="n1">1. An oil lamp.</p>', linear=False),
            Doc("ch2.xhtml", '<h1 class="chapter">Chapter Two</h1><p>Calm.</p>')]
    path = write_epub(tmp_path / "two.epub", docs, toc=[("Chapter One", "ch1.xhtml"), ("Chapter Two", "ch2.xhtml")],
                      nav=False, version="2.0", cover=True, guide='<reference type="cover" title="Cover" '
                      'href="cover.xhtml"/><reference type="text" title="Start" href="ch1.xhtml"/>')
    assert chapters(path) == [("Chapter One", "It was late."), ("Chapter Two", "Calm.")]
    assert about(path) == ("A Book", "Ann Author", "en", True)  # the cover the EPUB 2 way: <meta name="cover">


# -- typography ---------------------------------------------------------------------------------------

def test_soft_hyphens_joiners_poems_tables_pictures_and_ruby_are_read_as_words(tmp_path):
    """Soft hyphens and zero-width spaces went to the engine inside words; a poem's lines in
    spans of their own ran together ("calm,the tide")."""
    body = ("<h1>One</h1><p>It was &ldquo;late&rdquo;&nbsp;&mdash; very late.</p>"
            "<p>Won\u00adder\u00adful&#8203; news<br/>arrived at dawn.</p>"
            '<div class="poem"><div class="stanza"><span class="line">The sea is calm,</span>'
            '<span class="line">the tide is full</span></div></div>'
            "<table><tr><th>Ship</th><th>Tons</th></tr><tr><td>Hope</td><td>200</td></tr></table>"
            '<p><img src="map.png" alt="A map of the harbour"/></p>'
            "<p>吾輩は<ruby>猫<rp>(</rp><rt>ねこ</rt><rp>)</rp></ruby>である。</p>")
    path = write_epub(tmp_path / "t.epub", [Doc("c1.xhtml", body)], toc=[("One", "c1.xhtml")])
    assert chapters(path) == [("One", "It was “late” — very late.\nWonderful news\narrived at dawn.\n"
                                      "The sea is calm,\nthe tide is full\nShip, Tons\nHope, 200\n吾輩は猫である。")]


# -- languages ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["en-GB", "fr", "ja"])
def test_the_book_says_its_language(tmp_path, language):
    path = write_epub(tmp_path / "l.epub", [Doc("c1.xhtml", "<h1>1</h1><p>Mot.</p>", lang=language)],
                      toc=[("1", "c1.xhtml")], language=language)
    book = polyvox.read_book(path)
    assert book.language == language and [c.language for c in book.chapters] == [None]


def test_a_chapter_in_another_language_is_read_in_it(tmp_path):
    """A Japanese chapter (xml:lang="ja") of an English book was read with English voices."""
    from polyvox.render.chapters import book_units
    from polyvox.text import markup

    docs = [Doc("c1.xhtml", "<h2>One</h2><p>Hello there.</p>"),
            Doc("c2.xhtml", "<h2>二</h2><p>吾輩は猫である。</p>", lang="ja"),
            Doc("c3.xhtml", "<h2>Three</h2><p>Cheerio.</p>", lang="en-GB"),
            Doc("c4.xhtml", "<p>Bonjour.</p>", body_attrs=' xml:lang="fr" lang="fr"')]
    path = write_epub(tmp_path / "mixed.epub", docs, toc=[("One", "c1.xhtml"), ("二", "c2.xhtml"),
                                                            ("Three", "c3.xhtml"), ("Quatre", "c4.xhtml")])
    book = polyvox.read_book(path)
    assert [c.language for c in book.chapters] == [None, "ja", None, "fr"]  # en-GB: the book's, with a region
    codes = ("en", "ja")
    units, _ = book_units(book, lambda text, where: markup.parse(text, codes), lambda *_: None, codes)
    spoken = [[(s.text, s.language) for s in unit if s.text.strip()] for unit in units]
    assert spoken[1] == [("二", "ja"), ("吾輩は猫である。", "ja")]
    assert spoken[0] == [("One", None), ("Hello there.", None)]
    assert spoken[3] == [("Quatre", None), ("Bonjour.", None)]  # French, which no engine here speaks: the book's
