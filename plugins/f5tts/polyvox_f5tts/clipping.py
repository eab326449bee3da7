"""Shortening a reference the way f5-tts 1.1.22's (unchanged since 1.1.20) `preprocess_ref_audio_text` does, in memory.

Upstream decodes the file with pydub, clips it with pydub's silence splitter, strips the
silent edges and writes the result to a temporary WAV that `infer_process` reads back. The
rules live inline in that function (which also hashes the file, memoizes in a module global
and may run Whisper), so they are restated here on the same pydub calls, and the temporary
file is replaced by the array it would have held. The result is the same samples, at the same
rate and width, as the file upstream would have written:

1. split at pauses of at least 1 s below -50 dBFS, keeping up to 1 s of each pause on either
   side (so every pause longer than 2 s becomes 2 s, in short references too), and append
   pieces while the result stays within 12 s once it holds more than 6 s;
2. if that is still over 12 s, the same with pauses of 100 ms below -40 dBFS;
3. if still over 12 s, cut at 12 s;
4. strip the edges quieter than -42 dBFS (upstream's `remove_silence_edges`) and append 50 ms
   of silence.

pydub is upstream's own dependency; no ffmpeg is needed, because the file is decoded with
soundfile into the PCM samples pydub would have read from a WAV.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from polyvox.errors import VoiceError

#: Upstream's limit for a reference, and the length past which it starts looking for a cut (ms).
MAX_MS = 12000
MIN_MS = 6000
#: (minimum pause in ms, level in dBFS) for upstream's first and second split.
SPLITS = ((1000, -50), (100, -40))
KEEP_SILENCE_MS = 1000
SEEK_STEP_MS = 10
TAIL_MS = 50


def read_pcm(path: str | Path) -> Any:
    """The file as the pydub `AudioSegment` upstream would decode: 16-bit (and lower) PCM as
    16-bit samples, 24-bit as pydub widens it (shifted left 8 bits, the low byte 0xFF when
    negative), anything else as 32-bit samples; all channels kept."""
    import soundfile as sf
    from pydub import AudioSegment

    try:
        info = sf.info(str(path))
        if info.subtype in ("PCM_16", "PCM_S8", "PCM_U8"):
            data, width = sf.read(str(path), dtype="int16", always_2d=True)[0], 2
        else:
            data, width = sf.read(str(path), dtype="int32", always_2d=True)[0], 4
            if info.subtype == "PCM_24":
                data = data + np.where(data < 0, 255, 0).astype(np.int32)
    except Exception as exc:  # soundfile raises several types for unreadable files
        raise VoiceError(f"cannot read audio {str(path)!r}: {exc}") from exc
    return AudioSegment(np.ascontiguousarray(data).tobytes(), sample_width=width, frame_rate=info.samplerate,
                        channels=data.shape[1])


def _pieces(segment: Any, min_silence_ms: int, threshold_db: int) -> tuple[Any, bool]:
    """The pieces between long pauses appended until 12 s; (joined, whether any piece was dropped)."""
    from pydub import AudioSegment, silence

    pieces = silence.split_on_silence(segment, min_silence_len=min_silence_ms, silence_thresh=threshold_db,
                                      keep_silence=KEEP_SILENCE_MS, seek_step=SEEK_STEP_MS)
    joined = AudioSegment.silent(duration=0)
    for piece in pieces:
        if len(joined) > MIN_MS and len(joined + piece) > MAX_MS:
            return joined, True
        joined += piece
    return joined, False


def clip(segment: Any) -> tuple[Any, bool]:
    """Upstream's shortened reference and whether speech was dropped to make it fit 12 s."""
    from f5_tts.infer.utils_infer import remove_silence_edges
    from pydub import AudioSegment

    (first_ms, first_db), (second_ms, second_db) = SPLITS
    out, dropped = _pieces(segment, first_ms, first_db)
    if len(out) > MAX_MS:
        out, dropped = _pieces(segment, second_ms, second_db)
    if len(out) > MAX_MS:
        out, dropped = out[:MAX_MS], True
    return remove_silence_edges(out) + AudioSegment.silent(duration=TAIL_MS), dropped


def samples(segment: Any) -> np.ndarray:
    """(channels, frames) float32, as torchaudio reads the WAV upstream writes (full scale = 1)."""
    ints = np.frombuffer(segment.raw_data, dtype=np.int16 if segment.sample_width == 2 else np.int32)
    scale = np.float32(2.0 ** (8 * segment.sample_width - 1))
    return (ints.reshape(-1, segment.channels).T.astype(np.float32) / scale).astype(np.float32)
