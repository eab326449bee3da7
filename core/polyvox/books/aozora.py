"""Aozora Bunko's plain text (青空文庫, the Japanese public-domain library): its title and author
on its first two lines; its note on the symbols it uses (the block between dashed lines under
them), the notes on its source at the end (from 底本：), ruby readings (漢字《かんじ》, and ｜
where a ruby's base starts) and the typists' notes (［＃…］) are not read; a line that a note
marks as a large or middle heading (一［＃「一」は中見出し］) starts a chapter (`headings`).

Only a text that uses Aozora's notes is read so: 《》 are also Chinese book-title marks."""

from __future__ import annotations

import re

#: A typist's note, and the ※ that stands for a kanji a note describes (a character the
#: typesetting lacked): neither is read.
_NOTE = re.compile(r"※?［＃[^］\n]*］")
_RUBY = re.compile(r"《[^》\n]{0,40}》")
_DASHES = re.compile(r"^-{10,}[ \t]*$", re.MULTILINE)
_SOURCE = re.compile(r"^底本[：:]", re.MULTILINE)
_SYMBOLS = "テキスト中に現れる記号について"


def is_aozora(text: str) -> bool:
    """Whether `text` is written in Aozora Bunko's notation."""
    return _SYMBOLS in text or "［＃" in text


def cut(text: str) -> tuple[str, str | None, str | None]:
    """`text` without Aozora's note on its symbols and its source notes, and the title and
    author on its first two lines (None where it has no such head)."""
    title = author = None
    dashes = list(_DASHES.finditer(text))
    if len(dashes) >= 2 and _SYMBOLS in text[dashes[0].end(): dashes[1].start()]:
        head = [line.strip() for line in text[: dashes[0].start()].split("\n") if line.strip()]
        title, author = (head + [None, None])[:2]
        text = text[dashes[1].end():]
    source = _SOURCE.search(text)
    return (text[: source.start()] if source else text), title, author


def plain(text: str) -> str:
    """`text` without ruby readings, ruby marks and typists' notes."""
    return _NOTE.sub("", _RUBY.sub("", text)).replace("｜", "")
