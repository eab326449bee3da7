"""Per-voice conditioning: computed from the reference audio once per (model, voice content,
exaggeration) by the kernel's `prepare_voice` hook, and handed to every synthesis call.

Upstream keeps the conditioning on the shared model (``model.conds``) and replaces it whenever
a call names another reference: interleaved voices then speak with each other's conditioning.
Here it is a new object per voice, never stored on the model, and never mutated by a call.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from polyvox import Audio, Voice, VoiceError

from .loader import Model

#: Upstream's reference lengths: 6 s at 16 kHz for T3's speech prompt (Turbo: 15 s), 10 s at
#: 24 kHz for S3Gen.
ENC_COND_SECONDS = 6
TURBO_ENC_COND_SECONDS = 15
DEC_COND_SECONDS = 10
#: Below this the speaker encoders have too little to work with; Turbo refuses 5 s or less.
MIN_REFERENCE_SECONDS = 0.5
TURBO_MIN_REFERENCE_SECONDS = 5.0
#: Turbo normalises the reference's loudness first (upstream's default).
TURBO_LUFS = -27.0


def prepare(model: Model, voice: Voice, exaggeration: float) -> Any:
    """Upstream's `Conditionals` for `voice` (reference audio, or the model's built-in voice)."""
    import torch

    if voice.audio is None:
        if model.builtin is None:
            raise VoiceError(f"voice {voice.name!r} has no reference audio and the ChatterBox {model.name} model has "
                             f"no built-in voice (conds.pt) in {model.directory}")
        return with_exaggeration(model.builtin, exaggeration, model.device)
    reference = Audio.read(voice.audio)
    shortest = TURBO_MIN_REFERENCE_SECONDS if model.turbo else MIN_REFERENCE_SECONDS
    if reference.duration < shortest or (model.turbo and reference.duration <= shortest):
        raise VoiceError(f"voice {voice.name!r}: reference audio is {reference.duration:.2f} s long; "
                         f"ChatterBox {model.name} needs {'more than' if model.turbo else 'at least'} {shortest:g} s "
                         f"(5-10 s works best)")
    with torch.inference_mode():
        return _from_reference(model, reference, exaggeration)


def _from_reference(model: Model, reference: Audio, exaggeration: float) -> Any:
    import torch
    from chatterbox.models.t3.modules.cond_enc import T3Cond
    from chatterbox.tts import Conditionals

    wav24 = reference.resample(24000)
    if model.turbo:
        wav24 = _loudness_normalized(wav24)
    wav16 = wav24.resample(16000).samples
    gen = model.s3gen.embed_ref(wav24.samples[: DEC_COND_SECONDS * 24000].copy(), 24000, device=model.device)
    prompt = None
    if plen := model.t3.hp.speech_cond_prompt_len:
        seconds = TURBO_ENC_COND_SECONDS if model.turbo else ENC_COND_SECONDS
        prompt, _ = model.s3gen.tokenizer.forward([wav16[: seconds * 16000].copy()], max_len=plen)
        prompt = torch.atleast_2d(prompt).to(model.device)
    embeds = model.ve.embeds_from_wavs([wav16.copy()], sample_rate=16000)
    speaker = torch.from_numpy(embeds).mean(axis=0, keepdim=True).to(model.device)
    t3 = T3Cond(speaker_emb=speaker, cond_prompt_speech_tokens=prompt,
                emotion_adv=exaggeration * torch.ones(1, 1, 1)).to(device=model.device)
    return Conditionals(t3, gen)


def _loudness_normalized(audio: Audio) -> Audio:
    """`audio` at Turbo's reference loudness; unchanged where loudness cannot be measured."""
    import math

    import pyloudnorm

    try:
        loudness = pyloudnorm.Meter(audio.sample_rate).integrated_loudness(audio.samples)
    except ValueError:  # shorter than one measuring block
        return audio
    gain = 10.0 ** ((TURBO_LUFS - loudness) / 20.0)
    if not (math.isfinite(gain) and gain > 0):
        return audio
    return Audio(audio.samples * gain, audio.sample_rate)


def with_exaggeration(conds: Any, exaggeration: float, device: str) -> Any:
    """A new `Conditionals` sharing `conds`' tensors, with its own exaggeration."""
    import torch
    from chatterbox.tts import Conditionals

    t3 = dataclasses.replace(conds.t3, cond_prompt_speech_emb=None,
                             emotion_adv=(exaggeration * torch.ones(1, 1, 1)).to(device))
    return Conditionals(t3, dict(conds.gen))


def for_call(conds: Any) -> Any:
    """A shallow copy for one call: upstream writes into the objects it is given (T3 caches
    the prompt embedding on the `T3Cond`, S3Gen re-casts the reference dict in place)."""
    from chatterbox.tts import Conditionals

    return Conditionals(dataclasses.replace(conds.t3, cond_prompt_speech_emb=None), dict(conds.gen))
