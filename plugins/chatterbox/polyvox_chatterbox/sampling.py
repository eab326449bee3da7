"""T3's speech-token sampling for several texts of one voice in one forward pass per step.

Upstream's samplers take one text: `T3.inference` (English, multilingual) builds one
conditional/unconditional pair and stops when that pair's sequence ends; `T3.inference_turbo`
is batch-shaped but stops only when *every* row emits EOS and gives no row its own seed or
settings. The samplers here run upstream's modules (transformer, embeddings, heads,
conditioning encoder, HF logits processors) and keep the per-token logic of upstream's loops,
with these differences, all needed for rows of different lengths:

- Prompts of different lengths are **left-padded**: every row's last prompt position is the
  same column, so each step appends one column for all rows. An attention mask hides the pads
  and position ids count only real tokens, so a row sees what it would see alone.
- Each row has its **own settings** (temperature, top-k/p, min-p, penalty, budget) and its own
  logits processors, and draws from **its own random stream** (`seeding.Streams`).
- A row that stopped (EOS, or its budget spent) is **frozen**: it keeps being fed a stop token
  so the batch stays rectangular, but nothing it computes is sampled or kept.

A row of a batch therefore equals the same text sampled alone up to floating-point noise from
the padded matrix shapes; a batch of one equals upstream's own sampler (tests check both).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from .seeding import Streams


@functools.lru_cache(maxsize=64)
def _turbo_processors(temperature: float, top_k: int, top_p: float, repetition_penalty: float) -> Any:
    """Upstream Turbo's processor list for one set of settings (the same order and conditions)."""
    from transformers.generation.logits_process import (
        LogitsProcessorList,
        RepetitionPenaltyLogitsProcessor,
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    out = LogitsProcessorList()
    if temperature > 0 and temperature != 1.0:
        out.append(TemperatureLogitsWarper(temperature))
    if top_k > 0:
        out.append(TopKLogitsWarper(top_k))
    if top_p < 1.0:
        out.append(TopPLogitsWarper(top_p))
    if repetition_penalty != 1.0:
        out.append(RepetitionPenaltyLogitsProcessor(repetition_penalty))
    return out


def left_padded(rows: Sequence[Any]) -> tuple[Any, Any, Any]:
    """Embeddings (B, T, D) with each row right-aligned, its attention mask and position ids."""
    import torch

    width = max(r.size(0) for r in rows)
    first = rows[0]
    embeds = first.new_zeros(len(rows), width, first.size(-1))
    mask = torch.zeros(len(rows), width, dtype=torch.long, device=first.device)
    for n, row in enumerate(rows):
        embeds[n, width - row.size(0):] = row
        mask[n, width - row.size(0):] = 1
    return embeds, mask, (mask.cumsum(-1) - 1).clamp(min=0)


def turbo(t3: Any, cond: Any, texts: Sequence[Any], params: Sequence[dict[str, Any]], streams: Streams) -> list[Any]:
    """Turbo's speech tokens (1-D, EOS removed) for each text (1, L) in `texts`.

    Per row this is upstream's `T3.inference_turbo`: the first token is sampled from the prompt
    with the start token as history and is never taken as a stop; up to `max_new_tokens` more
    follow, each stopping the row when it is EOS (or when every logit is -inf).
    """
    import torch
    import torch.nn.functional as F  # noqa: N812 - torch's convention

    hp = t3.hp
    stop = hp.stop_speech_token
    start = torch.full((1, 1), hp.start_speech_token, dtype=torch.long, device=t3.device)
    prompts = [t3.prepare_input_embeds(t3_cond=cond, text_tokens=ids, speech_tokens=start, cfg_weight=0.0)[0][0]
               for ids in texts]
    embeds, mask, positions = left_padded(prompts)
    out = t3.tfmr(inputs_embeds=embeds, attention_mask=mask, position_ids=positions, use_cache=True)
    past, positions = out.past_key_values, positions[:, -1:]
    logits = t3.speech_head(out[0][:, -1:])[:, -1, :]

    rows = len(texts)
    procs = [_turbo_processors(float(p["temperature"]), int(p["top_k"]), float(p["top_p"]),
                               float(p["repetition_penalty"])) for p in params]
    budgets = [int(p["max_new_tokens"]) + 1 for p in params]  # upstream: one token, then up to max_gen_len more
    tokens: list[list[int]] = [[] for _ in range(rows)]
    done = [False] * rows
    while True:
        feed = torch.full((rows, 1), stop, dtype=torch.long, device=t3.device)
        for r in range(rows):
            if done[r]:
                continue
            history = torch.tensor([tokens[r]], dtype=torch.long, device=t3.device) if tokens[r] else start
            row = procs[r](history, logits[r : r + 1])
            if tokens[r] and torch.all(row == -float("inf")):
                done[r] = True
                continue
            with streams.use(r):
                token = int(torch.multinomial(F.softmax(row, dim=-1), num_samples=1))
            tokens[r].append(token)
            feed[r, 0] = token
            done[r] = (len(tokens[r]) > 1 and token == stop) or len(tokens[r]) >= budgets[r]
        if all(done):
            break
        mask = torch.cat([mask, mask.new_ones(rows, 1)], dim=1)
        positions = positions + 1
        out = t3.tfmr(inputs_embeds=t3.speech_emb(feed), attention_mask=mask, position_ids=positions,
                      past_key_values=past, use_cache=True)
        past = out.past_key_values
        logits = t3.speech_head(out[0])[:, -1, :]

    result = []
    for row in tokens:
        if row and row[-1] == stop:
            row = row[:-1]
        result.append(torch.tensor(row, dtype=torch.long, device=t3.device))
    return result
