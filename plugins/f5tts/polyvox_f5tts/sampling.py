"""Synthesis: one `CFM.sample` call for several texts that share a voice, durations per item.

Upstream's `infer_batch_process` runs batch-1 calls in a thread pool; the sampler itself
takes a real batch (each item padded to the longest, noise drawn per item from the seed) and,
with the attention mask the loader switches on, gives each item what it would give alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from polyvox import Audio, Request

from .reference import HOP_LENGTH, SAMPLE_RATE, Conditioning

#: Upstream's budget: reference plus generated speech should stay under ~22 s.
WINDOW_SECONDS = 22.0
#: Texts shorter than this (in UTF-8 bytes) get upstream's slow-speed length estimate.
SHORT_TEXT_BYTES = 10
SHORT_TEXT_SPEED = 0.3


@attrs.frozen
class Item:
    """One chunk of one request's text, with the number of mel frames to generate (reference included)."""

    request: int
    text: str
    duration: int


def max_chars(cond: Conditioning, speed: float) -> int:
    """Upstream's chunk size (`infer_process`): the reference's transcript bytes per second times
    the seconds left in the window, times `speed`."""
    return int(len(cond.text.encode("utf-8")) / cond.seconds * (WINDOW_SECONDS - cond.seconds) * speed)


def chunks(text: str, cond: Conditioning, speed: float) -> list[str]:
    """The text split by upstream's `chunk_text` so that each piece fits the window beside this
    reference (upstream passes every text through it, so does this)."""
    from f5_tts.infer.utils_infer import chunk_text

    return chunk_text(text, max_chars=max_chars(cond, speed)) or [text]


def duration(text: str, cond: Conditioning, params: Mapping[str, Any]) -> int:
    """Total frames (reference + new speech) for `text`, as upstream's `infer_batch_process`
    estimates it: the reference's frames per UTF-8 byte of its prompt transcript, times the text's
    bytes, over `speed` (0.3 for texts under 10 bytes). `fix_duration` is the new speech's own
    length here (upstream counts the reference in it)."""
    if params.get("fix_duration") is not None:
        return cond.frames + max(1, int(params["fix_duration"] * SAMPLE_RATE / HOP_LENGTH))
    size = len(text.encode("utf-8"))
    speed = SHORT_TEXT_SPEED if size < SHORT_TEXT_BYTES else params["speed"]
    return cond.frames + int(cond.frames / len(cond.prompt.encode("utf-8")) * size / speed)


def fixed_durations(pieces: Sequence[str], cond: Conditioning, seconds: float, cross_fade: float) -> list[int]:
    """Total frames per pass when a text of several passes has a fixed length: f5-tts 1.1.22's
    split (`infer_process`). Each pass gets the reference plus a share of the speech by UTF-8
    bytes, the shares stretched by the crossfades that will overlap the passes, so the joined
    speech lasts `seconds` (1.1.20 gave every pass the whole length)."""
    reference = cond.frames * HOP_LENGTH / SAMPLE_RATE
    weights = [len(piece.encode("utf-8")) for piece in pieces]
    allocatable = seconds + cross_fade * (len(pieces) - 1)
    return [int((reference + allocatable * w / sum(weights)) * SAMPLE_RATE / HOP_LENGTH) for w in weights]


def _group_key(request: Request) -> tuple[Any, ...]:
    p = request.params
    return (request.seed, p["nfe_step"], p["cfg_strength"], p["sway_sampling_coef"])


def crossfade(parts: Sequence[np.ndarray], seconds: float) -> np.ndarray:
    """Pieces joined with upstream's linear crossfade of `seconds` (plain concatenation at 0)."""
    out = parts[0]
    for part in parts[1:]:
        n = min(int(seconds * SAMPLE_RATE), len(out), len(part))
        if n <= 0:
            out = np.concatenate([out, part])
            continue
        faded = out[-n:] * np.linspace(1, 0, n) + part[:n] * np.linspace(0, 1, n)
        out = np.concatenate([out[:-n], faded.astype(np.float32), part[n:]])
    return out


def _sample(loaded: Any, cond: Conditioning, items: list[Item], request: Request) -> list[np.ndarray]:
    """One sampler call for `items` (all sharing `request`'s seed and sampler settings); waves per item."""
    import torch
    from f5_tts.model.utils import convert_char_to_pinyin

    p = request.params
    model = loaded.model
    texts = convert_char_to_pinyin([cond.prompt + item.text for item in items])
    # The sampler never generates fewer frames than text tokens + 1 or reference + 1: ask for that.
    lengths = [max(item.duration, len(text) + 1, cond.mel_frames + 1)
               for item, text in zip(items, texts, strict=True)]
    durations = torch.tensor(lengths, dtype=torch.long, device=cond.mel.device)
    # `sample` seeds torch's global generator before each item's noise: fork it, so the caller's
    # random state is as it was and the noise depends on `request.seed` alone.
    devices = [cond.mel.device] if cond.mel.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.inference_mode():
        mel, _ = model.sample(
            cond=cond.mel.expand(len(items), -1, -1), text=texts, duration=durations, steps=p["nfe_step"],
            cfg_strength=p["cfg_strength"], sway_sampling_coef=p["sway_sampling_coef"], seed=request.seed,
        )
        waves = []
        for i, end in enumerate(lengths):
            # Cut where upstream does: the last reference frame stays in front of the new speech.
            frames = mel[i : i + 1, cond.frames : end].to(torch.float32).permute(0, 2, 1)
            wave = loaded.vocoder.decode(frames)
            if cond.quiet:
                wave = wave * torch.tensor(cond.rms) / cond.target_rms  # upstream's order of operations
            waves.append(np.clip(wave.squeeze(0).cpu().numpy().astype(np.float32), -1.0, 1.0))
    return waves


def synthesize(loaded: Any, requests: Sequence[Request], cond: Conditioning) -> list[Audio]:
    """Audio for each request, in order, with as few sampler calls as the seeds and settings allow."""
    items_of: list[list[Item]] = []
    for index, request in enumerate(requests):
        p = request.params
        pieces = chunks(request.text, cond, p["speed"])
        if p.get("fix_duration") is not None and len(pieces) > 1:  # the segment's length, shared by its passes
            frames = fixed_durations(pieces, cond, p["fix_duration"], p["cross_fade_duration"])
        else:
            frames = [duration(text, cond, p) for text in pieces]
        items_of.append([Item(index, text, n) for text, n in zip(pieces, frames, strict=True)])
    groups: dict[tuple[Any, ...], list[int]] = {}
    for index, request in enumerate(requests):
        groups.setdefault(_group_key(request), []).append(index)
    waves: dict[int, list[np.ndarray]] = {}
    for indices in groups.values():
        items = [item for i in indices for item in items_of[i]]
        for item, wave in zip(items, _sample(loaded, cond, items, requests[indices[0]]), strict=True):
            waves.setdefault(item.request, []).append(wave)
    return [Audio(crossfade(waves[i], r.params["cross_fade_duration"]), SAMPLE_RATE)
            for i, r in enumerate(requests)]
