"""Decoding an uploaded voice within bounds. A compressed file is a promise of samples: 261 KB
of FLAC silence can hold 330 s of 8 channels at 96 kHz, 1 GB once decoded. So the header is
read first (duration, rate, channels) and the upload refused before decoding when it says
too much; then the audio is decoded a block at a time, each block mixed to mono at once,
with a running count that stops a file whose header understates its length."""

from __future__ import annotations

import io

import numpy as np

from polyvox import Audio
from polyvox.serve.errors import ApiError, bad_request, too_large

#: Sample rates a voice recording may have, in Hz.
RATES = (8_000, 192_000)
#: The most channels an upload may have (7.1 surround); a voice is mixed to mono.
MAX_CHANNELS = 8
#: Frames decoded at a time: 64 Ki frames of 8 channels of float32 are 2 MiB.
BLOCK = 65_536


def decode(data: bytes, max_seconds: float, min_seconds: float) -> Audio:
    """The upload as mono `Audio`; a 400 (not audio, odd rate or channels, too short) or 413
    (too long) `ApiError` otherwise, decided from the header where it can be."""
    import soundfile as sf

    try:
        reader = sf.SoundFile(io.BytesIO(data))
    except Exception:  # soundfile raises several types for what it cannot read
        raise _not_audio() from None
    with reader:
        rate, channels, frames = reader.samplerate, reader.channels, reader.frames
        if not RATES[0] <= rate <= RATES[1]:
            raise bad_request(f"the uploaded audio's sample rate is {rate} Hz: a voice needs {RATES[0]} to "
                              f"{RATES[1]} Hz", "file", "invalid_audio")
        if not 1 <= channels <= MAX_CHANNELS:
            raise bad_request(f"the uploaded audio has {channels} channels: a voice needs 1 to {MAX_CHANNELS}",
                              "file", "invalid_audio")
        if frames > max_seconds * rate:  # what the header says, before decoding anything
            raise _too_long(frames / rate, max_seconds)
        cap = int(max_seconds * rate)
        blocks, total = [], 0
        try:
            while block := len(chunk := reader.read(BLOCK, dtype="float32", always_2d=True)):
                total += block
                if total > cap:  # the header said less than there is
                    raise _too_long(None, max_seconds)
                blocks.append(chunk.mean(axis=1, dtype=np.float32))
        except ApiError:
            raise
        except Exception:
            raise _not_audio() from None
    audio = Audio(np.concatenate(blocks) if blocks else np.zeros(0, np.float32), rate)
    if audio.duration < min_seconds:
        raise bad_request(f"the uploaded audio is {audio.duration:.2f} s long: a voice needs at least "
                          f"{min_seconds:g} s", "file", "invalid_audio")
    return audio


def _not_audio() -> ApiError:
    return bad_request("the uploaded file is not audio this server can decode (use WAV, FLAC, OGG or MP3)", "file",
                       "invalid_audio")


def _too_long(seconds: float | None, limit: float) -> ApiError:
    said = f"{seconds:.1f} s long" if seconds is not None else "longer than its header says"
    return too_large(f"the uploaded audio is {said}: the limit is {limit:g} s", "file")
