"""ChatterBox batching on this machine: segments per second at batch 1 / 2 / 4 / 8, per stage.

Runs in chatterbox's environment: ``make bench-chatterbox``, or
``.venv-chatterbox/bin/python benchmarks/chatterbox_batch.py [--write docs/benchmarks.md]``.

The models are upstream's classes (chatterbox-tts 0.1.7) at their **real architecture
sizes**, built from upstream's own configuration (`T3Config.english_only()` with its
``Llama_520M`` transformer; Turbo's `T3Config` with ``GPT2_medium``; `S3Gen()` and the mean-flow
`S3Gen(meanflow=True)`), with random weights, in memory: nothing is downloaded.

Random weights never choose the stop token on purpose, but may by chance, so every row is made
to generate exactly ``--tokens`` speech tokens: a forward hook on T3's speech head pushes the
stop token's logit to -1e9 (finite, so guidance's ``cond + w * (cond - uncond)`` stays finite;
its probability after softmax is 0), and each row's ``max_new_tokens`` is its budget. S3Gen is
fed the same number of random speech tokens per row, after a 3 s reference voice.

Stages (``--stages``): ``turbo-t3`` and ``english-t3`` (the plugin's batched samplers),
``s3gen-turbo`` (mean-flow, 2 steps) and ``s3gen-english`` (10 steps, guidance), each the
plugin's batched token-to-mel plus the per-item vocoder; ``turbo-e2e`` and ``english-e2e``
(text to watermarked audio through `synthesize_many`) on request. Every stage renders the
same ``--segments`` segments in calls of each batch size; the batch sizes are interleaved
and repeated (``--repeats``) and each keeps its best time, so a burst of load from other
processes hits one sample, not one batch size. Ratios are therefore from one run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import report  # noqa: E402 - docs/benchmarks.md's sections (report.py)

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
STAGES = ("turbo-t3", "english-t3", "s3gen-turbo", "s3gen-english", "turbo-e2e", "english-e2e")
DEFAULT_STAGES = ("turbo-t3", "english-t3", "s3gen-turbo", "s3gen-english")


def random_model(name: str, device: str, folder: Path) -> Any:
    """Upstream's classes at full size with random weights, a test tokenizer and a built-in voice."""
    import perth
    import torch
    from chatterbox.models.s3gen import S3Gen
    from chatterbox.models.t3 import T3
    from chatterbox.models.t3.modules.cond_enc import T3Cond
    from chatterbox.models.voice_encoder import VoiceEncoder
    from chatterbox.tts import Conditionals
    from polyvox_chatterbox import tokenizers
    from polyvox_chatterbox.loader import Model, _quiet_progress, _t3_config

    from tests import tiny

    _quiet_progress()
    torch.manual_seed(0)
    turbo = name == "turbo"
    t3 = T3(_t3_config(name, folder))  # no override file in `folder`: upstream's real configuration
    s3gen = S3Gen(meanflow=turbo)
    if turbo:
        tiny._gpt2_tokenizer(folder)
        tokenizer = tokenizers.turbo(folder)
    else:
        tiny._tokenizer(folder / "tokenizer.json", size=704, languages=[])
        tokenizer = tokenizers.english(folder / "tokenizer.json")
    for part in (t3, s3gen):
        part.to(device).eval()
    first_special = t3.hp.start_speech_token  # 6561: start, stop, then (English) unused ids

    def no_stop(module: Any, args: Any, output: Any) -> Any:
        output[..., first_special:] = -1e9  # fixed-length rows: see the module docstring
        return output

    t3.speech_head.register_forward_hook(no_stop)
    with torch.inference_mode():
        gen = s3gen.embed_ref(torch.from_numpy(tiny.tone(3.0, 24000, 150.0)), 24000, device=device)
    prompt = torch.randint(0, 6561, (1, t3.hp.speech_cond_prompt_len), device=device)
    cond = T3Cond(speaker_emb=torch.randn(1, 256), cond_prompt_speech_tokens=prompt,
                  emotion_adv=0.5 * torch.ones(1, 1, 1)).to(device=device)
    return Model(name, folder, device, t3, s3gen, VoiceEncoder().to(device).eval(), tokenizer,
                 perth.PerthImplicitWatermarker(), Conditionals(cond, gen))


def requests(name: str, count: int, tokens: int) -> list[Any]:
    """`count` segments whose rows each generate exactly `tokens` speech tokens."""
    import polyvox

    # Turbo samples one token, then up to max_new_tokens more (upstream's inference_turbo).
    budget = tokens - 1 if name == "turbo" else tokens
    params = {"exaggeration": 0.5, "cfg_weight": 0.5, "temperature": 0.8, "repetition_penalty": None, "min_p": 0.05,
              "top_p": None, "top_k": 1000, "max_new_tokens": budget, "flow_steps": None}
    return [polyvox.Request(text=SENTENCES[n % len(SENTENCES)], language="en", voice=polyvox.Voice(), model=name,
                            params=params, seed=n) for n in range(count)]


def stage_call(stage: str, model: Any, reqs: list[Any], tokens: int) -> Callable[[list[int]], int]:
    """A function rendering the segments numbered in its argument in one call; it returns the
    speech tokens it produced (to check the fixed length)."""
    import torch
    from polyvox_chatterbox import synthesis
    from polyvox_chatterbox.params import resolved
    from polyvox_chatterbox.seeding import Streams

    conds = model.builtin
    speech = torch.Generator().manual_seed(1)
    rows = [torch.randint(0, 6561, (tokens,), generator=speech) for _ in reqs]

    def t3(items: list[int]) -> int:
        group = [reqs[i] for i in items]
        params = [resolved(model.name, dict(r.params)) for r in group]
        with torch.inference_mode():
            out = synthesis._token_batch(model, group, conds, params, Streams([r.seed for r in group], model.device))
        return sum(int(r.numel()) for r in out) - (3 * len(out) if model.turbo else 0)  # Turbo's silence

    def s3gen(items: list[int]) -> int:
        steps = resolved(model.name, {})["flow_steps"]
        with torch.inference_mode():
            synthesis._decode_batch(model, [rows[i] for i in items], conds, [steps] * len(items),
                                    Streams([reqs[i].seed for i in items], model.device))
        return tokens * len(items)

    def e2e(items: list[int]) -> int:
        synthesis.synthesize_many(model, [reqs[i] for i in items], conds)
        return tokens * len(items)

    return s3gen if stage.startswith("s3gen") else {"t3": t3, "e2e": e2e}[stage.split("-")[1]]


def sweep(call: Callable[[list[int]], int], segments: int, batches: list[int], repeats: int,
          tokens: int) -> dict[int, float]:
    """Best seconds to render all segments in calls of each batch size, batch sizes interleaved."""
    import torch

    best: dict[int, float] = {}
    for _ in range(repeats):
        for batch in batches:
            start = time.perf_counter()
            made = 0
            for i in range(0, segments, batch):
                made += call(list(range(i, min(i + batch, segments))))
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            seconds = time.perf_counter() - start
            if made != segments * tokens:
                raise SystemExit(f"rows did not have {tokens} tokens each ({made} for {segments} rows)")
            best[batch] = min(seconds, best.get(batch, float("inf")))
    return best


def table(rows: list[tuple[str, int, float, int]]) -> str:
    lines = ["| stage | batch | seconds (best) | segments/s | vs batch 1 |", "|---|---|---|---|---|"]
    base: dict[str, float] = {}
    for stage, batch, seconds, segments in rows:
        rate = segments / seconds
        base.setdefault(stage, rate)
        lines.append(f"| {stage} | {batch} | {seconds:.2f} | {rate:.2f} | {rate / base[stage]:.2f}× |")
    return "\n".join(lines)


def write(path: Path, section: str) -> None:
    """Replace the bench-chatterbox-batch section of `path` (added under its own heading if missing)."""
    report.write_section(path, "chatterbox-batch", section, "ChatterBox batching (CPU, real model sizes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", nargs="+", default=list(DEFAULT_STAGES), choices=STAGES)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tokens", type=int, default=20, help="speech tokens per row (25 = 1 s of audio)")
    parser.add_argument("--segments", type=int, default=8)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--repeats", type=int, default=1, help="interleaved rounds; each batch size keeps its best")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--note", default="", help="a line for the report, e.g. the machine's load")
    parser.add_argument("--write", type=Path, help="put the report between the chatterbox-batch markers of this file")
    args = parser.parse_args()
    if args.tokens < 2:
        parser.error("--tokens must be 2 or more")

    import torch
    from polyvox_chatterbox.synthesis import quiet_stdout

    if args.threads:
        torch.set_num_threads(args.threads)
    began, load = time.perf_counter(), os.getloadavg()[0]
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows: list[tuple[str, int, float, int]] = []
    for name in ("turbo", "english"):
        stages = [s for s in args.stages if s.startswith(name) or s == f"s3gen-{name}"]
        if not stages:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            with quiet_stdout():  # upstream's prints: stdout is the report
                model = random_model(name, args.device, Path(tmp))
            print(f"{name}: built in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
            reqs = requests(name, args.segments, args.tokens)
            for stage in stages:
                call = stage_call(stage, model, reqs, args.tokens)
                start = time.perf_counter()
                with quiet_stdout():
                    call([0])  # warm-up
                print(f"{stage}: one segment in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
                with quiet_stdout():
                    best = sweep(call, args.segments, args.batches, args.repeats, args.tokens)
                for batch in args.batches:
                    rows.append((stage, batch, best[batch], args.segments))
                    print(f"{stage} batch {batch}: {best[batch]:.2f} s", file=sys.stderr, flush=True)
            del model
    minutes = (time.perf_counter() - began) / 60
    loads = f"load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    section = "\n".join([
        f"Machine: {report.machine()}; torch {torch.__version__} on {torch.get_num_threads()} threads, device "
        f"{args.device}. Date: {date}; {loads}; "
        f"the sweep took {minutes:.1f} min." + (f" {args.note}" if args.note else ""),
        "",
        f"`benchmarks/chatterbox_batch.py --tokens {args.tokens} --segments {args.segments} --repeats "
        f"{args.repeats}" + (f" --threads {args.threads}" if args.threads else "") + "`: "
        f"{args.tokens} speech tokens per row ({args.tokens / 25:.1f} s of audio), {args.segments} segments "
        f"per batch size, " + (f"best of {args.repeats} interleaved rounds." if args.repeats > 1 else "one round."),
        "",
        table(rows),
    ])
    print(section)
    if args.write:
        write(args.write, section)
        print(f"wrote {args.write}", file=sys.stderr)


if __name__ == "__main__":
    main()
