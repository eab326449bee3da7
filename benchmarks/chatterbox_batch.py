"""ChatterBox batched vs sequential synthesis: segments per second at several batch sizes.

Runs in chatterbox's environment: ``.venv-chatterbox/bin/python benchmarks/chatterbox_batch.py``.

By default the models are upstream's classes at their **real architecture sizes** with random
weights (T3: the 0.5 B Llama for English, GPT-2 medium for Turbo; S3Gen and the voice encoder
as published), built in memory; nothing is downloaded. Random weights do not stop by
themselves, so every row generates a fixed number of speech tokens (``--tokens``; EOS is
possible but rare). With ``--weights DIR`` the published checkpoints in DIR are loaded instead
(``DIR/turbo`` for Turbo), e.g. on a CUDA machine: ``--device cuda --weights ~/models/chatterbox``.

Each figure compares runs on the same machine in the same process: the same segments rendered
one call each (batch 1) and in batches of 2, 4, 8; end to end (T3 + S3Gen + watermark) and
T3 alone. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins" / "chatterbox"))  # tests/tiny.py: tokenizers and a test voice

SENTENCES = [
    "The lighthouse keeper counted the ships as they passed.",
    "Rain had fallen all night.",
    "She opened the letter slowly, afraid of what it might say.",
    "Nobody remembered a winter like this one.",
    "He laughed, then looked away.",
    "The train was late again, and the platform was crowded with tired faces.",
    "Bread, cheese and apples.",
    "They walked home along the river as the lights came on.",
]


def random_model(name: str, device: str, folder: Path, *, tiny_t3: bool = False) -> Any:
    """Upstream's classes at full size (with `tiny_t3`: the test suite's tiny T3), random
    weights, a test tokenizer and built-in voice."""
    import perth
    import torch
    from chatterbox.models.s3gen import S3Gen
    from chatterbox.models.t3 import T3
    from chatterbox.models.t3.modules.cond_enc import T3Cond
    from chatterbox.models.voice_encoder import VoiceEncoder
    from chatterbox.tts import Conditionals
    from polyvox_chatterbox import tokenizers
    from polyvox_chatterbox.loader import Model, _quiet_progress, _t3_config
    from polyvox_chatterbox.weights import T3_CONFIG

    from tests import tiny

    _quiet_progress()
    torch.manual_seed(0)
    turbo = name == "turbo"
    if tiny_t3:
        import json

        small = {"turbo": {"llama": tiny.TURBO_GPT2},
                 "english": {"t3": tiny.T3_OVERRIDES, "llama": tiny.ENGLISH_LLAMA}}[name]
        (folder / T3_CONFIG).write_text(json.dumps({name: small}))
    t3 = T3(_t3_config(name, folder))  # without an override file: upstream's real configuration
    s3gen = S3Gen(meanflow=turbo)
    if turbo:
        tiny._gpt2_tokenizer(folder)
        tokenizer = tokenizers.turbo(folder)
    else:
        tiny._tokenizer(folder / "tokenizer.json", size=704, languages=[])
        tokenizer = tokenizers.english(folder / "tokenizer.json")
    for part in (t3, s3gen):
        part.to(device).eval()
    with torch.inference_mode():
        gen = s3gen.embed_ref(torch.from_numpy(tiny.tone(3.0, 24000, 150.0)), 24000, device=device)
    prompt = torch.randint(0, 6561, (1, t3.hp.speech_cond_prompt_len), device=device)
    cond = T3Cond(speaker_emb=torch.randn(1, 256), cond_prompt_speech_tokens=prompt,
                  emotion_adv=0.5 * torch.ones(1, 1, 1)).to(device=device)
    return Model(name, folder, device, t3, s3gen, VoiceEncoder().to(device).eval(), tokenizer,
                 perth.PerthImplicitWatermarker(), Conditionals(cond, gen))


def real_model(name: str, device: str, directory: Path) -> Any:
    from polyvox_chatterbox.loader import load
    from polyvox_chatterbox.weights import LAYOUTS

    layout = LAYOUTS[name]
    folder = directory / layout.subdir if layout.subdir and (directory / layout.subdir).is_dir() else directory
    return load(name, folder, layout, device, may_download=False)


def requests(name: str, count: int, tokens: int, flow_steps: int | None) -> list[Any]:
    import polyvox

    params = {"exaggeration": 0.5, "cfg_weight": 0.5, "temperature": 0.8, "repetition_penalty": None, "min_p": 0.05,
              "top_p": None, "top_k": 1000, "max_new_tokens": tokens, "flow_steps": flow_steps}
    return [polyvox.Request(text=SENTENCES[n % len(SENTENCES)], language="en", voice=polyvox.Voice(), model=name,
                            params=params, seed=n) for n in range(count)]


def measure(model: Any, reqs: list[Any], batch: int, *, t3_only: bool) -> float:
    """Seconds to render `reqs` in calls of `batch` segments."""
    import torch
    from polyvox_chatterbox import synthesis
    from polyvox_chatterbox.params import resolved
    from polyvox_chatterbox.seeding import Streams

    start = time.perf_counter()
    for i in range(0, len(reqs), batch):
        group = reqs[i : i + batch]
        if t3_only:
            params = [resolved(model.name, dict(r.params)) for r in group]
            with torch.inference_mode():
                synthesis._token_batch(model, group, model.builtin, params, Streams([r.seed for r in group],
                                                                                     model.device))
        else:
            synthesis.synthesize_many(model, group, model.builtin)
    if model.device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["turbo", "english"], choices=["turbo", "english"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--weights", type=Path, help="published checkpoints instead of random weights")
    parser.add_argument("--tokens", type=int, default=25, help="speech tokens per segment (25 = 1 s of audio)")
    parser.add_argument("--segments", type=int, default=8)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--flow-steps", type=int, help="S3Gen flow steps (default: the model's, 10; Turbo 2)")
    parser.add_argument("--tiny", action="store_true", help="the test suite's tiny T3 (S3Gen stays full size)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {args.device}"
          + (f" ({torch.cuda.get_device_name(args.device)})" if args.device.startswith("cuda") else ""))
    print("| model | stage | batch | seconds | segments/s | vs batch 1 |")
    print("|---|---|---|---|---|---|")
    for name in args.models:
        with tempfile.TemporaryDirectory() as tmp:
            model = (real_model(name, args.device, args.weights) if args.weights
                     else random_model(name, args.device, Path(tmp), tiny_t3=args.tiny))
            reqs = requests(name, args.segments, args.tokens, args.flow_steps)
            measure(model, reqs[:1], 1, t3_only=False)  # warm-up
            for stage, t3_only in (("end to end", False), ("T3 only", True)):
                base = None
                for batch in args.batches:
                    seconds = measure(model, reqs, batch, t3_only=t3_only)
                    rate = len(reqs) / seconds
                    base = base or rate
                    print(f"| {name} | {stage} | {batch} | {seconds:.1f} | {rate:.2f} | {rate / base:.2f}× |",
                          flush=True)
            del model


if __name__ == "__main__":
    main()
