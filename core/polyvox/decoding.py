"""Reading audio that libsndfile cannot: AAC (``.aac``, ``.m4a``, ``.mp4``) and WebM, through PyAV.

TTS Audio Suite's voice folders may hold ``.aac``, ``.m4a``, ``.mp4`` and ``.webm`` references.
soundfile (and pedalboard on Linux) cannot decode them, so they go through PyAV (FFmpeg's decoders,
shipped in its wheel). PyAV is optional: ``pip install 'polyvox[aac]'``; without it such a
file is a one-line `VoiceError` that says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from polyvox.errors import VoiceError

#: Suffixes read through PyAV instead of soundfile.
COMPRESSED = (".aac", ".m4a", ".m4b", ".mp4", ".webm", ".opus")


def needs_av(source: object) -> bool:
    return isinstance(source, str | Path) and Path(source).suffix.lower() in COMPRESSED


def _pyav(path: str | Path) -> Any:
    """PyAV, or a one-line `VoiceError` saying `path` needs it."""
    try:
        import av
    except ImportError:
        raise VoiceError(f"cannot read audio {str(path)!r}: AAC/M4A/MP4/WebM needs PyAV; install it with "
                         "pip install 'polyvox[aac]', or convert the file to .wav or .flac") from None
    return av


def read(path: str | Path) -> tuple[np.ndarray, int]:
    """The file's samples as mono float32, and its sample rate."""
    av = _pyav(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise VoiceError(f"cannot read audio {str(path)!r}: it holds no audio stream")
            stream = container.streams.audio[0]
            mono = av.AudioResampler(format="flt", layout="mono", rate=stream.rate)
            chunks = [out.to_ndarray().reshape(-1) for frame in container.decode(stream)
                      for out in mono.resample(frame)]
            chunks += [out.to_ndarray().reshape(-1) for out in mono.resample(None)]
            rate = int(stream.rate)
    except VoiceError:
        raise
    except Exception as exc:  # PyAV raises its own FFmpeg error types (and OSError)
        raise VoiceError(f"cannot read audio {str(path)!r}: {str(exc).splitlines()[0] if str(exc) else exc!r}") \
            from None
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    return samples, rate


def info(path: str | Path) -> tuple[float, int]:
    """Duration (seconds) and sample rate, by decoding (AAC headers do not reliably say)."""
    samples, rate = read(path)
    return len(samples) / rate, rate


def check_readable(path: str | Path) -> None:
    """A one-line `VoiceError` naming `path` when it holds no audio polyvox can read: only its
    header is read (a render finds a broken reference before it synthesizes anything)."""
    if needs_av(path):
        av = _pyav(path)
        try:
            with av.open(str(path)) as container:
                if container.streams.audio:
                    return
        except Exception as exc:  # PyAV's FFmpeg errors
            raise VoiceError(f"cannot read audio {str(path)!r}: {_first_line(exc)}") from None
        raise VoiceError(f"cannot read audio {str(path)!r}: it holds no audio stream")
    import soundfile

    try:
        soundfile.info(str(path))
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, OSError...
        raise VoiceError(f"cannot read audio {str(path)!r}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
