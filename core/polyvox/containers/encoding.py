"""Encoding to a file as the samples come, with FFmpeg's encoders through PyAV: AAC in MP4
(``m4b``, ``m4a``) and Opus in Ogg (``opus``). The encoder runs in a thread of its own, so a
render goes on with its next segments while the last ones are encoded (FFmpeg's calls run
without Python's lock, which PyAV takes back for each packet: while the render's thread runs
Python the encoder waits, so the overlap is partial; docs/benchmarks.md); it is at most `AHEAD`
chunks behind, so memory holds those and one codec frame, whatever the length.

An MP4 is written in two passes: the audio as it comes, as an ADTS stream beside it (no index:
memory stays flat however long), then (at `close`, once the chapters are known) its packets
copied, not re-encoded, into the final file with the chapter marks (a QuickTime chapter track
and Nero ``chpl``, which Apple Books, VLC and FFmpeg read) and the index at the front
(``faststart``) so players start before the whole file is read. That index (a few bytes per
1024 samples; FFmpeg's muxer holds it until the end) is the only memory that grows with length."""

from __future__ import annotations

import contextlib
import queue
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

#: format -> (FFmpeg muxer, encoder, codec sample rate or None for the input's); MP4s are
#: encoded to ADTS first (see above).
CODECS = {"m4b": ("ipod", "aac", None), "m4a": ("ipod", "aac", None), "opus": ("ogg", "libopus", 48000)}
#: Bits per second for mono speech (the encoders' own defaults are as low as 24 kbps).
BIT_RATE = 64000
#: FFmpeg's AAC encoder with its fast coder: 2 to 6 times quicker than the default "twoloop"
#: (on a formant synthesizer's steady tones, 6), no difference one hears in speech at 64 kbps.
_OPTIONS = {"aac": {"aac_coder": "fast"}}


#: Chunks (a segment's audio each, about) the encoder thread may be behind the writer.
AHEAD = 4


class AVFile:
    """`write(samples)` float32 mono at `rate`; `close(chapters)` finishes the file (an
    object like soundfile's, for `polyvox.audiofile.SampleWriter`). An encoding error is
    raised by the next `write` or by `close`."""

    def __init__(self, path: Path, rate: int, format: str):
        from polyvox.books import needs

        av = needs("av", f"writing {format}")

        muxer, codec, codec_rate = CODECS[format]
        self.path = path
        self.rate = rate
        self.muxer = muxer
        self._stage = path.with_name(path.name + ".aac") if muxer == "ipod" else path
        self._container = av.open(str(self._stage), "w", format="adts" if muxer == "ipod" else muxer)
        self._stream = self._container.add_stream(codec, rate=codec_rate or rate, layout="mono",
                                                  options=_OPTIONS.get(codec, {}))
        self._stream.bit_rate = BIT_RATE
        self._pts = 0
        #: Where the encoder's first packet starts, in seconds: before 0 by the encoder's priming
        #: (FFmpeg's AAC: 1024 samples), which ADTS has no field for (`_to_mp4` puts it back).
        self._start: Fraction | None = None
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=AHEAD)
        self._failed: BaseException | None = None
        self._aborted = False
        self._worker = threading.Thread(target=self._encode_all, name="polyvox-encoder", daemon=True)
        self._worker.start()

    def write(self, samples: np.ndarray) -> None:
        self._raise_failure()
        # a copy: the caller may reuse its buffer while this waits to be encoded
        self._put(np.array(samples, dtype=np.float32))
        self._raise_failure()

    def close(self, chapters: Any = ()) -> None:
        """Flush the encoder and finish the file; an MP4 gets `chapters` (title, start, end in
        seconds) and its index at the front."""
        self._put(None)
        self._worker.join()
        try:
            self._raise_failure()
            self._mux(self._stream.encode(None))
        finally:
            self._container.close()
        if self.muxer == "ipod":
            try:
                _to_mp4(self._stage, self.path, list(chapters), -(self._start or Fraction(0)),
                        Fraction(self._pts, self.rate))
            finally:
                _unlink(self._stage)

    def abort(self) -> None:
        self._aborted = True  # what is still queued is not encoded
        self._put(None)
        self._worker.join()
        with contextlib.suppress(Exception):
            self._container.close()
        if self._stage != self.path:
            _unlink(self._stage)

    # -- the encoder thread ---------------------------------------------------------------------
    def _encode_all(self) -> None:
        """Encode and mux each chunk as it comes, until None or an abort; a failure is kept for
        the writer's thread and ends the thread (the writer then waits on it no more)."""
        import av

        while (samples := self._queue.get()) is not None and not self._aborted:
            try:
                frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
                frame.sample_rate = self.rate
                frame.pts = self._pts
                self._pts += len(samples)
                self._mux(self._stream.encode(frame))
            except BaseException as exc:  # noqa: BLE001 - handed to the writer's thread
                self._failed = exc
                return

    def _mux(self, packets: Any) -> None:
        for packet in packets:
            if self._start is None and packet.pts is not None:
                self._start = packet.pts * packet.time_base
            self._container.mux(packet)

    def _put(self, item: np.ndarray | None) -> None:
        """Queue `item` for the encoder thread, waiting while it is `AHEAD` chunks behind; never
        for a thread that has stopped (it takes no more)."""
        while self._worker.is_alive():
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _raise_failure(self) -> None:
        if self._failed is not None:
            raise self._failed


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _to_mp4(stream: Path, path: Path, chapters: list[Any], priming: Fraction, end: Fraction) -> None:
    """Copy the ADTS `stream`'s packets into an MP4 at `path` with `chapters` and faststart
    (FFmpeg's muxer turns ADTS headers into the MP4's own codec description by itself).

    ADTS keeps no times: its packets are read from 0. Each is moved `priming` seconds earlier
    (the encoder's delay: the muxer writes an edit list that skips it, so the audio starts where
    the WAV's does, not 46 ms late), and the last one ends at `end` (its padding is no audio)."""
    import av

    # an audiobook says so in its file type ("M4B "; FFmpeg's ipod muxer writes "M4A " for both)
    options = {"movflags": "+faststart", **({"brand": "M4B "} if path.suffix.lower() == ".m4b" else {})}
    with av.open(str(stream)) as source, av.open(str(path), "w", format="ipod", options=options) as target:
        audio = source.streams.audio[0]
        copy = target.add_stream_from_template(audio)
        if chapters:
            target.set_chapters([{"id": n, "start": round(c.start * 1000), "end": round(c.end * 1000),
                                  "time_base": Fraction(1, 1000), "metadata": {"title": c.title}}
                                 for n, c in enumerate(chapters, 1)])
        held = None  # one packet behind: the last one's duration is set before it is written
        shift = round(priming / audio.time_base)
        for packet in source.demux(audio):
            if packet.dts is None:  # the demuxer's end-of-stream marker
                continue
            packet.pts -= shift
            packet.dts -= shift
            packet.stream = copy
            if held is not None:
                target.mux(held)
            held = packet
        if held is not None:
            held.duration = max(1, round(end / held.time_base) - held.pts)
            target.mux(held)
