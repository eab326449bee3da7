"""Names shared by the kernel, the settings and the CLI, each defined once, in a module light
enough for ``polyvox --help`` to import (no numpy, no engines)."""

from __future__ import annotations

#: How subtitle clips are fitted to their cues (see polyvox.subtitles.timing).
TIMING_MODES = ("pad_with_silence", "stretch_to_fit", "smart_natural", "concatenate")

#: Audio formats a render writes, by file extension, as soundfile names them. ``pcm`` is raw
#: 16-bit little-endian mono samples with no header (for pipes and servers).
AUDIO_FORMATS = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "mp3": "MP3", "pcm": "RAW"}

#: How chunks of one long text are joined (see polyvox.render.assembly.JoinConfig).
JOIN_METHODS = ("auto", "silence", "crossfade", "none")
