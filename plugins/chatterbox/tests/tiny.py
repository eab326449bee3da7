"""A tiny random-weight ChatterBox checkpoint built from the real upstream classes and saved
under upstream's file names, so tests load it through the plugin's normal directory path.

T3 is shrunk through ``polyvox_t3_config.json`` (the plugin's config override); S3Gen and the
voice encoder cannot be shrunk by configuration and are saved at full size (random weights).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from polyvox_chatterbox.weights import T3_CONFIG

#: A Llama of hidden size 64. The multilingual T3's alignment analyzer hooks fixed heads of
#: layers 9, 12 and 13 (up to head 15), hence 14 layers of 16 heads there.
ENGLISH_LLAMA = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
                 "num_key_value_heads": 2, "head_dim": 32}
MULTILINGUAL_LLAMA = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 14,
                      "num_attention_heads": 16, "num_key_value_heads": 16, "head_dim": 4}
T3_OVERRIDES = {"use_perceiver_resampler": False, "speech_cond_prompt_len": 30}
LANGUAGE_TOKENS = ["ar", "da", "de", "el", "en", "es", "fi", "fr", "he", "hi", "it", "ja", "ko", "ms", "nl", "no",
                   "pl", "pt", "ru", "sv", "sw", "tr", "zh"]


def build(directory: Path) -> Path:
    """Write an English + multilingual checkpoint into `directory` (upstream's layout)."""
    import torch
    from chatterbox.models.s3gen import S3Gen
    from chatterbox.models.t3 import T3
    from chatterbox.models.voice_encoder import VoiceEncoder
    from safetensors.torch import save_file

    from polyvox_chatterbox.loader import _t3_config

    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    (directory / T3_CONFIG).write_text(json.dumps({
        "english": {"t3": T3_OVERRIDES, "llama": ENGLISH_LLAMA},
        "multilingual": {"t3": T3_OVERRIDES, "llama": MULTILINGUAL_LLAMA},
    }))
    t3 = _text_following(T3(_t3_config("english", directory)))
    save_file(_plain(t3.state_dict()), str(directory / "t3_cfg.safetensors"))
    ve = VoiceEncoder()
    save_file(_plain(ve.state_dict()), str(directory / "ve.safetensors"))
    torch.save(ve.state_dict(), directory / "ve.pt")
    s3gen = S3Gen().eval()
    state = _plain(s3gen.state_dict())
    save_file(state, str(directory / "s3gen.safetensors"))
    torch.save(state, directory / "s3gen.pt")
    del state
    _tokenizer(directory / "tokenizer.json", size=704, languages=[])
    # The multilingual model shares the directory, as in upstream's repository.
    mtl = _text_following(T3(_t3_config("multilingual", directory)))
    save_file(_plain(mtl.state_dict()), str(directory / "t3_mtl23ls_v2.safetensors"))
    _tokenizer(directory / "grapheme_mtl_merged_expanded_v1.json", size=2454, languages=LANGUAGE_TOKENS)
    _builtin_voice(s3gen, directory, f0=180.0, prompt_tokens=30)
    return directory


def _text_following(t3: Any) -> Any:
    """T3 with its attention projections 25 times their initial size. At upstream's init (std
    0.02) attention is nearly uniform and each position's own embedding dominates the residual
    stream, so the speech tokens ignore the text: two sentences gave the same tokens, even at
    temperature 0.05. Scaled, the tokens follow the text and its language token, and tests can
    show that they do."""
    import torch

    with torch.no_grad():
        for name, weight in t3.tfmr.named_parameters():
            if name.endswith(("q_proj.weight", "k_proj.weight", "v_proj.weight", "o_proj.weight")):
                weight.mul_(25.0)
    return t3


def _builtin_voice(s3gen: Any, directory: Path, *, f0: float, prompt_tokens: int) -> None:
    """The model's built-in voice (conds.pt): upstream's Conditionals, from a synthetic reference."""
    import torch
    from chatterbox.models.t3.modules.cond_enc import T3Cond
    from chatterbox.tts import Conditionals

    with torch.inference_mode():
        gen = s3gen.embed_ref(torch.from_numpy(tone(2.0, 24000, f0)), 24000, device="cpu")
    t3_cond = T3Cond(speaker_emb=torch.randn(1, 256),
                     cond_prompt_speech_tokens=torch.randint(0, 6561, (1, prompt_tokens)),
                     emotion_adv=0.5 * torch.ones(1, 1, 1))
    Conditionals(t3_cond, gen).save(directory / "conds.pt")


def _plain(state: dict) -> dict:
    """Contiguous tensors that share no storage (safetensors refuses shared ones)."""
    out, seen = {}, set()
    for key, value in state.items():
        ptr = value.data_ptr()
        out[key] = value.detach().clone().contiguous() if ptr in seen else value.detach().contiguous()
        seen.add(ptr)
    return out


def _tokenizer(path: Path, *, size: int, languages: list[str]) -> None:
    """A character-level tokenizer with upstream's special tokens, ids below `size`."""
    from tokenizers import Tokenizer, models

    specials = ["[STOP]", "[UNK]", "[SPACE]", "[PAD]", "[SEP]", "[CLS]", "[MASK]"]
    chars = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\"-äöüßæøåÄÖÜÆØÅ\u0308\u030a")
    vocab: dict[str, int] = {}
    for token in [*specials, *(f"[{code}]" for code in languages), *chars]:
        vocab.setdefault(token, len(vocab))
    while len(vocab) < 255:  # no holes below upstream's start_text_token id (255); [STOP] is 0
        vocab[f"[unused{len(vocab)}]"] = len(vocab)
    vocab["[START]"] = 255
    assert max(vocab.values()) < size
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tokenizer.add_special_tokens(["[START]", *specials, *(f"[{code}]" for code in languages)])
    tokenizer.save(str(path))


def tone(seconds: float, rate: int, pitch: float) -> np.ndarray:
    """A voiced-sounding test signal: a tone with harmonics, vibrato and a little noise."""
    t = np.arange(int(seconds * rate)) / rate
    f = pitch * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f) / rate
    wave = sum(np.sin(k * phase) / k for k in range(1, 6)) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t) ** 2)
    noise = np.random.default_rng(int(pitch)).normal(0, 0.01, t.shape)
    return (0.3 * wave / np.max(np.abs(wave)) + noise).astype(np.float32)


def write_voice(path: Path, pitch: float, rate: int, seconds: float = 3.0) -> Path:
    sf.write(path, tone(seconds, rate, pitch), rate)
    return path


#: Turbo's backbone is GPT-2 (upstream's "GPT2_medium" entry), shrunk the same way.
TURBO_GPT2 = {"n_embd": 64, "hidden_size": 64, "n_layer": 2, "n_head": 2, "n_positions": 1024, "n_ctx": 1024}


def build_turbo(directory: Path) -> Path:
    """Write a Turbo checkpoint (its own folder, as its own conds.pt requires)."""
    import torch
    from chatterbox.models.s3gen import S3Gen
    from chatterbox.models.t3 import T3
    from chatterbox.models.voice_encoder import VoiceEncoder
    from safetensors.torch import save_file

    from polyvox_chatterbox.loader import _t3_config

    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(1)
    (directory / T3_CONFIG).write_text(json.dumps({"turbo": {"llama": TURBO_GPT2}}))
    save_file(_plain(T3(_t3_config("turbo", directory)).state_dict()), str(directory / "t3_turbo_v1.safetensors"))
    save_file(_plain(VoiceEncoder().state_dict()), str(directory / "ve.safetensors"))
    s3gen = S3Gen(meanflow=True).eval()
    save_file(_plain(s3gen.state_dict()), str(directory / "s3gen_meanflow.safetensors"))
    _gpt2_tokenizer(directory)
    _builtin_voice(s3gen, directory, f0=140.0, prompt_tokens=375)
    return directory


def _gpt2_tokenizer(directory: Path) -> None:
    """A byte-level GPT-2 tokenizer with no merges: one token per byte."""
    from tokenizers import pre_tokenizers

    vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab["<|endoftext|>"] = len(vocab)
    (directory / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (directory / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    (directory / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "GPT2Tokenizer", "model_max_length": 1024, "bos_token": "<|endoftext|>",
        "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}), encoding="utf-8")
