"""Loading a model through upstream's own loaders (`f5_tts.infer.utils_infer`), from local files only.

The high-level `f5_tts.api.F5TTS` takes its architecture from the full-size packaged config and
downloads whatever it is not given, so it cannot load a custom architecture offline; the lower
level `load_model` and `load_vocoder(is_local=True)` can.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Any

import attrs

from polyvox.errors import ModelError

from .weights import ModelFiles


@attrs.frozen(eq=False)
class Loaded:
    """A loaded model: the CFM (with its DiT/UNetT), the Vocos vocoder, and where they came from."""

    model: Any
    vocoder: Any
    device: str
    files: ModelFiles


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda`` when a CUDA GPU is there, else ``cpu``."""
    import torch

    if device in ("", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"device {device!r} was asked for but torch sees no CUDA GPU; use --device cpu")
    return device


def architecture(files: ModelFiles) -> tuple[str, dict[str, Any], str]:
    """(backbone class name, architecture kwargs, mel_spec_type) from the model's YAML config."""
    from omegaconf import OmegaConf

    try:
        cfg = OmegaConf.to_container(OmegaConf.load(str(files.config)).model, resolve=True)
        backbone, arch = str(cfg["backbone"]), dict(cfg["arch"])
        mel_type = str(cfg.get("mel_spec", {}).get("mel_spec_type", "vocos"))
    except Exception as exc:  # omegaconf raises several types for a malformed file
        raise ModelError(f"F5-TTS config {str(files.config)!r} is not a model config "
                         f"(needs model.backbone and model.arch): {exc}") from None
    if backbone not in ("DiT", "UNetT", "MMDiT"):
        raise ModelError(f"F5-TTS config {str(files.config)!r}: unknown backbone {backbone!r}")
    if mel_type != "vocos":
        raise ModelError(f"F5-TTS model {files.entry.name!r} uses the {mel_type!r} vocoder; "
                         "polyvox-f5tts supports Vocos models only")
    return backbone, arch, mel_type


def _enable_padding_mask(model: Any) -> None:
    """Let attention ignore batch padding, so a batched item equals the same item alone.

    Upstream builds its attention with the mask off (the training default); a batch-1 call
    passes no mask, so this changes nothing for single segments.
    """
    for module in model.modules():
        processor = getattr(module, "processor", None)
        if processor is not None and hasattr(processor, "attn_mask_enabled"):
            processor.attn_mask_enabled = True


def load(files: ModelFiles, device: str) -> Loaded:
    """Build the architecture, load the EMA weights and the vocoder onto `device`."""
    import f5_tts.model as backbones
    from f5_tts.infer.utils_infer import load_model, load_vocoder

    device = resolve_device(device)
    backbone, arch, mel_type = architecture(files)
    quiet = io.StringIO()
    try:
        # Upstream prints the files it loads; the CLI owns stdout.
        with contextlib.redirect_stdout(quiet), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model = load_model(getattr(backbones, backbone), arch, str(files.checkpoint), mel_spec_type=mel_type,
                               vocab_file=str(files.vocab), device=device)
            vocoder = load_vocoder(mel_type, is_local=True, local_path=str(files.vocoder), device=device)
    except (RuntimeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"F5-TTS model {files.entry.name!r}: checkpoint {str(files.checkpoint)!r} does not fit "
                         f"config {str(files.config)!r} and vocab {str(files.vocab)!r}: {first}") from None
    model.eval()
    _enable_padding_mask(model)
    return Loaded(model=model, vocoder=vocoder, device=device, files=files)


def size(loaded: Loaded) -> int:
    """Bytes held by the model's and vocoder's parameters and buffers."""
    total = 0
    for module in (loaded.model, loaded.vocoder):
        for t in list(module.parameters()) + list(module.buffers()):
            total += t.numel() * t.element_size()
    return total
