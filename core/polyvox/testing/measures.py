"""Measures of real speech for engine tests: is it speech of a plausible length and level,
and do two voices sound different (their pitch and the brightness of their spectrum)."""

from __future__ import annotations

import numpy as np

from polyvox import Audio


def median_pitch(audio: Audio) -> float:
    """Median fundamental (autocorrelation, 70-400 Hz) over the voiced 40 ms frames."""
    rate, n = audio.sample_rate, audio.sample_rate // 25
    frames = audio.samples[: len(audio) // n * n].reshape(-1, n).astype(np.float64)
    energy = np.sqrt(np.mean(frames**2, axis=1))
    lo, hi = rate // 400, rate // 70
    pitches = []
    for frame in frames[energy > 0.3 * energy.max()]:
        frame = frame - frame.mean()
        corr = np.correlate(frame, frame, "full")[n - 1:]
        lag = lo + int(np.argmax(corr[lo:hi]))
        if corr[lag] > 0.3 * corr[0]:  # clearly periodic: a voiced frame
            pitches.append(rate / lag)
    assert len(pitches) >= 5, "too few voiced frames to measure a pitch"
    return float(np.median(pitches))


def spectral_centroid(audio: Audio) -> float:
    """The power-weighted mean frequency (Hz) of the loud frames, at 16 kHz."""
    samples = audio.resample(16000).samples.astype(np.float64)
    n = 512
    frames = samples[: len(samples) // n * n].reshape(-1, n)
    energy = np.sqrt(np.mean(frames**2, axis=1))
    loud = frames[energy > 0.3 * energy.max()] * np.hanning(n)
    power = np.abs(np.fft.rfft(loud, axis=1)) ** 2
    freqs = np.fft.rfftfreq(n, 1 / 16000)
    return float((power * freqs).sum() / power.sum())


def assert_speech(audio: Audio, text: str, rate: int) -> None:
    """A sentence's worth of speech: 40-250 ms per word (0.25-1.5 s per 3 words), a level
    people would hear (RMS 0.02-0.5), nothing clipped, nothing but finite samples."""
    words = len(text.split())
    assert audio.sample_rate == rate
    assert np.isfinite(audio.samples).all()
    assert 0.08 * words <= audio.duration <= 0.5 * words + 1.0, f"{audio.duration:.2f} s for {words} words"
    rms = float(np.sqrt(np.mean(audio.samples.astype(np.float64) ** 2)))
    assert 0.02 <= rms <= 0.5, f"RMS {rms:.4f}"
    assert float(np.abs(audio.samples).max()) <= 1.0


def energy_onsets(samples: np.ndarray, rate: int, quiet_s: float, floor_db: float = -30.0) -> list[float]:
    """Seconds where 5 ms frames louder than `floor_db` under the peak begin after at least
    `quiet_s` of quieter ones: where words start after pauses, measured from the audio alone
    (independent of `polyvox.words.energy`), to check an engine's word times against."""
    hop = rate // 200
    frames = samples[: len(samples) // hop * hop].reshape(-1, hop).astype(np.float64)
    loud = np.sqrt((frames**2).mean(axis=1)) > np.abs(samples).max() * 10 ** (floor_db / 20)
    out, quiet = [], 10**9
    for i, on in enumerate(loud):
        if on and quiet >= quiet_s * 200:
            out.append(i * hop / rate)
        quiet = 0 if on else quiet + 1
    return out
