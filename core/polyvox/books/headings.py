"""Chapter headings in plain text, as printed books and Project Gutenberg write them: a line of
its own, after a blank line (or right under another heading: "BOOK ONE" / "CHAPTER I"), that is

- a word and its number, and maybe a title: "Chapter 3", "CHAPTER IV.", "Chapter Three: The
  Storm", "STAVE ONE.", "Letter 1", "BOOK ONE: 1805", "VOLUME I", "CHAPTER 1. Loomings.",
  "ADVENTURE I. A SCANDAL IN BOHEMIA", "ACT II", "SCENE I. Verona."; in the languages of Project
  Gutenberg's other large shelves too, with their ordinals before or after the word: "Kapitel 3",
  "Erstes Kapitel", "Zweiter Teil", "CHAPITRE PREMIER", "PREMIÈRE PARTIE", "Capítulo II",
  "PRIMERA PARTE", "Capitolo primo", "Hoofdstuk 4", "Eerste deel", "Pennod 1", "Глава 5";
  in Chinese and Japanese "第一章", "第3話", "第二部", and a line that Aozora Bunko's note marks
  as a heading ("一［＃「一」は中見出し］");
- a roman number and a title in capitals or title case, without the word: "I. A SCANDAL IN
  BOHEMIA", "II. The Red-Headed League";
- front or back matter by its name: "PREFACE", "INTRODUCTION", "ETYMOLOGY.", "EXTRACTS
  (Supplied by a Sub-Sub-Librarian)", "Prologue", "EPILOGUE" (only Prologue and Epilogue count
  towards the two headings that make a text a book: a script may well say "Introduction");
- a roman number alone ("I", "II."), only in a text that has no other kind, counted from I
  up one at a time (The Time Machine); in a text with other headings these number a chapter's
  sections (The Adventures of Sherlock Holmes), which `is_section` finds."""

from __future__ import annotations

import re

import attrs

_ROMAN = r"(?=[mdclxvi])m{0,4}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})"
_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
          r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred")
#: Ordinals that follow their word ("Chapitre premier", "Capítulo primero", "Libro primo").
_ORDINALS_AFTER = (r"premier|première|premiere|second|seconde|deuxième|troisième|quatrième|cinquième|sixième|"
                   r"septième|huitième|neuvième|dixième|primero|primera|segundo|segunda|tercero|tercera|cuarto|"
                   r"cuarta|quinto|quinta|sexto|sexta|séptimo|séptima|octavo|octava|noveno|novena|décimo|décima|"
                   r"primeiro|primeira|terceiro|terceira|primo|prima|secondo|seconda|terzo|terza|quarto|quarta|"
                   r"sesto|sesta|settimo|settima|ottavo|ottava|nono|nona|decimo|decima|único|única|unico|unica")
_NUMBER = rf"(?:\d+|{_ROMAN}|(?:{_WORDS})(?:[- ](?:{_WORDS}))*|the\s+[a-z]+|{_ORDINALS_AFTER})"
#: Ordinals that go before their word ("Erstes Kapitel", "Eerste deel", "PREMIÈRE PARTIE", "PRIMERA PARTE").
_ORDINALS_BEFORE = (r"erste[nrs]?|zweite[nrs]?|dritte[nrs]?|vierte[nrs]?|fünfte[nrs]?|sechste[nrs]?|"
                    r"siebe?n?te[nrs]?|achte[nrs]?|neunte[nrs]?|zehnte[nrs]?|elfte[nrs]?|zwölfte[nrs]?|letzte[nrs]?|"
                    r"eerste|tweede|derde|vierde|vijfde|zesde|zevende|achtste|negende|tiende|laatste|"
                    r"première|premiere|deuxième|seconde|troisième|quatrième|cinquième|sixième|dernière|"
                    r"primera|segunda|tercera|cuarta|quinta|primeira|terceira|prima|seconda|terza|quarta")
#: The words a heading's number goes with: English, German, French, Spanish, Italian, Portuguese,
#: Dutch, Welsh, Russian.
_HEADING_WORDS = (r"chapter|part|book|volume|stave|letter|canto|adventure|act|scene|"
                  r"kapitel|teil|buch|band|akt|szene|chapitre|partie|livre|tome|lettre|acte|scène|"
                  r"capítulo|capitulo|parte|libro|tomo|acto|escena|capitolo|atto|scena|livro|ato|cena|"
                  r"hoofdstuk|deel|boek|bedrijf|pennod|rhan|глава|часть|книга|том")
#: What may follow a heading's word or number on its line: a title after . : - – — or "(".
_AFTER = r"(?:[ \t]*[.:\-–—(][^\n]{0,70})?"
_WORDED = re.compile(rf"[ \t]*(?:(?:{_HEADING_WORDS})[ \t]+{_NUMBER}|(?:{_ORDINALS_BEFORE})[ \t]+(?:{_HEADING_WORDS}))"
                     rf"{_AFTER}[ \t]*", re.IGNORECASE)
#: Chinese and Japanese: 第一章, 第3話, 第二部 (part), 第一幕 (act), and maybe a title.
_CJK = re.compile(r"[ \t\u3000]*第[〇一二三四五六七八九十百千零两\d０-９]{1,6}[章回話话部巻卷編编幕節节]"
                  r"(?:[ \t\u3000:：.．、][^\n]{0,40})?[ \t\u3000]*")
#: A line an Aozora Bunko note marks as a large or middle heading: 一［＃「一」は中見出し］.
_NOTED = re.compile(r"[^\n]*［＃「[^」\n]+」は(?:大|中)見出し］[^\n]*")
_COUNTED_MATTER = re.compile(rf"[ \t]*(?:prologue|epilogue){_AFTER}[ \t]*", re.IGNORECASE)
_MATTER = re.compile(rf"[ \t]*(?:preface|introduction|foreword|afterword|etymology|extracts|appendix|postscript|"
                     rf"interlude){_AFTER}[ \t]*", re.IGNORECASE)
_UPPER_ROMAN = _ROMAN.upper()
_TITLED = re.compile(rf"[ \t]*({_UPPER_ROMAN})\.[ \t]+(\S[^\n]{{0,60}})")
_BARE = re.compile(rf"[ \t]*({_UPPER_ROMAN})\.?[ \t]*")
_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


@attrs.frozen
class Heading:
    """A heading line: where it starts and ends in the text, and what kind it is ("worded",
    "titled", "matter", "counted" (Prologue, Epilogue) or "bare")."""

    start: int
    end: int
    kind: str
    #: the number of a bare roman heading
    number: int = 0


def kind(line: str) -> str | None:
    """What kind of heading `line` is, if it is one (where it stands is not looked at)."""
    if _WORDED.fullmatch(line) or _CJK.fullmatch(line) or _NOTED.fullmatch(line):
        return "worded"
    if _COUNTED_MATTER.fullmatch(line):
        return "counted"
    if _MATTER.fullmatch(line):
        return "matter"
    titled = _TITLED.fullmatch(line)
    if titled and _is_title(titled.group(2)):
        return "titled"
    if _BARE.fullmatch(line):
        return "bare"
    return None


def _is_title(text: str) -> bool:
    """Whether `text` reads as a title: capitals, or each word of four letters or more capitalised."""
    words = re.findall(r"[^\W\d_]+", text)
    return bool(words) and all(w[0].isupper() for w in words if len(w) >= 4) and not text.rstrip().endswith(",")


def find(text: str) -> list[Heading]:
    """The heading lines of `text` that stand as headings: after a blank line, the text's start,
    or another heading line right above."""
    found: list[Heading] = []
    at, blank, above = 0, True, False
    for line in text.split("\n"):
        end = at + len(line)
        what = kind(line) if line.strip() and (blank or above) else None
        if what is not None:
            found.append(Heading(at, end, what, _value(line) if what == "bare" else 0))
        above, blank = what is not None, not line.strip()
        at = end + 1
    return found


def chapter_marks(found: list[Heading]) -> list[Heading] | None:
    """The headings that start chapters (None where fewer than two count): all but bare roman
    numbers, or where no two others count, bare roman numbers counted up from I."""
    named = [h for h in found if h.kind != "bare"]
    if sum(h.kind in ("worded", "titled", "counted") for h in named) >= 2:
        return named
    bare = [h for h in found if h.kind == "bare"]
    if len(bare) >= 2 and [h.number for h in bare] == list(range(1, len(bare) + 1)):
        return found
    return None


def _value(line: str) -> int:
    digits = [_VALUES[c] for c in line.strip().rstrip(".")]
    return sum(-d if n + 1 < len(digits) and d < digits[n + 1] else d for n, d in enumerate(digits))


#: The words of a heading over other headings: a part, book, volume or act (its page has no text).
_DIVIDERS = (r"part|book|volume|act|teil|buch|band|akt|partie|livre|tome|acte|parte|libro|tomo|acto|atto|livro|"
             r"ato|deel|boek|bedrijf|rhan|часть|книга|том")
_DIVIDER = re.compile(rf"\s*(?:(?:(?:{_ORDINALS_BEFORE})\s+)?(?:{_DIVIDERS})\b"
                      r"|第[^\s章回話话節节]{1,6}[部巻卷編编幕])", re.IGNORECASE)


def is_divider(title: str) -> bool:
    """Whether `title` heads a part, book, volume or act ("Part One", "Book the First", "ACT II",
    "Zweiter Teil", "PREMIÈRE PARTIE"): its page says its title, though it has no text."""
    return _DIVIDER.match(title) is not None


def is_section(line: str) -> bool:
    """Whether `line` is a section's number alone ("II."), as inside a chapter."""
    return _BARE.fullmatch(line) is not None
