"""What an engine is sent for a written text: the lexicon applied, then normalization,
for engines that do not normalize the language themselves (or always, or never)."""

from __future__ import annotations

import re
from collections.abc import Callable

from polyvox.errors import ParameterError
from polyvox.text import lexicon as lex
from polyvox.text import ssml
from polyvox.text.markup import MARKDOWN_LINK
from polyvox.text.normalize import Normalizers

#: `normalize` settings: None (auto: for engines that do not normalize the language themselves),
#: True (always), False (never).
Mode = bool | None


def check_mode(value: object) -> Mode:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("auto", ""):
        return None
    if text in ("1", "true", "yes", "on", "always"):
        return True
    if text in ("0", "false", "no", "off", "never"):
        return False
    raise ParameterError(f"normalize={value!r} is not valid: expected auto, true or false")


def wants_normalizing(mode: Mode, language: str, normalizes: tuple[str, ...]) -> bool:
    """True when the kernel normalizes `language` for an engine that normalizes `normalizes`."""
    if mode is not None:
        return mode
    base = language.split("-")[0]
    return language not in normalizes and base not in normalizes and "*" not in normalizes


#: Emoji and pictographs (with their joiners, variation selectors, skin tones and flag letters):
#: no one reads 🎉 aloud, and an engine that does says "party popper" mid-sentence.
_PICTOGRAPHS = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF"
                          "\uFE0E\uFE0F\u200D\u20E3\U000E0020-\U000E007F]+")


def without_pictographs(text: str) -> str:
    """`text` without emoji, spaces tidied where one was (a keycap's digit stays: 1️⃣ is 1)."""
    if not _PICTOGRAPHS.search(text):
        return text
    return tidy_spaces(_PICTOGRAPHS.sub(" ", text))


#: What Markdown leaves in plain text (a chat model's reply read aloud): heading marks, bullet
#: stars, emphasis asterisks and underscores, code backticks, rules, the HTML tags chat models
#: mix in (<br>, <b>). The words stay, the marks go;
#: a lone `*` between spaces (5 * 3) and a word's own underscores (snake_case) stay.
_MARKDOWN = re.compile(r"(?m)^[ \t]*(?:[*_][ \t]*){3,}$|(?<!\S)\*{2,}(?!\S)"  # rules (***, * * *), stars alone
                       r"|^[ \t]*#{1,6}[ \t]+|(?<!\S)#{2,6}(?=\s)|^[ \t]*[*+•][ \t]+|`+"
                       r"|</?(?:b|i|u|s|em|strong|br|p|span|code|pre|div|small|mark|sup|sub)\b[^<>]*>"  # inline HTML
                       r"|(?<![\w*])\*{1,3}(?=[^\s*])|(?<=[^\s*])\*{1,3}(?![\w*])"
                       r"|(?<![\w_])_{1,3}(?=[^\s_][^_]*(?<=[^\s_])_{1,3}(?![\w_]))|(?<=[^\s_])_{1,3}(?![\w_])")


def has_marks(text: str) -> bool:
    """Whether `text` holds emoji or Markdown's marks, which no one reads aloud."""
    return (_PICTOGRAPHS.search(text) is not None or _MARKDOWN.search(text) is not None
            or MARKDOWN_LINK.search(text) is not None)


def without_markdown(text: str) -> str:
    """`text` without Markdown's heading, bullet, emphasis and code marks ("## Summary",
    "**bold**", "`code`"): read aloud, "#" is "number", and engines say "asterisk" or skip it."""
    if MARKDOWN_LINK.search(text):
        text = tidy_spaces(MARKDOWN_LINK.sub(lambda m: m.group(1) or "", text))
    if not _MARKDOWN.search(text):
        return text
    return tidy_spaces(_MARKDOWN.sub(lambda m: " " if m.group().startswith("<") else "", text))


def says_nothing(text: str) -> bool:
    """Whether `text` holds nothing to say: no letter or digit once emoji and Markdown's marks are
    gone ("👍", "?!", "***"; a chat reply's last line is often one of these)."""
    return not any(c.isalnum() for c in without_markdown(without_pictographs(text)))


def tidy_spaces(text: str) -> str:
    """`text` after something was taken out of it: one space where there were more, none before
    a punctuation mark, none at the ends."""
    return _SPACE_BEFORE_MARK.sub(r"\1", _SPACES.sub(" ", text)).strip()


_SPACES = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_MARK = re.compile(r"[ \t]+([,.;:!?])")


class Speech:
    """Written text to the text an engine receives."""

    def __init__(self, normalizers: Normalizers, warn: Callable[..., None] | None = None):
        self.normalizers = normalizers
        self.warn = warn

    def spoken(self, text: str, language: str, *, normalize: bool, lexicon: lex.Lexicon | None = None,
               phonemes: str = "", engine: str = "") -> str:
        blocks: list[str] = []
        text = without_markdown(without_pictographs(ssml.said(text)))
        if lexicon:
            text, blocks, skipped = lexicon.apply(text, language, phonemes)
            if skipped and self.warn is not None:
                self.warn("lexicon", f"engine {engine!r} takes no phonemes: the lexicon's phonemes for "
                          f"{skipped[0]!r} are not used (give a respelling: `word = respelling`)",
                          key=f"lexicon-phonemes:{engine}:{skipped[0].lower()}")
        if normalize:
            text = self.normalizers(text, language)
        return ssml.phoneme_text(lex.restore(text, blocks), phonemes)
