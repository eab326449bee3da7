"""Names shared by the kernel, the settings and the CLI, each defined once, in a module light
enough for ``polyvox --help`` to import (no numpy, no engines)."""

from __future__ import annotations

#: How subtitle clips are fitted to their cues (see polyvox.subtitles.timing).
TIMING_MODES = ("pad_with_silence", "stretch_to_fit", "smart_natural", "concatenate")

#: Audio formats a render writes, by file extension, as soundfile names them. ``pcm`` is raw
#: 16-bit little-endian mono samples with no header (for pipes and servers).
AUDIO_FORMATS = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "mp3": "MP3", "pcm": "RAW",
                 # audiobooks: AAC in MP4 and Opus in Ogg, encoded by FFmpeg through PyAV (polyvox.containers)
                 "m4b": "M4B", "m4a": "M4A", "opus": "OPUS"}

#: How chunks of one long text are joined (see polyvox.text.joins.JoinConfig).
JOIN_METHODS = ("auto", "silence", "crossfade", "none")

#: Devices a render may ask for (``cuda:N`` for any N); see `check_device`.
DEVICES = ("auto", "cpu", "cuda", "cuda:N", "mps")


def check_device(value: str) -> str:
    """`value` if it names a device polyvox knows, else a one-line `ParameterError`.

    Engines receive the device as text; a typo such as ``gpu`` used to reach them and be
    logged as if it had been used.
    """
    import re

    from polyvox.errors import ParameterError

    text = str(value).strip().lower()
    if text in ("auto", "cpu", "cuda", "mps") or re.fullmatch(r"cuda:\d+", text):
        return text
    raise ParameterError(f"device {value!r} is not known: use one of {', '.join(DEVICES)}")
