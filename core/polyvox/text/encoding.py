"""Reading text files people bring from anywhere: scripts, subtitles, voice transcripts and
alias maps, in UTF-8, UTF-16 (with or without a BOM) or Windows-1252, or a mix of UTF-8 and
Windows-1252 bytes in one file (edited on two machines)."""

from __future__ import annotations

import codecs

from polyvox.errors import ScriptError

#: How files people give by mistake begin (a reference WAV, a screenshot, a zipped script).
_SIGNATURES = ((b"fLaC", "FLAC audio"), (b"OggS", "Ogg audio"), (b"ID3", "MP3 audio"), (b"\xff\xfb", "MP3 audio"),
               (b"\xff\xf3", "MP3 audio"), (b"\xff\xf2", "MP3 audio"), (b"\x89PNG", "a PNG image"),
               (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"), (b"PK\x03\x04", "a zip archive"),
               (b"%PDF", "a PDF document"), (b"\x1f\x8b", "gzip data"), (b"\x7fELF", "a program"))


def decode_text(data: bytes) -> str:
    """Bytes of a text file to text: UTF-16 (with a BOM, or without one when its NUL bytes give
    it away), else UTF-8 (with or without BOM) in which any byte that is not UTF-8 is read as
    Windows-1252 (Latin-1 for the five bytes it leaves undefined). So a Windows-1252 file reads
    as itself, and so does a file edited in both encodings (``♪`` in UTF-8, ``é`` as one byte),
    where decoding the whole of it as Windows-1252 turned ``♪`` into ``â™ª``."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ScriptError(f"decode_text() takes the file's bytes, not {type(data).__name__} (a str is text already)")
    data = bytes(data)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # a file cut short (odd length, half a surrogate pair) keeps what can be read
        return data.decode("utf-16", errors="replace")
    unmarked = _utf16_without_bom(data)
    if unmarked:
        return data.decode(unmarked, errors="replace")
    return data.decode("utf-8-sig", errors=_CP1252_FALLBACK)


def binary_kind(data: bytes) -> str | None:
    """What `data` is when it is not text ("WAV audio", "a PNG image", "binary data"); None for
    text in any encoding `decode_text` reads (UTF-16 has NUL bytes, and is text)."""
    if data.startswith(b"RIFF"):
        return "WAV audio" if data[8:12] == b"WAVE" else "a RIFF file"
    if data[4:8] == b"ftyp":
        return "MP4 media"
    for magic, kind in _SIGNATURES:
        if data.startswith(magic):
            return kind
    head = data[:4096]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")) and _utf16_without_bom(head) is None:
        return "binary data"
    return None


def decode_script(data: bytes, name: str) -> str:
    """`decode_text` for a file (or stdin) that should be a script or subtitles: a one-line
    `ScriptError` naming it when it is audio, an image, an archive or other binary data,
    instead of reading its bytes as Windows-1252 and speaking them."""
    kind = binary_kind(data)
    if kind is not None:
        raise ScriptError(f"{name!r} is not a text file (it looks like {kind}): give a script (.txt) or "
                          "subtitles (.srt)")
    return decode_text(data)


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
