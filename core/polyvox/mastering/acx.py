"""ACX's audio requirements (Audible's audiobook submission rules), checked per chapter of a
finished file: RMS between -23 and -18 dB, peaks at most -3 dB, a noise floor at most -60 dB,
and room tone (0.5 to 1 s at the head, 1 to 5 s at the tail); an MP3 (what ACX takes) at
192 kbps or more, constant bit rate, 44.1 kHz.

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
    #: What ACX would refuse of the file itself (an MP3's bit rate, mode, sample rate), or "".
    delivery: str = ""

    @property
    def flags(self) -> tuple[str, ...]:
        out = [self.delivery] if self.delivery else []
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


#: Half seconds measured at a time (10 s): no temporary the size of a chapter (a 2-hour book in
#: float64, squared, took 3 GB).
_BLOCK_HALVES = 20


def check_chapter(samples: np.ndarray, rate: int, title: str = "", start: float = 0.0) -> ChapterCheck:
    samples = np.asarray(samples)
    half = max(1, rate // 2)
    window = max(1, round(_WINDOW * rate))
    quiet = 10 ** (_QUIET_DB / 20)
    total, peak, noise = 0.0, 0.0, math.inf
    first_loud = last_loud = None  # sample offsets of the first and last loud 5 ms window
    usable = len(samples) // window * window
    base = math.lcm(half, window)  # blocks hold whole half seconds and whole 5 ms windows
    step = max(1, _BLOCK_HALVES * half // base) * base
    for at in range(0, len(samples), step):
        block = np.asarray(samples[at: at + step], dtype=np.float64)
        total += float(np.dot(block, block))
        peak = max(peak, float(np.max(np.abs(block), initial=0.0)))
        whole = len(block) // half * half  # half-second frames (a chapter's last part frame is left out)
        if whole and at + whole <= len(samples) // half * half:
            frames = block[:whole].reshape(-1, half)
            noise = min(noise, float(np.sqrt(np.einsum("ij,ij->i", frames, frames) / half).min()))
        end = min(len(block), usable - at)
        if end > 0:
            loud = np.flatnonzero(np.abs(block[: end // window * window]).reshape(-1, window).max(axis=1) > quiet)
            if len(loud):
                first_loud = at + int(loud[0]) * window if first_loud is None else first_loud
                last_loud = at + (int(loud[-1]) + 1) * window
    rms = _db(math.sqrt(total / len(samples))) if len(samples) else float("-inf")
    noise_floor = _db(noise) if len(samples) >= half else rms
    if first_loud is not None and last_loud is not None:
        head, tail = first_loud / rate, (len(samples) - last_loud) / rate
    else:
        head = tail = len(samples) / rate
    return ChapterCheck(title, start, rms, _db(peak), noise_floor, head, tail)


def check_acx(path: str | Path) -> list[ChapterCheck]:
    """Every chapter of the file at `path` (the whole file if it has no chapter marks) checked."""
    from polyvox.containers.reading import read_chapters

    audio = Audio.read(path)
    marks = read_chapters(path, audio.duration)
    rate = audio.sample_rate
    delivery = _mp3_delivery(Path(path)) if Path(path).suffix.lower() == ".mp3" else ""
    return [attrs.evolve(check_chapter(audio.samples[round(m.start * rate): round(m.end * rate)], rate, m.title,
                                       m.start), delivery=delivery) for m in marks]


#: What ACX takes: MP3 at this many bits a second or more, constant, at this sample rate.
MP3_BITRATE = 192_000
MP3_RATE = 44_100


def _mp3_delivery(path: Path) -> str:
    """What ACX would refuse of an MP3 file's encoding, or ""."""
    from mutagen.mp3 import MP3, BitrateMode

    info = MP3(path).info
    wrong = []
    if info.bitrate < MP3_BITRATE - 1000:  # LAME's CBR reads 191998
        wrong.append(f"{round(info.bitrate / 1000)} kbps")
    if info.bitrate_mode not in (BitrateMode.CBR, BitrateMode.UNKNOWN):
        wrong.append("a variable bit rate")
    if info.sample_rate != MP3_RATE:
        wrong.append(f"{info.sample_rate} Hz")
    return (f"mp3 at {', '.join(wrong)}: ACX takes {MP3_BITRATE // 1000} kbps or more, constant, at "
            f"{MP3_RATE} Hz (render with --acx)") if wrong else ""
