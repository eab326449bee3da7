"""Plain-text, HTML and Markdown books as they come in the wild: Project Gutenberg's plain text
of every era (its header and licence, "Produced by" credits, the 1990s' small print, CRLF and a
byte-order mark, footnotes, illustrations, a transcriber's note, a contents list), the heading
styles real books use (A Christmas Carol's staves, Frankenstein's letters, Sherlock Holmes's
numbered titles, Moby-Dick's etymology, The Time Machine's bare numbers), Gutenberg's HTML, and
Markdown from Pandoc and Obsidian. Each reads the book and checks what a listener hears: the
chapters, their titles and their words."""

from __future__ import annotations

import pytest

import polyvox

PAUSE = "[pause:1s]"


def chapters(path) -> list[tuple[str, str]]:
    return [(c.title, c.text) for c in polyvox.read_book(path).chapters]


def spoken(path) -> list[str]:
    """What the engine is given, a pause as <1.0>."""
    jobs = polyvox.Kernel(cache=False, plugins=["template"]).plan(path)
    return [j.request.text if j.request else f"<{j.segment.pause}>" for j in jobs]


# -- Project Gutenberg's plain text --------------------------------------------------------------

CAROL = """\ufeffThe Project Gutenberg eBook of A Christmas Carol, by Charles Dickens

This ebook is for the use of anyone anywhere in the United States and
most other parts of the world at no cost and with almost no restrictions.

Title: A Christmas Carol
       A Ghost Story of Christmas

Author: Charles Dickens

Release date: August 11, 2004 [eBook #46]
                Most recently updated: January 1, 2024

Language: English

Credits: Produced by Jose Menendez


*** START OF THE PROJECT GUTENBERG EBOOK A CHRISTMAS CAROL ***




                           A CHRISTMAS CAROL

[Illustration]

[Illustration: MR. FEZZIWIG'S BALL.

  _See page 29._]

                                PREFACE

I have endeavoured in this Ghostly little book, to raise the Ghost
of an Idea.

                                CONTENTS

    STAVE I.    MARLEY'S GHOST
    STAVE II.   THE FIRST OF THE THREE SPIRITS
    STAVE III.  THE SECOND OF THE THREE SPIRITS



STAVE ONE.


MARLEY'S GHOST.


Marley was dead: to begin with. Scrooge signed it.[1] And
Scrooge's name was good for _anything_ he chose.

[Footnote 1: The parish register, that is;

  a note of the editor's.]

* * * * *

Oh! But he was a tight-fisted hand at the grind-stone!


STAVE TWO.


THE FIRST OF THE THREE SPIRITS.


When Scrooge awoke, it was so dark.

       *       *       *       *       *

The curtains of his bed were drawn aside.


STAVE THREE.


THE SECOND OF THE THREE SPIRITS.


Awaking in the middle of a snore, Scrooge sat up.

Footnote 2: Not a real footnote.


        Transcriber's Note:

        Obvious typographical errors have been silently corrected.

        Italics are shown as _underscores_.



*** END OF THE PROJECT GUTENBERG EBOOK A CHRISTMAS CAROL ***

Updating editions will replace the previous one.

THE FULL PROJECT GUTENBERG LICENSE
"""


def test_a_gutenberg_text_of_today_is_its_staves_without_notes_captions_or_contents(tmp_path):
    """"STAVE ONE." was no heading (the whole book was refused as a script); a title two blank
    lines under its heading, or ending in a full stop, was read as prose; a contents list after
    a preface left its "CONTENTS" line in the preface; a footnote over two paragraphs, "Footnote
    2:" and a transcriber's note were read; a scene break's stars were a paragraph with no pause."""
    path = tmp_path / "carol.txt"
    path.write_bytes(CAROL.replace("\n", "\r\n").encode())
    book = polyvox.read_book(path)
    assert (book.title, book.author, book.language) == ("A Christmas Carol", "Charles Dickens", "en")
    assert chapters(path) == [
        ("A Christmas Carol", "A CHRISTMAS CAROL"),
        ("PREFACE", "I have endeavoured in this Ghostly little book, to raise the Ghost of an Idea."),
        ("STAVE ONE. MARLEY'S GHOST.", "Marley was dead: to begin with. Scrooge signed it.[1] And Scrooge's name was "
                                       f"good for _anything_ he chose.\n{PAUSE}\nOh! But he was a tight-fisted hand "
                                       "at the grind-stone!"),
        ("STAVE TWO. THE FIRST OF THE THREE SPIRITS.", f"When Scrooge awoke, it was so dark.\n{PAUSE}\nThe curtains "
                                                       "of his bed were drawn aside."),
        ("STAVE THREE. THE SECOND OF THE THREE SPIRITS.", "Awaking in the middle of a snore, Scrooge sat up.")]
    said = spoken(path)
    assert "Scrooge's name was good for anything he chose." in " ".join(said)  # no underscores, no [1]
    at = said.index("When Scrooge awoke, it was so dark.")
    assert said[at + 1: at + 3] == ["<1.0>", "The curtains of his bed were drawn aside."]


PRIDE = """The Project Gutenberg EBook of Pride and Prejudice, by Jane Austen

This eBook is for the use of anyone anywhere at no cost and with
almost no restrictions whatsoever.

Title: Pride and Prejudice

Author: Jane Austen

Language: English

*** START OF THIS PROJECT GUTENBERG EBOOK PRIDE AND PREJUDICE ***




Produced by Anonymous Volunteers, and David Widger and the Online
Distributed Proofreading Team at http://www.pgdp.net




PRIDE AND PREJUDICE

By Jane Austen



Chapter 1


It is a truth universally acknowledged, that a single man in possession
of a good fortune, must be in want of a wife.



Chapter 2


Mr. Bennet was among the earliest of those who waited on Mr. Bingley.



End of the Project Gutenberg EBook of Pride and Prejudice, by Jane Austen

*** END OF THIS PROJECT GUTENBERG EBOOK PRIDE AND PREJUDICE ***

***** This file should be named 1342-0.txt or 1342-0.zip *****
"""

MACHINE = """**The Project Gutenberg Etext of The Time Machine, by H. G. Wells**

**Welcome To The World of Free Plain Vanilla Electronic Texts**

***START**THE SMALL PRINT!**FOR PUBLIC DOMAIN ETEXTS**START***
Why is this "Small Print!" statement here?  You know: lawyers.

*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*



The Time Machine


I

The Time Traveller (for so it will be convenient to speak of him)
was expounding a recondite matter to us.


II

The Time Traveller smiled round at us.


End of The Project Gutenberg Etext of The Time Machine, by H. G. Wells
"""


def test_older_gutenberg_texts_lose_their_credits_small_print_and_closing_line(tmp_path):
    """The "Produced by" credits and "End of the Project Gutenberg EBook of …" were read; a
    1990s text (its small print, no START line, chapters numbered "I", "II") was no book."""
    pride = tmp_path / "1342.txt"
    pride.write_text(PRIDE)
    book = polyvox.read_book(pride)
    assert (book.title, book.author) == ("Pride and Prejudice", "Jane Austen")
    assert chapters(pride) == [
        ("Pride and Prejudice", "PRIDE AND PREJUDICE\nBy Jane Austen"),
        ("Chapter 1", "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
                      "must be in want of a wife."),
        ("Chapter 2", "Mr. Bennet was among the earliest of those who waited on Mr. Bingley.")]
    machine = tmp_path / "timemach.txt"
    machine.write_text(MACHINE)
    book = polyvox.read_book(machine)
    assert (book.title, book.author) == ("The Time Machine", "H. G. Wells")  # from its first line
    assert chapters(machine) == [
        ("The Time Machine", "The Time Machine"),
        ("I", "The Time Traveller (for so it will be convenient to speak of him) was expounding a recondite matter "
              "to us."),
        ("II", "The Time Traveller smiled round at us.")]
    said = spoken(machine)
    assert "one" in said and "two" in said and "I" not in said  # the chapters' numbers, not "I"


# -- heading styles ------------------------------------------------------------------------------

def test_letters_roman_titles_and_front_matter_are_chapters(tmp_path):
    """Frankenstein's "Letter 1", Sherlock Holmes's "I. A SCANDAL IN BOHEMIA" (and its sections
    "I." / "II."), Moby-Dick's "ETYMOLOGY." and "EXTRACTS" were not headings: the letters were
    read as the opening, the adventures were no book at all, and Moby-Dick's contents list made
    its last entry a chapter holding the etymology."""
    frank = tmp_path / "frank.txt"
    frank.write_text("Frankenstein\n\n CONTENTS\n\n Letter 1\n Letter 2\n Chapter 1\n\n\nLetter 1\n\n"
                     "_To Mrs. Saville, England._\n\nYou will rejoice to hear it.\n\n\nLetter 2\n\n"
                     "How slowly the time passes here!\n\n\nChapter 1\n\nI am by birth a Genevese.\n")
    assert chapters(frank) == [("Frankenstein", "Frankenstein"),  # its first line is its title
                               ("Letter 1: To Mrs. Saville, England.", "You will rejoice to hear it."),
                               ("Letter 2", "How slowly the time passes here!"),
                               ("Chapter 1", "I am by birth a Genevese.")]
    holmes = tmp_path / "holmes.txt"
    holmes.write_text("Contents\n\n   I.     A Scandal in Bohemia\n   II.    The Red-Headed League\n\n\n"
                      "I. A SCANDAL IN BOHEMIA\n\n\nI.\n\n\nTo Sherlock Holmes she is always _the_ woman.\n\n\n"
                      "II.\n\n\n"
                      "At three o'clock precisely I was at Baker Street.\n\n\nII. THE RED-HEADED LEAGUE\n\n\n"
                      "I had called upon my friend.\n")
    assert chapters(holmes) == [
        ("I. A SCANDAL IN BOHEMIA", f"To Sherlock Holmes she is always _the_ woman.\n{PAUSE}\nAt three o'clock "
                                    "precisely I was at Baker Street."),
        ("II. THE RED-HEADED LEAGUE", "I had called upon my friend.")]
    moby = tmp_path / "moby.txt"
    moby.write_text("MOBY-DICK\n\n\nCONTENTS\n\nETYMOLOGY.\n\nEXTRACTS (Supplied by a Sub-Sub-Librarian).\n\n"
                    "CHAPTER 1. Loomings.\n\nCHAPTER 2. The Carpet-Bag.\n\n\n\nETYMOLOGY.\n\n(Supplied by a Late "
                    "Consumptive Usher to a Grammar School.)\n\nThe pale Usher.\n\n\n\nEXTRACTS (Supplied by a "
                    "Sub-Sub-Librarian).\n\nIt will be seen.\n\n\n\nCHAPTER 1. Loomings.\n\nCall me Ishmael.\n\n\n\n"
                    "CHAPTER 2. The Carpet-Bag.\n\nI stuffed a shirt.\n")
    assert chapters(moby) == [
        ("MOBY-DICK", "MOBY-DICK"),
        ("ETYMOLOGY. (Supplied by a Late Consumptive Usher to a Grammar School.)", "The pale Usher."),
        ("EXTRACTS (Supplied by a Sub-Sub-Librarian).", "It will be seen."),
        ("CHAPTER 1. Loomings.", "Call me Ishmael."), ("CHAPTER 2. The Carpet-Bag.", "I stuffed a shirt.")]


def test_volumes_and_books_head_their_chapters_and_prose_stays_prose(tmp_path):
    """"VOLUME I" was read as a line of the opening and "VOLUME II" as the last line of a
    chapter; a part heading right over its first chapter's was taken for a contents list and
    dropped with it. Lines that only look like headings inside a paragraph, or "Introduction"
    twice in a script, do not make chapters."""
    emma = tmp_path / "emma.txt"
    emma.write_text("VOLUME I\n\nCHAPTER I\n\nEmma Woodhouse, handsome.\n\nCHAPTER II\n\nMr. Weston.\n\n"
                    "VOLUME II\nCHAPTER I\n\nEmma and Harriet.\n")
    assert chapters(emma) == [("VOLUME I", ""), ("CHAPTER I", "Emma Woodhouse, handsome."),
                              ("CHAPTER II", "Mr. Weston."), ("VOLUME II", ""), ("CHAPTER I", "Emma and Harriet.")]
    script = tmp_path / "talk.txt"
    script.write_text("Introduction\n\n[Alice] Hello.\n\nI. Then we went home,\nand slept.\n\nII. Then we woke.\n\n"
                      "Introduction\n\n[Bob] Bye.\n")
    assert not isinstance(polyvox.read_source(script), polyvox.Book)


def test_headings_of_other_languages_adventures_and_plays_make_chapters(tmp_path):
    """A German, French or Spanish novel ("Erstes Kapitel", "CHAPITRE PREMIER", "PRIMERA PARTE"),
    Sherlock Holmes's "ADVENTURE I." and a play's acts and scenes were no book at all (or their
    headings were read as the opening's lines); a title page's title and "by" line name the book
    where no Project Gutenberg header does, and a part's or an act's page is its title spoken."""
    german = tmp_path / "verwandlung.txt"
    german.write_text("Die Reise\n\nvon Anna Autorin\n\n\nErstes Kapitel\n\nAls Gregor erwachte, regnete es.\n\n\n"
                      "Zweites Kapitel\n\nErst in der Abenddämmerung erwachte er.\n", encoding="utf-8")
    assert chapters(german) == [("Die Reise", "Die Reise\nvon Anna Autorin"),
                                ("Erstes Kapitel", "Als Gregor erwachte, regnete es."),
                                ("Zweites Kapitel", "Erst in der Abenddämmerung erwachte er.")]
    assert polyvox.read_book(german).author == "Anna Autorin"
    german.write_text("Von Mäusen und Menschen\n\nvon Johann Wolfgang von Goethe\n\nErstes Kapitel\n\nEs regnete."
                      "\n\nZweites Kapitel\n\nDer Wind kam.\n", encoding="utf-8")  # a title that opens with "Von"
    book = polyvox.read_book(german)
    assert (book.title, book.author) == ("Von Mäusen und Menschen", "Johann Wolfgang von Goethe")
    french = tmp_path / "voyage.txt"
    french.write_text("VOYAGE AU CENTRE\n\nPREMIÈRE PARTIE\n\nCHAPITRE PREMIER\n\nLe 24 mai, mon oncle rentra.\n\n"
                      "CHAPITRE II\n\nLa maison était petite.\n", encoding="utf-8")
    assert [t for t, _ in chapters(french)] == ["VOYAGE AU CENTRE", "PREMIÈRE PARTIE", "CHAPITRE PREMIER",
                                                 "CHAPITRE II"]
    spanish = tmp_path / "quijote.txt"
    spanish.write_text("PRIMERA PARTE\n\nCapítulo primero\n\nEn un lugar de la Mancha.\n\nCapítulo II\n\n"
                       "Hechas, pues, estas prevenciones.\n", encoding="utf-8")
    assert [t for t, _ in chapters(spanish)] == ["PRIMERA PARTE", "Capítulo primero", "Capítulo II"]
    holmes = tmp_path / "adventures.txt"
    holmes.write_text("THE ADVENTURES OF SHERLOCK HOLMES\n\nby ARTHUR CONAN DOYLE\n\n\nADVENTURE I. A SCANDAL IN "
                      "BOHEMIA\n\nI.\n\nTo Sherlock Holmes she is always the woman.\n\nII.\n\nAt three o'clock.\n\n\n"
                      "ADVENTURE II. THE RED-HEADED LEAGUE\n\nI had called upon my friend.\n")
    book = polyvox.read_book(holmes)
    assert (book.title, book.author) == ("THE ADVENTURES OF SHERLOCK HOLMES", "Arthur Conan Doyle")
    assert [(c.title, c.text) for c in book.chapters][1:] == [
        ("ADVENTURE I. A SCANDAL IN BOHEMIA",
         f"To Sherlock Holmes she is always the woman.\n{PAUSE}\nAt three o'clock."),
        ("ADVENTURE II. THE RED-HEADED LEAGUE", "I had called upon my friend.")]
    assert "ADVENTURE two. THE RED-HEADED LEAGUE" in spoken(holmes)  # not the word "I"
    play = tmp_path / "romeo.txt"
    play.write_text("ROMEO AND JULIET\n\nby William Shakespeare\n\n\nACT I\n\nSCENE I. A public place.\n\n"
                    "SAMPSON.\nGregory, on my word.\n\nSCENE II. A Street.\n\nCAPULET.\nBut Montague is bound.\n\n"
                    "ACT II\n\nSCENE I. A lane.\n\nROMEO.\nCan I go forward?\n")
    assert [t for t, _ in chapters(play)] == ["ROMEO AND JULIET", "ACT I", "SCENE I. A public place.",
                                              "SCENE II. A Street.", "ACT II", "SCENE I. A lane."]
    said = spoken(play)
    assert "ACT one" in said and "ACT two" in said  # an act's page: its title spoken, not skipped as empty
    assert said.index("ACT two") < said.index("SCENE one. A lane.") < said.index("ROMEO. Can I go forward?")
    prose_lines = tmp_path / "notes.txt"
    prose_lines.write_text("Part of me\n\n[Alice] Hello.\n\nAct now.\n\n[Bob] Band together.\n\nChapter and verse\n")
    assert not isinstance(polyvox.read_source(prose_lines), polyvox.Book)



GERMAN = ("Der alte Leuchtturmwärter stieg jeden Abend die steile Treppe hinauf und zündete die Lampe an, "
          "während unten die Wellen gegen die schwarzen Felsen schlugen. Im Winter kamen nur wenige Schiffe "
          "vorbei, aber er zählte sie alle und schrieb ihre Namen in ein kleines Heft, das auf dem Tisch neben "
          "dem Fenster lag. Seine Tochter wohnte in der Stadt und schrieb ihm jede Woche einen langen Brief.")
FRENCH = ("Le vieux gardien du phare montait chaque soir l'escalier étroit pour allumer la lampe, pendant que "
          "les vagues frappaient les rochers noirs au pied de la tour. En hiver, peu de navires passaient au "
          "large, mais il les comptait tous et notait leurs noms dans un petit carnet posé sur la table, près "
          "de la fenêtre. Sa fille habitait en ville et lui écrivait chaque semaine une longue lettre.")


def test_a_book_that_names_no_language_is_read_in_the_one_it_is_written_in(tmp_path, monkeypatch):
    """A German novel in plain text, Markdown or HTML without a language of its own was read by
    an English voice with English number rules, and nothing said so: its language is now found
    from its text (py3langid), and where no installed engine speaks it the render says which.
    What a book says of itself wins; a short text is not guessed at."""
    german = tmp_path / "leuchtturm.txt"
    german.write_text(f"Erstes Kapitel\n\n{GERMAN}\n\nZweites Kapitel\n\n{GERMAN}\n", encoding="utf-8")
    assert polyvox.read_book(german).language == "de"
    markdown = tmp_path / "phare.md"
    markdown.write_text(f"# Un\n\n{FRENCH}\n\n# Deux\n\n[Alice] {FRENCH}\n", encoding="utf-8")
    assert polyvox.read_book(markdown).language == "fr"
    page = tmp_path / "phare.html"
    page.write_text(f"<html><body><h2>Un</h2><p>{FRENCH}</p><h2>Deux</h2><p>{FRENCH}</p></body></html>",
                    encoding="utf-8")
    assert polyvox.read_book(page).language == "fr"
    said = tmp_path / "said.html"  # the book says English: it is English, whatever its words
    said.write_text(f'<html lang="en"><body><h2>Un</h2><p>{FRENCH}</p><h2>Deux</h2><p>x</p></body></html>',
                    encoding="utf-8")
    assert polyvox.read_book(said).language == "en"
    english = tmp_path / "harbour.txt"
    english.write_text("Chapter 1\n\nThe old keeper climbed the narrow stair every evening to light the lamp, "
                       "while below him the waves broke against the black rocks. In winter few ships passed, but he "
                       "counted every one of them and wrote their names in a small notebook that lay on the table "
                       "beside the window. His daughter lived in the town and sent him a long letter each week, "
                       "full of news about the market, the neighbours and the price of bread."
                       "\n\nChapter 2\n\nThe sea was calm.\n")
    assert polyvox.read_book(english).language == "en"
    from polyvox.books import language

    def unloadable():
        raise AssertionError("the model was loaded for a book that is plainly English")

    monkeypatch.setattr(language, "_identifier", unloadable)  # 0.8 s and 100 MB not spent on English
    assert polyvox.read_book(english).language == "en"
    monkeypatch.undo()
    short = tmp_path / "short.txt"
    short.write_text("Erstes Kapitel\n\nEs regnete.\n\nZweites Kapitel\n\nDer Wind kam.\n", encoding="utf-8")
    assert polyvox.read_book(short).language is None  # too little to go by
    result = polyvox.Kernel(cache=False, plugins=["template"]).render(german, engine="template")
    assert any("language is 'de', which no installed engine speaks" in w for w in result.warnings)



AOZORA = """灯台の夜
山田花子

-------------------------------------------------------
【テキスト中に現れる記号について】

《》：ルビ
（例）灯台《とうだい》

｜：ルビの付く文字列の始まりを特定する記号
（例）小さな｜港町《みなとまち》
-------------------------------------------------------

［＃３字下げ］一［＃「一」は中見出し］

　灯台守《とうだいもり》は毎晩、細い階段を上ってランプに火をともした。冬になると、沖を通る船は少なかった。
　それでも彼は一隻ずつ数え、窓辺の机に置いた小さな｜帳面《ちょうめん》にその名前を書きとめた。
　海は静かで、遠くの町の明かりが※［＃「言＋墟のつくり」、第4水準2-88-74］波の上にゆれていた。彼は毎晩同じ椅子にすわり、同じ窓から外を見ていた。

［＃３字下げ］二［＃「二」は中見出し］

　町に住む娘は、毎週長い手紙を送ってきた。市場のこと、近所の人のこと、パンの値段のことが書いてあった。［＃「書いてあった」に傍点］
　彼は手紙を何度も読み返し、返事を書くときには、その週に見た船の名前をひとつずつ書き加えた。
　春が来ると、娘は小さな子どもを連れて灯台をたずねてきた。子どもは長い階段を数えながら上り、てっぺんの窓から海を見て声をあげた。


底本：「灯台の夜」架空書房
入力：テスト
"""


def test_japanese_books_from_aozora_bunko_and_the_web_are_chapters_without_their_readings(tmp_path):
    """Aozora Bunko's plain text (Japanese's public-domain library) was no book: its headings are
    notes (［＃「一」は中見出し］), its ruby readings (灯台守《とうだいもり》) would be read after
    their words, and its symbols' note and source notes read as text. A web novel's 第一章 was no
    heading either."""
    book_path = tmp_path / "toudai.txt"
    book_path.write_text(AOZORA, encoding="utf-8")
    book = polyvox.read_book(book_path)
    assert (book.title, book.author, book.language) == ("灯台の夜", "山田花子", "ja")
    assert [c.title for c in book.chapters] == ["一", "二"]
    text = "".join(c.text for c in book.chapters)
    assert text.startswith("灯台守は毎晩、細い階段を上って") and "小さな帳面にその名前" in text
    assert "少なかった。それでも" in text  # lines of a paragraph joined without a space
    assert not any(mark in text for mark in ("《", "》", "｜", "［＃", "※", "底本", "記号", "とうだいもり"))
    web = tmp_path / "hoshi.txt"
    web.write_text("星の記録\n\n第一章　はじまり\n\n夜空を見上げると、たくさんの星が光っていた。\n\n"
                   "第二章　旅立ち\n\n少年は朝早く家を出て、北へ向かって歩き始めた。\n", encoding="utf-8")
    assert chapters(web)[1:] == [("第一章 はじまり", "夜空を見上げると、たくさんの星が光っていた。"),
                                 ("第二章 旅立ち", "少年は朝早く家を出て、北へ向かって歩き始めた。")]
    pytest.importorskip("polyvox_kokoro")
    jobs = polyvox.Kernel(cache=False, plugins=["kokoro"]).plan(book_path)
    assert {(j.engine, j.request.language) for j in jobs if j.request} == {("kokoro", "ja")}


# -- Project Gutenberg's HTML --------------------------------------------------------------------

PG_HTML_HEAD = {
    "2010": ('<html lang="en"><head><title>The Project Gutenberg eBook of The Quiet Harbour, by Ann Author</title>'
             "</head><body><pre>\nThe Project Gutenberg EBook of The Quiet Harbour, by Ann Author\n\nThis eBook is for "
             "the use of anyone anywhere at no cost.\n\nTitle: The Quiet Harbour\n\n*** START OF THIS PROJECT "
             "GUTENBERG EBOOK THE QUIET HARBOUR ***\n</pre><p>Produced by Ann Helper and the Online Distributed "
             "Proofreading Team</p>"),
    "2023": ('<html lang="en"><head><title>The Quiet Harbour | Project Gutenberg</title><meta name="author" '
             'content="Ann Author"></head><body><section class="pg-boilerplate pgheader" id="pg-header"><h2>The '
             "Project Gutenberg eBook of The Quiet Harbour, by Ann Author</h2><div>This ebook is for the use of anyone."
             '</div><div id="pg-start-separator"><span>*** START OF THE PROJECT GUTENBERG EBOOK THE QUIET HARBOUR ***'
             "</span></div></section>"),
}
PG_HTML_FOOT = {
    "2010": ("<p>End of the Project Gutenberg EBook of The Quiet Harbour, by Ann Author</p><pre>*** END OF THIS "
             "PROJECT GUTENBERG EBOOK THE QUIET HARBOUR ***\n\nSection 1.  General Terms of Use\n</pre></body></html>"),
    "2023": ('<section class="pg-boilerplate pgfooter" id="pg-footer"><div id="pg-end-separator"><span>*** END OF '
             "THE PROJECT GUTENBERG EBOOK THE QUIET HARBOUR ***</span></div><h2>THE FULL PROJECT GUTENBERG LICENSE</h2>"
             "<p>PLEASE READ THIS.</p></section></body></html>"),
}
PG_HTML_BODY = (
    '<h1>THE QUIET HARBOUR</h1><p class="center">By Ann Author</p><hr class="chap x-ebookmaker-drop" />'
    '<h2>CONTENTS</h2><table summary="Contents"><tr><td><a href="#CHAPTER_I">CHAPTER I.</a></td><td>'
    '<a href="#CHAPTER_I">The Lamp</a></td></tr><tr><td><a href="#CHAPTER_II">CHAPTER II.</a></td><td>'
    '<a href="#CHAPTER_II">Rain</a></td></tr></table><hr class="chap x-ebookmaker-drop" />'
    '<div class="chapter"><h2><a id="CHAPTER_I"></a>CHAPTER I.<br />THE LAMP</h2><p><span class="pagenum">'
    '<a id="Page_1">[Pg 1]</a></span>The lamp burned all night.<a href="#Footnote_1" class="fnanchor">[1]</a></p>'
    '<p class="center">* * * * *</p><p>The keeper slept.</p><div class="footnotes"><p><a id="Footnote_1"></a>'
    '<a href="#FNanchor_1"><span class="label">[1]</span></a> A note.</p></div></div>'
    '<hr class="chap x-ebookmaker-drop" /><div class="chapter"><h2><a id="CHAPTER_II"></a>CHAPTER II.<br />RAIN</h2>'
    '<p>Rain fell.</p><hr class="tb" /><p>It stopped.</p></div><hr class="chap x-ebookmaker-drop" />')


@pytest.mark.parametrize("era", ["2010", "2023"])
def test_a_gutenberg_html_book_is_read_as_its_epub_would_be(tmp_path, era):
    """An HTML book was read with its licence (an old one, whose header is a <pre> with the
    START line in it), its "Produced by" credits, a chapter called "CONTENTS" reading out the
    contents table and "End of the Project Gutenberg EBook …"; the book was titled "The Project
    Gutenberg eBook of …"; scene breaks (<hr>, a centred "* * * * *") were silent or read."""
    path = tmp_path / "12345-h.htm"
    path.write_text(PG_HTML_HEAD[era] + PG_HTML_BODY + PG_HTML_FOOT[era])
    book = polyvox.read_book(path)
    assert (book.title, book.author, book.language) == ("The Quiet Harbour", "Ann Author", "en")
    assert chapters(path) == [
        ("The Quiet Harbour", "THE QUIET HARBOUR\nBy Ann Author"),
        ("CHAPTER I. THE LAMP", f"The lamp burned all night.\n{PAUSE}\nThe keeper slept."),
        ("CHAPTER II. RAIN", f"Rain fell.\n{PAUSE}\nIt stopped.")]


# -- Markdown ------------------------------------------------------------------------------------

def test_markdown_from_pandoc_and_obsidian_reads_its_words_and_pauses_at_its_breaks(tmp_path):
    """A Pandoc heading's "{#ch2 .unnumbered}" was read as part of its title; "~~~" as a scene
    break opened a code block that hid the rest of the book; "⁂" was given to the engine and
    "#" alone was silent, like "* * *"."""
    path = tmp_path / "phare.md"
    path.write_text("---\ntitle: Le Phare\nauthor: Anne Auteur\nlang: fr\n---\n\n<!-- draft: check dates -->\n\n"
                    "Chapter One\n===========\n\nThe lamp [burned](https://example.com) all night.[^1] "
                    "![a lamp](lamp.png)\n\n* * *\n\nThe keeper slept.\n\n```python\nprint('not read')\n```\n\n"
                    "# Chapter Two {#ch2 .unnumbered}\n\nRain fell.\n\n⁂\n\nIt stopped.\n\n#\n\nThen sun.\n\n~~~\n\n"
                    "Evening.\n\n[^1]: A note.\n")
    book = polyvox.read_book(path)
    assert (book.title, book.author, book.language) == ("Le Phare", "Anne Auteur", "fr")
    assert chapters(path) == [
        ("Chapter One", f"The lamp burned all night.\n{PAUSE}\nThe keeper slept."),
        ("Chapter Two", f"Rain fell.\n{PAUSE}\nIt stopped.\n{PAUSE}\nThen sun.\n{PAUSE}\nEvening.")]
