"""Batch synthesis on the English and multilingual models: every item equals the same segment
synthesized alone, and a batch of one equals upstream's own single-item code.

Rows are mixed on purpose: different seeds, lengths, budgets and sampling settings in one
batch, and (with the stop token's logit raised) rows that stop early next to rows that go on.
"""

from __future__ import annotations

import polyvox

from .batching import decoder_equals_upstream
from .conftest import loaded


def test_batched_decoder_with_guidance_equals_upstream_inference(kernel: polyvox.Kernel) -> None:
    decoder_equals_upstream(loaded(kernel, "english"), steps=1)
