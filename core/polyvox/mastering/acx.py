"""ACX's audio requirements (Audible's audiobook submission rules), checked per chapter of a
finished file: RMS between -23 and -18 dB, peaks at most -3 dB, a noise floor at most -60 dB,
and room tone (0.5 to 1 s at the head, 1 to 5 s at the tail).

RMS is over the whole chapter as ACX measures it; the noise floor is the RMS of the quietest
half second (silence that is digital zero counts as -inf: it passes here, though a listener at
ACX hears it as edited; `--acx` renders lay a -70 dB room tone under it). Room tone is how long
the chapter stays below -50 dB at its start and end (sample peaks over 5 ms windows)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from polyvox.audio import Audio

RMS_RANGE = (-23.0, -18.0)
PEAK_MAX = -3.0
NOISE_MAX = -60.0
HEAD = (0.5, 1.0)
TAIL = (1.0, 5.0)
_QUIET_DB = -50.0
_WINDOW = 0.005


def _db(value: float) -> float:
    return 20 * math.log10(value) if value > 0 else float("-inf")


@attrs.frozen
class ChapterCheck:
    title: str
    start: float
    rms: float
    peak: float
    noise_floor: float
    head: float
    tail: float

    @property
    def flags(self) -> tuple[str, ...]:
        out = []
        if not RMS_RANGE[0] <= self.rms <= RMS_RANGE[1]:
            out.append(f"rms {self.rms:.1f} dB")
        if self.peak > PEAK_MAX:
            out.append(f"peak {self.peak:.1f} dB")
        if self.noise_floor > NOISE_MAX:
            out.append(f"noise floor {self.noise_floor:.1f} dB")
        if not HEAD[0] <= round(self.head, 2) <= HEAD[1]:
            out.append(f"head room tone {self.head:.2f} s")
        if not TAIL[0] <= round(self.tail, 2) <= TAIL[1]:
            out.append(f"tail room tone {self.tail:.2f} s")
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return round(x, 2) if math.isfinite(x) else None

        return {"title": self.title, "start": round(self.start, 3), "rms": num(self.rms), "peak": num(self.peak),
                "noise_floor": num(self.noise_floor), "head": round(self.head, 3), "tail": round(self.tail, 3),
                "flags": list(self.flags), "passed": not self.flags}


def check_chapter(samples: np.ndarray, rate: int, title: str = "", start: float = 0.0) -> ChapterCheck:
    samples = np.asarray(samples, dtype=np.float64)
    rms = _db(float(np.sqrt(np.mean(samples ** 2)))) if len(samples) else float("-inf")
    peak = _db(float(np.max(np.abs(samples), initial=0.0)))
    half = max(1, rate // 2)
    if len(samples) >= half:
        frames = samples[: len(samples) // half * half].reshape(-1, half)
        noise = _db(float(np.sqrt((frames ** 2).mean(axis=1)).min()))
    else:
        noise = rms
    window = max(1, round(_WINDOW * rate))
    usable = len(samples) // window * window
    loud = np.abs(samples[:usable]).reshape(-1, window).max(axis=1) > 10 ** (_QUIET_DB / 20) if usable else []
    if len(loud) and np.any(loud):
        head = int(np.argmax(loud)) * window / rate
        tail = (len(samples) - (len(loud) - int(np.argmax(loud[::-1]))) * window) / rate
    else:
        head = tail = len(samples) / rate
    return ChapterCheck(title, start, rms, peak, noise, head, tail)


def check_acx(path: str | Path) -> list[ChapterCheck]:
    """Every chapter of the file at `path` (the whole file if it has no chapter marks) checked."""
    from polyvox.containers.reading import read_chapters

    audio = Audio.read(path)
    marks = read_chapters(path, audio.duration)
    rate = audio.sample_rate
    return [check_chapter(audio.samples[round(m.start * rate): round(m.end * rate)], rate, m.title, m.start)
            for m in marks]
