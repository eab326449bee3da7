"""Audio chunks to the bytes of a response format, as they come: each `feed` returns the bytes
that are ready, so a streamed response starts after the first segment.

``wav`` and ``pcm`` go through the kernel's `AudioWriter` (a WAV header with the "unknown
length" sizes streaming readers accept, then 16-bit samples). ``mp3``, ``opus`` (in Ogg, pages
flushed every 100 ms) and ``aac`` (ADTS) are encoded by FFmpeg's encoders through PyAV, which
buffer to their frame sizes and resample to the rates their codecs need (Opus: 48 kHz).
``flac`` is encoded whole at the end (by soundfile, through `AudioWriter`): a FLAC stream's
header holds its length, and libsndfile-based readers refuse the "unknown length" form.

Text with nothing to say (punctuation only, for Piper) gives no samples. WAV and PCM say so
exactly (a header alone, an empty body), but an MP3, Ogg, ADTS or FLAC stream without one frame
is no file at all and players refuse it: those get a few milliseconds of silence instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from polyvox import Audio, AudioWriter

#: response_format -> (container, codec, codec sample rate or None for the engine's).
_AV = {
    "mp3": ("mp3", "libmp3lame", None),
    "opus": ("ogg", "libopus", 48000),
    "aac": ("adts", "aac", None),
}
#: Samples of the encoder's delay that a decoder plays before the audio, where the stream has no
#: header to say how many to skip (a streamed MP3 has no LAME tag; ADTS has no field for it):
#: LAME's 576 and the MP3 decoder's 529; FFmpeg's AAC priming. Ogg Opus carries its pre-skip.
_LEAD_SAMPLES = {"mp3": 576 + 529, "aac": 1024}
#: Muxer options: Ogg pages are flushed after 100 ms of audio instead of one second.
_OPTIONS = {"ogg": {"page_duration": "100000"}}
#: Seconds of silence that stand for "nothing to say" where a stream cannot be empty (the same
#: stand-in `AudioWriter` writes for FLAC).
_EMPTY_SECONDS = 0.02


class _Sink:
    """A write-only, non-seekable byte sink that is drained after every chunk."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: Any) -> int:
        self.data += bytes(data)
        return len(data)

    def flush(self) -> None:
        pass

    def seekable(self) -> bool:
        return False

    def take(self) -> bytes:
        out = bytes(self.data)
        self.data.clear()
        return out


def delay_of(format: str, sample_rate: int) -> float:
    """Seconds a decoder plays before the audio of a `format` answer at `sample_rate`: word and
    segment times are moved by it, so they are in seconds of the audio as it is heard."""
    return _LEAD_SAMPLES.get(format, 0) / sample_rate


class Encoder:
    """`feed(audio)` -> bytes ready now; `finish()` -> the rest. One per response."""

    def __init__(self, format: str, sample_rate: int):
        self.format = format
        self.sample_rate = sample_rate
        self._sink = _Sink()
        self._writer: AudioWriter | None = None
        self._container: Any = None
        self._stream: Any = None
        self._pts = 0
        self._samples = 0
        if format in ("wav", "pcm", "flac"):
            self._writer = AudioWriter(self._sink, sample_rate, format)
            return
        import av

        container, codec, rate = _AV[format]
        self._container = av.open(self._sink, "w", format=container, options=_OPTIONS.get(container, {}))
        self._stream = self._container.add_stream(codec, rate=rate or sample_rate, layout="mono")
        if format in ("mp3", "aac"):
            self._stream.bit_rate = 64000  # the encoders' defaults for mono speech are as low as 24 kbps

    def feed(self, audio: Audio) -> bytes:
        audio = audio.resample(self.sample_rate)
        if not len(audio):
            return b""
        self._samples += len(audio)
        if self._writer is not None:
            self._writer.write(audio)
            return self._sink.take()
        import av

        frame = av.AudioFrame.from_ndarray(np.asarray(audio.samples, dtype=np.float32)[None, :], format="flt",
                                           layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = self._pts
        self._pts += len(audio)
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        return self._sink.take()

    def finish(self) -> bytes:
        if not self._samples and self._writer is None:  # (the writer does the same for FLAC)
            self.feed(Audio(np.zeros(max(1, round(self.sample_rate * _EMPTY_SECONDS)), np.float32), self.sample_rate))
        if self._writer is not None:
            self._writer.close()
        else:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            self._container.close()
        return self._sink.take()

    def abort(self) -> None:
        """Free the encoder of a response that will not be finished (client gone, error)."""
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # noqa: BLE001 (nothing to report to a client that has gone)
                pass
