"""Voice conditioning: the reference audio and its transcript, prepared once per voice and model.

Everything here reproduces what f5-tts 1.1.22 (as 1.1.20) feeds its sampler (`preprocess_ref_audio_text`,
`infer_process` and `infer_batch_process` in `f5_tts.infer.utils_infer`), in the same order:
the transcript's ending, the clipped reference (`clipping`), loudness raised to `target_rms` at
the file's own rate and only then torchaudio's resampler to 24 kHz. What upstream does on the
side is left out: it may download Whisper to transcribe, writes temporary WAVs it never
deletes, and memoizes them in module globals. Here the kernel calls `prepare` once per (model,
voice content, target_rms) and caches the result beside the model; nothing touches the network
or the disk.
"""

from __future__ import annotations

from typing import Any

import attrs

from polyvox import Voice
from polyvox.errors import VoiceError

from . import clipping

SAMPLE_RATE = 24000
HOP_LENGTH = 256
#: A reference with less speech than this (after clipping its silent edges) is refused.
MIN_SPEECH_SECONDS = 0.1


@attrs.frozen(eq=False)
class Conditioning:
    """A prepared voice: its mel frames on the model's device and what the sampler needs with them."""

    #: (1, mel frames, n_mels) tensor on the model's device: the mel upstream's sampler computes
    #: from the 24 kHz reference (one frame more than `frames`: the STFT is centred).
    mel: Any
    #: Reference frames as upstream counts them (24 kHz samples // hop): the length estimate
    #: uses them, and generated audio is cut there, so one reference frame is kept.
    frames: int
    #: The transcript as upstream's preprocessing leaves it ("today. "); its UTF-8 length sets
    #: how much new text fits beside the reference in one pass.
    text: str
    #: Loudness of the reference before normalisation (a float32 value) and whether it was below
    #: `target_rms`: a quiet reference is raised to it, and the output lowered back by rms / target_rms.
    rms: float
    target_rms: float
    quiet: bool
    #: Length of the clipped reference at its own sample rate, as upstream measures it.
    seconds: float
    #: True when speech past 12 s was dropped.
    trimmed: bool

    @property
    def prompt(self) -> str:
        """The transcript as the sampler sees it in front of the new text (`prompt_text`)."""
        return prompt_text(self.text)

    @property
    def mel_frames(self) -> int:
        return int(self.mel.shape[1])


def reference_text(text: str | None, voice_name: str) -> str:
    """The transcript as upstream's `preprocess_ref_audio_text` leaves it: ending in ". " unless it
    already does or ends in "。" ("today." -> "today. ", "Hi!" -> "Hi!. "); a `VoiceError` when
    there is none. Runs of whitespace become one space first (a difference from upstream: a
    transcript read from a file ends in a newline, which upstream would hand to the model)."""
    cleaned = " ".join((text or "").split())
    if not cleaned:
        raise VoiceError(
            f"voice {voice_name!r} has no reference_text: F5-TTS needs the transcript of its reference audio "
            "(polyvox never runs speech recognition, which would download a Whisper model)")
    if not cleaned.endswith("。"):
        cleaned += " " if cleaned.endswith(".") else ". "
    return cleaned


def prompt_text(text: str) -> str:
    """The prepared transcript with the space `infer_batch_process` adds after a one-byte last
    character ("today. " -> "today.  "); what precedes the new text in the model's input."""
    return text + " " if len(text[-1].encode("utf-8")) == 1 else text


def clipped(voice: Voice) -> tuple[Any, bool]:
    """The voice's reference audio decoded and clipped as upstream does (a pydub `AudioSegment`),
    and whether speech was dropped; a `VoiceError` for a voice without audio."""
    if voice.audio is None:
        raise VoiceError(f"voice {voice.name!r} has no reference audio: F5-TTS clones a voice from a few "
                         "seconds of speech (a WAV/FLAC file) and its transcript")
    return clipping.clip(clipping.read_pcm(voice.audio))


def conditioning_wave(segment: Any, target_rms: float, name: str = "") -> tuple[Any, Any, float]:
    """(wave, rms, seconds): the mono 24 kHz float32 tensor (1, samples) upstream hands its
    sampler, the loudness it measured (a 0-d tensor) and the clipped reference's length in seconds.

    Upstream's order: mix down, measure, raise a quiet reference to `target_rms` at the file's
    rate, then resample with torchaudio's `Resample` (sinc, Hann window)."""
    import torch
    import torchaudio

    rate = segment.frame_rate
    audio = torch.from_numpy(clipping.samples(segment))
    seconds = audio.shape[-1] / rate
    if seconds - clipping.TAIL_MS / 1000 < MIN_SPEECH_SECONDS:
        raise VoiceError(f"voice {name!r}: reference audio is silent or too short")
    if audio.shape[0] > 1:
        audio = torch.mean(audio, dim=0, keepdim=True)
    rms = torch.sqrt(torch.mean(torch.square(audio)))
    if rms < target_rms:
        audio = audio * target_rms / rms
    if rate != SAMPLE_RATE:
        audio = torchaudio.transforms.Resample(rate, SAMPLE_RATE)(audio)
    return audio, rms, seconds


def prepare(model: Any, voice: Voice, target_rms: float) -> Conditioning:
    """Transcript, clipped and normalised 24 kHz reference, and its mel frames on the model's device."""
    import torch

    text = reference_text(voice.reference_text, voice.name)
    segment, trimmed = clipped(voice)
    wave, rms, seconds = conditioning_wave(segment, target_rms, voice.name)
    with torch.inference_mode():
        mel = model.mel_spec(wave.to(model.device)).permute(0, 2, 1).contiguous()
    return Conditioning(mel=mel, frames=wave.shape[-1] // HOP_LENGTH, text=text, rms=float(rms),
                        target_rms=target_rms, quiet=bool(rms < target_rms), seconds=seconds, trimmed=trimmed)
