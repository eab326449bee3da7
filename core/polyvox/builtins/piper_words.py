"""Piper's word times from its own alignment: VITS predicts how many frames each phoneme id
lasts, and piper-tts 1.8 hands those durations back (`PhonemeAlignment`) when the voice's ONNX
graph outputs them (`patched`: the ``Ceil`` tensor of the durations marked as an output, with
piper's own `add_alignment_output`, in memory; the file is never changed).

The phonemes are espeak-ng's for a whole sentence, which joins some words ("on the" is one
phoneme word, ``ɔnðə``), so they are not mapped to the text's words by counting spaces: each
word is phonemized on its own and its phonemes are found in the sentence's by sequence
alignment (difflib); a word's time runs from its first phoneme found to its last. A word none
of whose phonemes is found (rare: espeak read it differently in context) shares the gap
between its neighbours. A word's phonemes alone depend on the voice's phonemizer and the word
only, so they are remembered (`_WORDS`): a book says "the" thousands of times, and each espeak
call costs about as much as its voice switch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from polyvox.words.sounds import word_times as aligned_words
from polyvox.words.timing import WordTime

_LOG = logging.getLogger(__name__)
#: Phonemes that are no sound of a word: word breaks, sentence marks, espeak's punctuation.
_NOT_SOUNDS = frozenset(" ^$_,.;:!?¡¿—–-…\"'«»“”()[]")
#: A word's phonemes by (espeak voice, phoneme type, Arabic diacritics on, word); emptied when it
#: reaches `_REMEMBERED`.
_WORDS: dict[tuple[str, str, bool, str], tuple[str, ...]] = {}
_REMEMBERED = 50_000


def patched(path: str) -> str | bytes:
    """The voice at `path` as ONNX bytes whose graph also outputs the phoneme durations; `path`
    itself (no word times, estimated later) when the `onnx` package is missing or the graph has
    no single ``Ceil`` tensor to expose (or already outputs it)."""
    try:
        import onnx
        from piper.patch_voice_with_alignment import add_alignment_output
    except ImportError:
        _LOG.info("the onnx package is missing: Piper's word times are estimated from the audio")
        return path
    model = onnx.load(path)
    try:
        add_alignment_output(model)
    except ValueError as exc:  # already an output, or no duration tensor found
        _LOG.debug("Piper voice %s not patched for alignments: %s", path, exc)
        return path
    return model.SerializeToString()


def sounds(chunks: Iterable[Any], rate: int) -> list[tuple[str, float, float]] | None:
    """Every phoneme that is a sound, with its start and end (seconds) in the chunks' audio laid
    end to end; None when a chunk has no alignment (the voice does not give one)."""
    out: list[tuple[str, float, float]] = []
    offset = 0
    for chunk in chunks:
        if chunk.phoneme_alignments is None:
            return None
        at = offset
        for a in chunk.phoneme_alignments:
            n = int(a.num_samples)
            if a.phoneme not in _NOT_SOUNDS:
                out.append((a.phoneme, at / rate, (at + n) / rate))
            at += n
        offset += len(chunk.audio_float_array)
    return out


def word_phonemes(voice: Any, word: str) -> tuple[str, ...]:
    """`word`'s phonemes alone as `voice` (a `PiperVoice`) says them, remembered."""
    key = (str(voice.config.espeak_voice), str(voice.config.phoneme_type), bool(getattr(voice, "use_tashkeel", 0)),
           word)
    found = _WORDS.get(key)
    if found is None:
        found = tuple(p for sentence in voice.phonemize(word) for p in sentence)
        if len(_WORDS) >= _REMEMBERED:
            _WORDS.clear()
        _WORDS[key] = found
    return found


def word_times(text: str, said: Sequence[tuple[str, float, float]], voice: Any) -> tuple[WordTime, ...]:
    """Each word of `text` (split at spaces), timed from the phonemes `said` (see `sounds`), each
    word's own phonemes as `voice` (a `PiperVoice`) says the word alone."""
    return aligned_words(text, said, lambda word: word_phonemes(voice, word), _NOT_SOUNDS)
