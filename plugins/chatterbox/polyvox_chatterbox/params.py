"""What the engine declares: models, languages, parameters and their per-model defaults.

Plain data only; importing this module must stay cheap (no torch, no chatterbox).
"""

from __future__ import annotations

from typing import Any

from polyvox import ParamSpec

ENGINE = "chatterbox"
SAMPLE_RATE = 24000

ENGLISH = "english"
MULTILINGUAL = "multilingual"
#: ChatterBox Turbo (``chatterbox.tts_turbo``): English, a GPT-2 backbone and a distilled decoder.
TURBO = "turbo"
MODELS = (ENGLISH, MULTILINGUAL, TURBO)

#: The multilingual model's languages (upstream's ``SUPPORTED_LANGUAGES``, copied so that
#: declaring them does not import torch).
LANGUAGES = (
    "ar", "da", "de", "el", "en", "es", "fi", "fr", "he", "hi", "it", "ja", "ko", "ms", "nl", "no", "pl", "pt",
    "ru", "sv", "sw", "tr", "zh",
)

#: Upstream's hard-coded token budget: 1000 speech tokens at 25 tokens/s, about 40 s of audio.
MAX_NEW_TOKENS = 1000
#: Characters per segment: English speech runs ~15 characters/s, so 300 characters (~20 s)
#: stay well inside the 40 s budget even for slow voices and long words.
MAX_CHARS = 300

#: Segments per call when the user sets no batch size. CUDA: 8, where others measured Turbo's
#: T3 decoding at 2.82x batch 1 (devnen/Chatterbox-TTS-Server#161) and S3Gen batched at 5.25x
#: (randombk/chatterbox-vllm#28). CPU: 4; in this project's sweep at real model sizes
#: (docs/benchmarks.md) Turbo gained most at 4 (about 1.16x end to end), English T3 1.48x at
#: 4 and 1.98x at 8. ``auto`` (the default device, which only the engine resolves) takes 4: safe on both.
BATCH_SIZES = {"cpu": 4, "cuda": 8, "auto": 4}

#: Defaults that differ between the models (upstream's ``generate`` signatures). Parameters
#: declared with ``default=None`` take the value of the model that renders the segment.
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    ENGLISH: {"repetition_penalty": 1.2, "flow_steps": 10, "top_p": 1.0},
    MULTILINGUAL: {"repetition_penalty": 2.0, "flow_steps": 10, "top_p": 1.0},
    TURBO: {"repetition_penalty": 1.2, "flow_steps": 2, "top_p": 0.95},
}

PARAMS = (
    ParamSpec("exaggeration", 0.5, min=0.25, max=2.0, aliases=("emotion",), affects_voice=True,
              help="emotion intensity; 0.5 is neutral, higher is more expressive (not used by Turbo)"),
    ParamSpec("cfg_weight", 0.5, min=0.0, max=1.0, aliases=("cfg", "pace"),
              help="classifier-free guidance: lower is slower, more deliberate; 0 is off (not used by Turbo)"),
    ParamSpec("temperature", 0.8, min=0.05, max=5.0, help="sampling temperature of the speech tokens"),
    ParamSpec("repetition_penalty", None, required=False, min=1.0, max=2.0,
              help="penalty on repeated speech tokens (default: 1.2; multilingual 2.0)"),
    ParamSpec("min_p", 0.05, min=0.0, max=1.0,
              help="drop tokens below this fraction of the top probability (not used by Turbo)"),
    ParamSpec("top_p", None, required=False, min=0.0, max=1.0,
              help="nucleus sampling, 1.0 is off (default: 1.0; Turbo 0.95)"),
    ParamSpec("top_k", 1000, type="int", min=0, max=8194, help="Turbo only: sample from the k likeliest tokens"),
    ParamSpec("max_new_tokens", MAX_NEW_TOKENS, type="int", min=1, max=4000, aliases=("max_tokens",),
              help="speech-token budget of one segment (25 tokens per second of audio)"),
    ParamSpec("flow_steps", None, type="int", required=False, min=1, max=50, aliases=("n_cfm_timesteps",),
              help="flow-matching steps of the S3Gen decoder (default 10; Turbo 2)"),
)


def resolved(model: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` with every "model's own default" (None) replaced by `model`'s value."""
    out = dict(params)
    for name, value in MODEL_DEFAULTS.get(model, {}).items():
        if out.get(name) is None:
            out[name] = value
    return out
