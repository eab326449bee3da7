"""Voice conditioning: the reference audio and its transcript, prepared once per voice and model.

Upstream's `preprocess_ref_audio_text` does this per call (and may download Whisper to
transcribe, writes temporary WAVs it never deletes, and memoizes them in a module-global
dict). Here the kernel calls `prepare` once per (model, voice content, target_rms) and caches
the result beside the model; nothing touches the network or the disk.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from polyvox import Audio, Voice
from polyvox.errors import VoiceError

SAMPLE_RATE = 24000
HOP_LENGTH = 256
#: Upstream clips references to 12 s: longer prompts leave too little of the ~30 s window.
MAX_REFERENCE_SECONDS = 12.0
#: Prefer a cut at a pause after this much speech.
MIN_CUT_SECONDS = 6.0
_FRAME = 240  # 10 ms at 24 kHz
_EDGE_DB = -42.0  # silence at the edges (upstream's threshold)
#: Pauses to cut a long reference at, preferred first: (level in dBFS, frames of 10 ms).
_PAUSES = ((-45.0, 30), (-40.0, 10))
_TAIL_SECONDS = 0.05  # a little silence after the reference, as upstream adds


@attrs.frozen(eq=False)
class Conditioning:
    """A prepared voice: its mel frames on the model's device and what the sampler needs with them."""

    #: (1, frames, n_mels) tensor on the model's device.
    mel: Any
    frames: int
    #: The transcript, ending in a sentence mark and (for alphabetic scripts) a space.
    text: str
    #: Loudness of the reference before normalisation; outputs are scaled back to it.
    rms: float
    target_rms: float
    seconds: float
    trimmed: bool

    @property
    def text_bytes(self) -> int:
        return max(1, len(self.text.encode("utf-8")))


def reference_text(text: str | None, voice_name: str) -> str:
    """The transcript as the model was trained to see it; a `VoiceError` when there is none."""
    cleaned = " ".join((text or "").split())
    if not cleaned:
        raise VoiceError(
            f"voice {voice_name!r} has no reference_text: F5-TTS needs the transcript of its reference audio "
            "(polyvox never runs speech recognition, which would download a Whisper model)")
    if not cleaned.endswith((".", "!", "?", "。", "！", "？")):
        cleaned += "."
    if len(cleaned[-1].encode("utf-8")) == 1:
        cleaned += " "
    return cleaned


def _frame_db(samples: np.ndarray) -> np.ndarray:
    n = len(samples) // _FRAME
    if n == 0:
        return np.full(1, -120.0)
    frames = samples[: n * _FRAME].reshape(n, _FRAME)
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-6))


def _strip_edges(samples: np.ndarray) -> np.ndarray:
    loud = np.nonzero(_frame_db(samples) > _EDGE_DB)[0]
    if len(loud) == 0:
        return samples
    return samples[loud[0] * _FRAME : (loud[-1] + 1) * _FRAME]


def _last_pause(db: np.ndarray, threshold: float, min_frames: int, lower: int) -> int | None:
    """The middle of the last pause (`min_frames` below `threshold`) that ends after frame `lower`."""
    best = None
    run = 0
    for i, level in enumerate(db):
        run = run + 1 if level < threshold else 0
        if run >= min_frames and i - run // 2 >= lower:
            best = i - run // 2
    return best


def _cut_point(samples: np.ndarray) -> int:
    """Where to end a reference that is too long: in a long pause if there is one between 6 and 12 s,
    else in a short one, else at 12 s."""
    limit = int(MAX_REFERENCE_SECONDS * SAMPLE_RATE) // _FRAME
    lower = int(MIN_CUT_SECONDS * SAMPLE_RATE) // _FRAME
    db = _frame_db(samples)[: limit + 1]
    for threshold, min_frames in _PAUSES:
        found = _last_pause(db, threshold, min_frames, lower)
        if found is not None:
            return found * _FRAME
    return limit * _FRAME


def trim(samples: np.ndarray) -> tuple[np.ndarray, bool]:
    """Edges stripped, cut at a pause when longer than the model handles well; (samples, was_cut)."""
    samples = _strip_edges(samples)
    cut = len(samples) > MAX_REFERENCE_SECONDS * SAMPLE_RATE
    if cut:
        samples = _strip_edges(samples[: _cut_point(samples)])
    tail = np.zeros(int(_TAIL_SECONDS * SAMPLE_RATE), np.float32)
    return np.concatenate([samples.astype(np.float32), tail]), cut


def reference(voice: Voice) -> tuple[Audio, str]:
    """The voice's reference audio and transcript; a `VoiceError` for a voice without audio."""
    if voice.audio is None:
        raise VoiceError(f"voice {voice.name!r} has no reference audio: F5-TTS clones a voice from a few "
                         "seconds of speech (a WAV/FLAC file) and its transcript")
    return Audio.read(voice.audio), voice.reference_text or ""


def prepare(model: Any, voice: Voice, target_rms: float) -> Conditioning:
    """Load, trim, resample and loudness-normalise the reference, and compute its mel frames."""
    import torch

    audio, text = reference(voice)
    text = reference_text(text, voice.name)
    samples, trimmed = trim(audio.resample(SAMPLE_RATE).samples)
    if len(samples) < HOP_LENGTH * 4:
        raise VoiceError(f"voice {voice.name!r}: reference audio is silent or too short")
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    if 0 < rms < target_rms:
        samples = samples * (target_rms / rms)
    wave = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)).unsqueeze(0).to(model.device)
    with torch.inference_mode():
        mel = model.mel_spec(wave).permute(0, 2, 1).contiguous()
    return Conditioning(mel=mel, frames=int(mel.shape[1]), text=text, rms=rms, target_rms=target_rms,
                        seconds=len(samples) / SAMPLE_RATE, trimmed=trimmed)
