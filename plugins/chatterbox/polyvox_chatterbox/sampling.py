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


@functools.lru_cache(maxsize=64)
def _guided_processors(repetition_penalty: float, min_p: float, top_p: float) -> tuple[Any, Any, Any]:
    """Upstream `T3.inference`'s processors: penalty, then (after temperature) min-p and top-p."""
    from transformers.generation.logits_process import (
        MinPLogitsWarper,
        RepetitionPenaltyLogitsProcessor,
        TopPLogitsWarper,
    )

    return RepetitionPenaltyLogitsProcessor(penalty=repetition_penalty), MinPLogitsWarper(min_p=min_p), \
        TopPLogitsWarper(top_p=top_p)


def guided(t3: Any, cond: Any, texts: Sequence[Any], params: Sequence[dict[str, Any]], streams: Streams) -> list[Any]:
    """English / multilingual speech tokens (1-D, EOS included as upstream returns it) for each
    text (1-D, with start and stop text tokens) in `texts`.

    Each item is two rows, conditional and unconditional (text embedding zeroed when its
    ``cfg_weight`` > 0), combined as upstream does: ``cond + w * (cond - uncond)``. For the
    multilingual model each item has its own upstream `AlignmentStreamAnalyzer`, fed the
    attention of its own conditional row with the padding cut off, so its safeguards (no early
    EOS, forced EOS on long tails and repetitions) act per row exactly as in a single call.
    """
    import torch

    hp = t3.hp
    start = torch.full((2, 1), hp.start_speech_token, dtype=torch.long, device=t3.device)
    bos = t3.speech_emb(start[:1]) + t3.speech_pos_emb.get_fixed_embedding(0)  # upstream's extra BOS
    prompts, slices = [], []
    for ids, p in zip(texts, params, strict=True):
        pair = ids.view(1, -1).expand(2, -1).to(t3.device)
        embeds, len_cond = t3.prepare_input_embeds(t3_cond=cond, text_tokens=pair, speech_tokens=start,
                                                   cfg_weight=float(p["cfg_weight"]))
        embeds = torch.cat([embeds, bos.expand(2, -1, -1)], dim=1)
        prompts += [embeds[0], embeds[1]]
        slices.append((len_cond, len_cond + pair.size(1)))
    analyzers = _analyzers(t3, slices) if hp.is_multilingual else None
    spy = _AttentionSpy(t3) if analyzers else None
    try:
        return _guided_loop(t3, prompts, params, streams, analyzers, spy)
    finally:
        if spy is not None:
            spy.remove()


def _guided_loop(t3: Any, prompts: list[Any], params: Sequence[dict[str, Any]], streams: Streams,
                 analyzers: list[Any] | None, spy: _AttentionSpy | None) -> list[Any]:
    import torch

    stop = t3.hp.stop_speech_token
    embeds, mask, positions = left_padded(prompts)
    width = embeds.size(1)
    pads = [width - prompts[2 * n].size(0) for n in range(len(params))]
    out = t3.tfmr(inputs_embeds=embeds, attention_mask=mask, position_ids=positions, use_cache=True,
                  output_hidden_states=True, return_dict=True)
    past, positions = out.past_key_values, positions[:, -1:]
    items = len(params)
    budgets = [int(p["max_new_tokens"]) for p in params]
    history = [[t3.hp.start_speech_token] for _ in range(items)]
    done = [False] * items
    step = 0
    while True:
        logits = t3.speech_head(out.hidden_states[-1][:, -1, :])
        feed = torch.full((2 * items, 1), stop, dtype=torch.long, device=t3.device)
        for n in range(items):
            if done[n]:
                continue
            p = params[n]
            cond_row, uncond_row = logits[2 * n : 2 * n + 1], logits[2 * n + 1 : 2 * n + 2]
            cfg = torch.as_tensor(p["cfg_weight"], device=cond_row.device, dtype=cond_row.dtype)
            row = cond_row + cfg * (cond_row - uncond_row)
            if analyzers is not None and spy is not None:
                analyzers[n].last_aligned_attns = spy.row(2 * n, pads[n], first=step == 0)
                row = analyzers[n].step(row, next_token=history[n][-1])
            penalty, min_p, top_p = _guided_processors(float(p["repetition_penalty"]), float(p["min_p"]),
                                                       float(p["top_p"]))
            ids = torch.tensor([history[n]], dtype=torch.long, device=t3.device)
            row = penalty(ids, row)
            if p["temperature"] != 1.0:
                row = row / p["temperature"]
            row = top_p(ids, min_p(ids, row))
            with streams.use(n):
                token = int(torch.multinomial(torch.softmax(row, dim=-1), num_samples=1))
            history[n].append(token)
            feed[2 * n : 2 * n + 2, 0] = token
            done[n] = token == stop or len(history[n]) - 1 >= budgets[n]
        if all(done):
            break
        step += 1
        embed = t3.speech_emb(feed) + t3.speech_pos_emb.get_fixed_embedding(step)
        mask = torch.cat([mask, mask.new_ones(mask.size(0), 1)], dim=1)
        positions = positions + 1
        out = t3.tfmr(inputs_embeds=embed, attention_mask=mask, position_ids=positions, past_key_values=past,
                      use_cache=True, output_hidden_states=True, return_dict=True)
        past = out.past_key_values
    return [torch.tensor(h[1:], dtype=torch.long, device=t3.device) for h in history]


def _analyzers(t3: Any, slices: Sequence[tuple[int, int]]) -> list[Any]:
    """One upstream alignment analyzer per item, with the forward hooks its constructor
    registers taken off again: `_AttentionSpy` feeds each its own row instead. Constructing one
    also switches the transformer to eager attention that returns its weights, as upstream does."""
    from chatterbox.models.t3.inference.alignment_stream_analyzer import AlignmentStreamAnalyzer

    modules = list(t3.tfmr.modules())
    before = [set(m._forward_hooks) for m in modules]
    analyzers = [AlignmentStreamAnalyzer(t3.tfmr, None, text_tokens_slice=s, alignment_layer_idx=9,
                                         eos_idx=t3.hp.stop_speech_token) for s in slices]
    for module, kept in zip(modules, before, strict=True):
        for hook_id in [h for h in module._forward_hooks if h not in kept]:
            module._forward_hooks.pop(hook_id, None)
    return analyzers


class _AttentionSpy:
    """The attention weights of upstream's aligned heads at the last forward pass, for every row."""

    def __init__(self, t3: Any):
        from chatterbox.models.t3.inference.alignment_stream_analyzer import LLAMA_ALIGNED_HEADS

        self.weights: list[Any] = [None] * len(LLAMA_ALIGNED_HEADS)
        self._handles = []
        for n, (layer, head) in enumerate(LLAMA_ALIGNED_HEADS):
            def hook(module: Any, args: Any, output: Any, n: int = n, head: int = head) -> None:
                if isinstance(output, tuple) and len(output) > 1 and output[1] is not None:
                    self.weights[n] = output[1][:, head]  # (rows, queries, keys)

            self._handles.append(t3.tfmr.layers[layer].self_attn.register_forward_hook(hook))

    def row(self, row: int, pad: int, *, first: bool) -> list[Any]:
        """Row `row`'s weights as a single call sees them: the `pad` leading columns (and, on
        the prompt pass, rows) of left padding cut off."""
        return [(w[row, pad:, pad:] if first else w[row, :, pad:]).float().cpu() for w in self.weights]

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
