"""Text tokenizers built from local files only.

Upstream's multilingual tokenizer builds its Chinese converter in its constructor: it asks the
hub for a conversion table and constructs a word segmenter that downloads a model archive
from outside the hub (which ``HF_HUB_OFFLINE`` does not stop). Here the converter is built
on first use for a Chinese segment, from the model directory, and the segmenter from the
archive the kernel fetched and verified with the model (or one already in pkuseg's own
folder); never downloaded here. The language is an argument of every call: nothing about one
segment's language survives into the next.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from polyvox import ModelError

log = logging.getLogger(__name__)

CANGJIE = "Cangjie5_TC.json"


def english(path: Path) -> Any:
    from chatterbox.models.tokenizers import EnTokenizer

    return EnTokenizer(str(path))


def turbo(directory: Path) -> Any:
    """Turbo's GPT-2 tokenizer, from the model directory only."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
    except Exception as exc:  # transformers raises OSError/ValueError for incomplete folders
        raise ModelError(f"cannot load the Turbo tokenizer from {directory}: {exc}") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def multilingual(path: Path, *, segmenter: Path | None = None) -> Any:
    """Upstream's `MTLTokenizer` with a lazy, local Chinese converter."""
    from chatterbox.models.tokenizers import MTLTokenizer
    from tokenizers import Tokenizer

    tokenizer = MTLTokenizer.__new__(MTLTokenizer)  # its __init__ would fetch the Chinese table
    tokenizer.tokenizer = Tokenizer.from_file(str(path))
    tokenizer.cangjie_converter = LazyCangjie(path.parent, segmenter=segmenter)
    tokenizer.check_vocabset_sot_eot()
    return tokenizer


class LazyCangjie:
    """Stands in for upstream's `ChineseCangjieConverter`; builds it on the first Chinese text."""

    def __init__(self, directory: Path, *, segmenter: Path | None = None):
        self.directory = directory
        self.segmenter = segmenter
        self._converter: Any = None
        self._lock = threading.Lock()

    def __call__(self, text: str) -> str:
        with self._lock:
            if self._converter is None:
                self._converter = self._build()
        return self._converter(text)

    def _build(self) -> Any:
        from chatterbox.models.tokenizers.tokenizer import ChineseCangjieConverter

        table = self.directory / CANGJIE
        if not table.is_file():
            raise ModelError(f"Chinese needs {CANGJIE} beside the multilingual weights; not found in {self.directory}")
        converter = ChineseCangjieConverter.__new__(ChineseCangjieConverter)
        converter.word2cj, converter.cj2word = _read_cangjie(table)
        converter.segmenter = _segmenter(self.segmenter)
        return converter


def _read_cangjie(path: Path) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The table's entries are "glyph<TAB>code[<TAB>...]" strings."""
    word2cj: dict[str, str] = {}
    cj2word: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as fh:
        for entry in json.load(fh):
            word, code = entry.split("\t")[:2]
            word2cj[word] = code
            cj2word.setdefault(code, []).append(word)
    return word2cj, cj2word


def _segmenter(archive: Path | None) -> Any:
    """pkuseg's word segmenter from `archive` (unpacked beside it once), else from pkuseg's own
    folder if its model is there; None (with a warning) when neither is."""
    try:
        from spacy_pkuseg import pkuseg
        from spacy_pkuseg.config import config
    except ImportError:
        log.warning("spacy_pkuseg is not installed: Chinese text is not segmented into words")
        return None
    name = "spacy_ontonotes"
    if archive is not None:
        return pkuseg(model_name=str(_unpacked(archive)))
    folder = os.path.join(config.pkuseg_home, name)
    if not os.path.isdir(folder):
        log.warning("pkuseg model %s is not in %s: Chinese text is not segmented into words; fetch it with "
                    "`polyvox models pull chatterbox:multilingual`", name, config.pkuseg_home)
        return None
    return pkuseg(model_name=folder)


def _unpacked(archive: Path) -> Path:
    """The folder `archive` unpacks to, unpacking it first if needed (atomically: a folder that
    exists is complete)."""
    target = archive.with_suffix("")
    if not target.is_dir():
        scratch = Path(tempfile.mkdtemp(prefix=".unpack-", dir=archive.parent))
        try:
            shutil.unpack_archive(str(archive), str(scratch))
            os.replace(scratch, target)
        except OSError:
            if not target.is_dir():
                raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return target
