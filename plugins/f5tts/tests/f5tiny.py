"""Build a tiny, randomly initialised F5-TTS model and Vocos vocoder from the real upstream classes.

The files are written in the layouts the upstream loaders read: an EMA checkpoint
(``ema_model_state_dict``) in safetensors for `f5_tts.infer.utils_infer.load_model`, a
``config.yaml`` + ``pytorch_model.bin`` folder for `load_vocoder(is_local=True)`, a vocab.txt
with the space at index 0, and an architecture YAML in the packaged configs' shape.
"""

from __future__ import annotations

import string
from pathlib import Path

#: Fast settings for every synthesis in the tests.
FAST = {"nfe_step": 4}

#: Small enough for 2 CPU cores: ~0.13 s per sentence at nfe_step 8.
ARCH = {"dim": 64, "depth": 2, "heads": 2, "ff_mult": 2, "text_dim": 32, "text_mask_padding": True,
        "conv_layers": 1, "pe_attn_head": None, "qk_norm": None}
MEL = {"target_sample_rate": 24000, "n_mel_channels": 100, "hop_length": 256, "win_length": 1024,
       "n_fft": 1024, "mel_spec_type": "vocos"}

VOCOS_CONFIG = """\
feature_extractor:
  class_path: vocos.feature_extractors.MelSpectrogramFeatures
  init_args: {sample_rate: 24000, n_fft: 1024, hop_length: 256, n_mels: 100, padding: center}
backbone:
  class_path: vocos.models.VocosBackbone
  init_args: {input_channels: 100, dim: 32, intermediate_dim: 64, num_layers: 1}
head:
  class_path: vocos.heads.ISTFTHead
  init_args: {dim: 32, n_fft: 1024, hop_length: 256, padding: center}
"""


def vocab_lines() -> list[str]:
    """Space first (index 0 is also the unknown token upstream), then the characters the tests speak."""
    return [" ", *string.ascii_letters, *string.digits, *".,;:!?'\"-()", *"äöüßÄÖÜéèàç"]


def write_vocab(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(c + "\n" for c in vocab_lines()), encoding="utf-8")
    return path


def write_arch_config(path: Path) -> Path:
    """An architecture YAML in the shape of the configs shipped with f5-tts."""
    import yaml

    cfg = {"model": {"name": "tiny", "tokenizer": "custom", "backbone": "DiT", "arch": ARCH, "mel_spec": MEL}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


def build_model(checkpoint: Path, vocab: Path, seed: int = 0) -> Path:
    """Random weights for the tiny architecture over `vocab`, saved as upstream's EMA safetensors."""
    import torch
    from f5_tts.model import CFM, DiT
    from safetensors.torch import save_file

    with open(vocab, encoding="utf-8") as fh:
        vocab_size = sum(1 for _ in fh)
    torch.manual_seed(seed)
    model = CFM(transformer=DiT(**ARCH, text_num_embeds=vocab_size, mel_dim=MEL["n_mel_channels"]),
                mel_spec_kwargs=dict(MEL))
    # Upstream zero-initialises the output layers, which would make every sample the same:
    # small random values everywhere make the audio depend on text, voice and noise.
    with torch.no_grad():
        for p in model.transformer.parameters():
            p.copy_(torch.randn_like(p) * 0.05)
    state = {f"ema_model.{k}": v.contiguous() for k, v in model.state_dict().items() if not k.startswith("mel_spec.")}
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(checkpoint))
    return checkpoint


def build_vocoder(folder: Path, seed: int = 0) -> Path:
    """A tiny Vocos in the folder layout `load_vocoder(is_local=True)` reads."""
    import torch
    from vocos import Vocos

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(VOCOS_CONFIG, encoding="utf-8")
    torch.manual_seed(seed)
    vocoder = Vocos.from_hparams(str(folder / "config.yaml"))
    torch.save(vocoder.state_dict(), folder / "pytorch_model.bin")
    return folder


def speechlike(seconds: float, rate: int, pitch: float, seed: int, pause_at: float | None = None):
    """A voiced, syllable-rhythmic signal (harmonics under a 4 Hz envelope), optionally with a pause."""
    import numpy as np

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    voiced = sum(np.sin(2 * np.pi * pitch * k * t + rng.uniform(0, 6)) / k for k in range(1, 8))
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 4 * t)) ** 2
    wave = 0.05 * voiced * envelope + 0.003 * rng.standard_normal(len(t))
    if pause_at is not None:
        wave[int(pause_at * rate) : int((pause_at + 0.4) * rate)] = 0.0
    return wave.astype(np.float32)
