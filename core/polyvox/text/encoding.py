"""Reading text files people bring from anywhere: scripts, subtitles, voice transcripts and
alias maps, in UTF-8, UTF-16 (with or without a BOM) or Windows-1252, or a mix of UTF-8 and
Windows-1252 bytes in one file (edited on two machines)."""

from __future__ import annotations

import codecs


def decode_text(data: bytes) -> str:
    """Bytes of a text file to text: UTF-16 (with a BOM, or without one when its NUL bytes give
    it away), else UTF-8 (with or without BOM) in which any byte that is not UTF-8 is read as
    Windows-1252 (Latin-1 for the five bytes it leaves undefined). So a Windows-1252 file reads
    as itself, and so does a file edited in both encodings (``♪`` in UTF-8, ``é`` as one byte),
    where decoding the whole of it as Windows-1252 turned ``♪`` into ``â™ª``."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # a file cut short (odd length, half a surrogate pair) keeps what can be read
        return data.decode("utf-16", errors="replace")
    unmarked = _utf16_without_bom(data)
    if unmarked:
        return data.decode(unmarked, errors="replace")
    return data.decode("utf-8-sig", errors=_CP1252_FALLBACK)


def _cp1252_bytes(error: UnicodeError) -> tuple[str, int]:
    """The codec error handler behind `decode_text`: the bytes UTF-8 could not read, as Windows-1252."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start:error.end]
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in bad), error.end


_CP1252_FALLBACK = "polyvox-cp1252"
codecs.register_error(_CP1252_FALLBACK, _cp1252_bytes)


def _utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le" or "utf-16-be" when `data` looks like UTF-16 written without a BOM: its
    ASCII (digits, spaces, timing lines, tags) makes one byte of many pairs NUL, always the
    same one (text in UTF-8 or a one-byte code page has none). A quarter is enough for a
    subtitle file in Chinese."""
    head = data[:4000]
    pairs = len(head) // 2
    if pairs < 8:
        return None
    low, high = head[1::2].count(0), head[0::2].count(0)
    if low >= pairs * 0.25 and high <= pairs * 0.02:
        return "utf-16-le"
    if high >= pairs * 0.25 and low <= pairs * 0.02:
        return "utf-16-be"
    return None
