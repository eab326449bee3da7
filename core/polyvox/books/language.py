"""The language a book is written in, where the book does not say (an EPUB without
``dc:language``, HTML without ``lang``, Markdown, plain text without Project Gutenberg's
"Language:" line): py3langid (langid.py's model, 97 languages, numpy only) over a sample of its
chapters. Without it a German novel was read by an English voice with English number rules, and
nothing said so; now it is read in German where an engine speaks German, and a warning says
which language no installed engine speaks where none does.

What a book says of itself always wins; the guess is only taken from enough text (a few
sentences) and where the model is sure of it, so a short test book or a list of names is left
as it was."""

from __future__ import annotations

import functools
import re
from typing import Any

import attrs

from polyvox.books.book import Book

#: Letters a sample needs before its language is trusted.
MIN_LETTERS = 250
#: How sure the model must be (its probability, normalized over its languages).
CONFIDENCE = 0.95
#: Characters taken from each of the first chapters, and from the book in all.
_PER_CHAPTER, _SAMPLE = 1500, 6000
#: Markup and pauses are not the book's words: [Alice], [pause:1s], [de].
_MARKUP = re.compile(r"\[[^\]\n]{0,80}\]")


def with_language(book: Book) -> Book:
    """`book`, with the language its text is written in where it names none and the guess is sure."""
    if book.language is not None:
        return book
    sample = " ".join(_MARKUP.sub(" ", c.text[:_PER_CHAPTER]) for c in book.chapters[:12])[:_SAMPLE]
    found = guess(sample)
    return book if found is None else attrs.evolve(book, language=found)


def guess(text: str) -> str | None:
    """The language `text` is written in, as a code (``de``), or None: too short, the model not
    sure, or py3langid not installed."""
    if sum(c.isalpha() for c in text) < MIN_LETTERS:
        return None
    if _plainly_english(text):
        return "en"
    try:
        identifier = _identifier()
    except ImportError:
        return None
    code, probability = identifier.classify(text)
    return str(code) if probability >= CONFIDENCE else None


#: Words that make up some 15-20 % of English prose and next to none of other languages'.
_ENGLISH = frozenset("the and of to that with his her which from were would".split())


def _plainly_english(text: str) -> bool:
    """Whether `text` is plainly English by its commonest words: then the model (0.8 s and 100 MB
    to load) is not asked, as it would only say so."""
    words = re.findall(r"[a-z]+", text.lower())
    return len(words) >= 40 and sum(w in _ENGLISH for w in words) >= 0.08 * len(words)


@functools.cache
def _identifier() -> Any:
    """py3langid's model, loaded once a process (0.8 s and some 100 MB at its peak: it is
    stored compressed and unpacked into Python lists)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
