"""Build a loaded model from upstream's parts and the files of one model directory.

Upstream's ``from_local`` hard-codes the full-size T3 configuration, so a checkpoint of any
other size (a finetune, the tests' tiny model) cannot load through it. This loader builds the
same upstream classes (`T3`, `S3Gen`, `VoiceEncoder`, the tokenizers) from the files, with
upstream's configuration unless the directory holds ``polyvox_t3_config.json``: real weights
and test weights take the same path.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import attrs

from polyvox import ModelError

from . import tokenizers
from .params import ENGLISH, MULTILINGUAL, TURBO
from .weights import T3_CONFIG, Layout

log = logging.getLogger(__name__)


@attrs.define(eq=False)
class Model:
    """One loaded ChatterBox model: upstream's parts, never any per-voice or per-call state."""

    name: str
    directory: Path
    device: str
    t3: Any
    s3gen: Any
    ve: Any
    tokenizer: Any
    watermarker: Any
    #: Upstream's `Conditionals` of the built-in voice (``conds.pt``), or None.
    builtin: Any = None

    @property
    def multilingual(self) -> bool:
        return self.name == MULTILINGUAL

    @property
    def turbo(self) -> bool:
        return self.name == TURBO

    def parameters(self) -> int:
        return sum(p.numel() * p.element_size() for part in (self.t3, self.s3gen, self.ve) for p in part.parameters())


def resolve_device(device: str) -> str:
    """``auto`` -> cuda, else mps, else cpu; an explicit device must exist."""
    import torch

    if device in ("", "auto"):
        if torch.cuda.is_available():
            return "cuda"
        if torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"device {device!r} asked for, but torch sees no CUDA device")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ModelError("device 'mps' asked for, but torch reports MPS unavailable")
    return device


def load(name: str, directory: Path, layout: Layout, device: str, *, segmenter: Path | None = None) -> Model:
    """Load model `name` from `directory` onto `device`; `segmenter`: pkuseg's model archive for Chinese."""
    import perth
    import torch
    from chatterbox.models.s3gen import S3Gen
    from chatterbox.models.t3 import T3
    from chatterbox.models.voice_encoder import VoiceEncoder
    from chatterbox.tts import Conditionals

    device = resolve_device(device)
    _quiet_progress()
    ve = VoiceEncoder()
    ve.load_state_dict(_read(directory / layout.ve))
    t3 = T3(_t3_config(name, directory))
    state = _read(directory / layout.t3)
    if "model" in state:  # some upstream checkpoints nest the state dict
        state = state["model"][0]
    t3.load_state_dict(state)
    if name == TURBO:
        del t3.tfmr.wte  # GPT-2's own token embedding is unused (T3 embeds the tokens itself), as upstream
    s3gen = S3Gen(meanflow=(name == TURBO))
    # Upstream loads S3Gen non-strictly: its files lack buffers the constructor computes.
    missing = s3gen.load_state_dict(_read(directory / layout.s3gen), strict=False).missing_keys
    unexpected = [k for k in missing if not k.startswith(("tokenizer._mel_filters", "tokenizer.window"))]
    if unexpected:
        log.warning("%s: %d S3Gen weights missing from %s (left as initialised), e.g. %s",
                    name, len(unexpected), layout.s3gen, unexpected[0])
    for part in (ve, t3, s3gen):
        part.to(device).eval()
    if name == ENGLISH:
        tokenizer = tokenizers.english(directory / layout.tokenizer)
    elif name == TURBO:
        tokenizer = tokenizers.turbo(directory)
    else:
        tokenizer = tokenizers.multilingual(directory / layout.tokenizer, segmenter=segmenter)
    builtin = None
    if (directory / "conds.pt").is_file():
        builtin = Conditionals.load(directory / "conds.pt", map_location=torch.device("cpu")).to(device)
    return Model(name, directory, device, t3, s3gen, ve, tokenizer, perth.PerthImplicitWatermarker(), builtin)


def _read(path: Path) -> dict[str, Any]:
    """A state dict from a ``.safetensors`` or ``.pt`` file, on the CPU."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        import torch

        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"cannot read ChatterBox weights {str(path)!r}: {exc}") from exc


def _t3_config(name: str, directory: Path) -> Any:
    """Upstream's T3 configuration for `name`, with the overrides of ``polyvox_t3_config.json``.

    The file maps a model name to its overrides:
    ``{"english": {"t3": {T3Config attribute: value}, "llama": {transformer config: value}}}``.
    """
    from chatterbox.models.t3.llama_configs import LLAMA_CONFIGS
    from chatterbox.models.t3.modules.t3_config import T3Config

    hp = T3Config.multilingual() if name == MULTILINGUAL else T3Config.english_only()
    if name == TURBO:  # upstream's ChatterboxTurboTTS.from_local
        hp = T3Config(text_tokens_dict_size=50276)
        hp.llama_config_name = "GPT2_medium"
        hp.speech_tokens_dict_size = 6563
        hp.input_pos_emb = None
        hp.speech_cond_prompt_len = 375
        hp.use_perceiver_resampler = False
        hp.emotion_adv = False
    path = directory / T3_CONFIG
    if not path.is_file():
        return hp
    try:
        overrides = json.loads(path.read_text(encoding="utf-8")).get(name, {})
    except (OSError, ValueError, AttributeError) as exc:
        raise ModelError(f"cannot read {str(path)!r}: {exc}") from exc
    for key, value in overrides.get("t3", {}).items():
        if not hasattr(hp, key):
            raise ModelError(f"{str(path)!r}: T3Config has no setting {key!r}")
        setattr(hp, key, value)
    if overrides.get("llama"):
        base = LLAMA_CONFIGS[hp.llama_config_name]
        config = {**base, **overrides["llama"]}
        # Registered under a name derived from the content: T3 reads its transformer config
        # from this registry by name. Adding an entry changes nothing for upstream's names.
        key = "polyvox-" + hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]
        LLAMA_CONFIGS.setdefault(key, config)
        hp.llama_config_name = key
    return hp


@functools.cache
def _quiet_progress() -> None:
    """Upstream's T3 and Turbo's decoder draw a tqdm bar per call; polyvox reports progress itself."""
    from chatterbox.models.s3gen import flow_matching
    from chatterbox.models.t3 import t3 as t3_module
    from tqdm import tqdm

    t3_module.tqdm = functools.partial(tqdm, disable=True)
    flow_matching.tqdm = functools.partial(tqdm, disable=True)
