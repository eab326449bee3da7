"""S3Gen for several token sequences of one voice: token-to-mel in one pass, the vocoder per item.

Upstream's `S3Gen.inference` asserts nothing about the batch itself, but its flow stage draws
its noise for the whole padded batch at once (`torch.randn_like`), so an item's noise would
depend on its neighbours, and the encoder's look-ahead convolution reads the embedded padding
after a shorter item. This module runs the same upstream modules (`flow.input_embedding`, the
conformer encoder's layers, `encoder_proj`, the CFM decoder's Euler solvers) with two changes:

- each item's noise is drawn from its own stream, in the shape and order a single call draws it,
  and placed in its own row (the padding after it is masked);
- the encoder zeroes the padding before its look-ahead convolution, exactly what a lone item
  sees there (upstream pads with zeros). Everything after it is causal or masked by length.

The vocoder (HiFT) is **not** batched: its convolutions are non-causal and unmasked, so the
last ~100 ms of a shorter item would hear the padding, and its source excitation draws random
phases and noise for the whole batch. It runs once per item, which is a small share of S3Gen's
time next to the flow's 10 (Turbo: 2) decoder steps on full-length sequences.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .seeding import Streams


def waveforms(s3gen: Any, rows: Sequence[Any], ref: dict[str, Any], steps: int, streams: Streams,
              items: Sequence[int]) -> list[Any]:
    """Each token row (1-D) as a waveform (1, samples) in the voice of `ref`; `items[n]` is row
    n's random stream."""
    out = []
    for n, mel in enumerate(mels(s3gen, rows, ref, steps, streams, items)):
        with streams.use(items[n]):
            wav, _ = s3gen.hift_inference(mel.unsqueeze(0).to(dtype=s3gen.dtype), None)
        wav[:, : len(s3gen.trim_fade)] *= s3gen.trim_fade  # upstream's fade-in against reference spill-over
        out.append(wav)
    return out


def mels(s3gen: Any, rows: Sequence[Any], ref: dict[str, Any], steps: int, streams: Streams,
         items: Sequence[int]) -> list[Any]:
    """Upstream's `flow.inference` (finalize=True) for all rows at once: a mel (80, frames) each."""
    import torch
    import torch.nn.functional as F  # noqa: N812 - torch's convention
    from chatterbox.models.s3gen.utils.mask import make_pad_mask

    flow, device, dtype = s3gen.flow, s3gen.device, s3gen.dtype
    ref = {k: (v.to(device=device, dtype=dtype) if torch.is_tensor(v) and v.is_floating_point() else
               v.to(device=device) if torch.is_tensor(v) else v) for k, v in ref.items()}
    batch = len(rows)
    lengths = torch.tensor([r.numel() for r in rows], dtype=torch.long, device=device)
    tokens = torch.zeros(batch, int(lengths.max()), dtype=torch.long, device=device)
    for n, row in enumerate(rows):
        tokens[n, : row.numel()] = row.to(device)

    embedding = flow.spk_embed_affine_layer(F.normalize(torch.atleast_2d(ref["embedding"]), dim=1))
    embedding = embedding.expand(batch, -1)
    prompt = torch.atleast_2d(ref["prompt_token"]).to(device)
    prompt_feat = ref["prompt_feat"]
    token = torch.cat([prompt.expand(batch, -1), tokens], dim=1)
    token_len = prompt.size(1) + lengths
    mask = (~make_pad_mask(token_len)).unsqueeze(-1).to(embedding)
    h, h_masks = _encode(flow.encoder, flow.input_embedding(token) * mask, token_len)
    h_lengths = h_masks.sum(dim=-1).squeeze(dim=-1)
    prompt_frames = prompt_feat.shape[1]
    h = flow.encoder_proj(h)
    conds = torch.zeros([batch, h.size(1), flow.output_size], device=device, dtype=h.dtype)
    conds[:, :prompt_frames] = prompt_feat
    mu = h.transpose(1, 2).contiguous()
    mel_mask = (~make_pad_mask(h_lengths, h.size(1))).unsqueeze(1).to(h)

    z = torch.zeros_like(mu)
    for n, row in enumerate(rows):
        frames = int(h_lengths[n])
        with streams.use(items[n]):  # the draws of upstream's flow_inference + CFM forward, in order
            noised = (torch.randn(1, 80, row.numel() * 2, dtype=dtype, device=device) if s3gen.meanflow else None)
            noise = torch.randn(1, mu.size(1), frames, dtype=mu.dtype, device=device)
        if noised is not None:
            noise[..., frames - noised.size(2):] = noised
        z[n, :, :frames] = noise[0]

    decoder = flow.decoder
    t_span = torch.linspace(0, 1, steps + 1, device=device, dtype=mu.dtype)
    if s3gen.meanflow:
        feat = decoder.basic_euler(z, t_span=t_span, mu=mu, mask=mel_mask, spks=embedding, cond=conds.transpose(1, 2))
    else:
        if decoder.t_scheduler == "cosine":
            t_span = 1 - torch.cos(t_span * 0.5 * torch.pi)
        feat = decoder.solve_euler(z, t_span=t_span, mu=mu, mask=mel_mask, spks=embedding,
                                   cond=conds.transpose(1, 2), meanflow=False)
    return [feat[n, :, prompt_frames : int(h_lengths[n])] for n in range(batch)]


def _encode(encoder: Any, xs: Any, xs_lens: Any) -> tuple[Any, Any]:
    """Upstream's `UpsampleConformerEncoder.forward` (full context, as inference uses it), with
    the padding zeroed before the look-ahead convolution, as a lone sequence's zero padding."""
    from chatterbox.models.s3gen.utils.mask import add_optional_chunk_mask, make_pad_mask

    masks = ~make_pad_mask(xs_lens, xs.size(1)).unsqueeze(1)  # (B, 1, T)
    if encoder.global_cmvn is not None:
        xs = encoder.global_cmvn(xs)
    xs, pos_emb, masks = encoder.embed(xs, masks)
    chunk_masks = add_optional_chunk_mask(xs, masks, encoder.use_dynamic_chunk, encoder.use_dynamic_left_chunk, 0,
                                         encoder.static_chunk_size, -1)
    xs = encoder.pre_lookahead_layer(xs * masks.transpose(1, 2).to(xs.dtype))
    xs = encoder.forward_layers(xs, chunk_masks, pos_emb, masks)
    xs, xs_lens = encoder.up_layer(xs.transpose(1, 2).contiguous(), xs_lens)
    xs = xs.transpose(1, 2).contiguous()
    masks = ~make_pad_mask(xs_lens, xs.size(1)).unsqueeze(1)
    xs, pos_emb, masks = encoder.up_embed(xs, masks)
    chunk_masks = add_optional_chunk_mask(xs, masks, encoder.use_dynamic_chunk, encoder.use_dynamic_left_chunk, 0,
                                         encoder.static_chunk_size * encoder.up_layer.stride, -1)
    xs = encoder.forward_up_layers(xs, chunk_masks, pos_emb, masks)
    if encoder.normalize_before:
        xs = encoder.after_norm(xs)
    return xs, masks
