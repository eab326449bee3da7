"""The book encoder (polyvox.containers.encoding): FFmpeg's AAC encoder runs in a thread of its
own beside the writer (a render goes on with its next segments meanwhile), at most `AHEAD`
chunks behind, and an error there reaches the writer as one line with nothing left behind."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import polyvox

av = pytest.importorskip("av")

RATE = 22050


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def test_the_encoder_runs_beside_the_writer_and_keeps_every_sample(tmp_path, monkeypatch):
    from polyvox.containers import encoding

    threads, queued = set(), []
    real = encoding.AVFile._encode_all

    def spy(self):
        threads.add(threading.current_thread().name)
        return real(self)

    monkeypatch.setattr(encoding.AVFile, "_encode_all", spy)
    path = tmp_path / "out.m4b"
    buffer = np.empty(RATE // 2, np.float32)
    with polyvox.AudioWriter(path, RATE) as out:
        for _ in range(40):
            buffer[:] = _tone(0.5)
            out.write_samples(buffer)
            queued.append(out._file._queue.qsize())
            buffer[:] = 0.0  # the caller's buffer reused at once: what was written must not change
    assert threads == {"polyvox-encoder"} and threading.current_thread().name not in threads
    assert max(queued) <= encoding.AHEAD
    decoded = polyvox.Audio.read(path)
    assert abs(decoded.duration - 20.0) < 0.1
    # the tone throughout (RMS 0.141), not the zeros the buffer held next
    assert float(np.sqrt(np.mean(decoded.samples.astype(np.float64) ** 2))) > 0.13


@pytest.mark.timeout(60, method="thread")  # a writer left waiting on a dead encoder fails the run
def test_an_encoding_error_is_one_line_and_leaves_no_file(tmp_path, monkeypatch):
    from polyvox.containers import encoding

    def broken(self, frame):
        time.sleep(0.3)  # slow, so the writer has filled the queue and waits on it when this fails
        raise OSError(22, "Invalid argument")  # as PyAV reports an FFmpeg error (its errors are OSErrors)

    path = tmp_path / "out.m4b"
    with pytest.raises(polyvox.PolyvoxError, match="cannot write audio to .*out.m4b") as caught:
        with polyvox.AudioWriter(path, RATE) as out:
            monkeypatch.setattr(type(out._file._stream), "encode", broken)
            for _ in range(2 * encoding.AHEAD + 4):  # more than the queue holds: the writer never hangs
                out.write(polyvox.Audio(_tone(0.1), RATE))
    assert "\n" not in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
