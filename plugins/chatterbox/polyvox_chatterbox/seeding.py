"""Per-item random streams, so an item's audio depends on its own seed and not on its batch.

Upstream draws every random number from torch's global generators: T3's token sampling
(`torch.multinomial`), S3Gen's flow noise (`torch.randn`), and HiFT's source excitation
(phases drawn on the CPU, noise on the model's device). A single call seeds them with
``torch.manual_seed(seed)`` and lets each stage consume the stream in turn.

A batch keeps one saved generator state per item and swaps it in around every draw that
belongs to that item (`Streams.use`), so item `i` consumes exactly the numbers, in exactly
the order, that it would consume alone. Swapping a state is a copy of a few kilobytes, cheap
next to a transformer step. The caller runs inside `torch.random.fork_rng`, which restores
its own state afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any


class Streams:
    """One random stream per item, each as ``torch.manual_seed(seed)`` leaves the generators."""

    def __init__(self, seeds: Sequence[int], device: str):
        import torch

        self._cuda = (torch.device(device).index or 0) if device.startswith("cuda") else None
        self._states: list[tuple[Any, Any]] = []
        for seed in seeds:
            torch.manual_seed(seed)
            self._states.append(self._get())

    def __len__(self) -> int:
        return len(self._states)

    @contextlib.contextmanager
    def use(self, item: int) -> Iterator[None]:
        """Item `item`'s stream is torch's global one inside the block, and keeps what it consumed."""
        self._set(self._states[item])
        try:
            yield
        finally:
            self._states[item] = self._get()

    def _get(self) -> tuple[Any, Any]:
        import torch

        cuda = torch.cuda.get_rng_state(self._cuda) if self._cuda is not None else None
        return torch.get_rng_state(), cuda

    def _set(self, state: tuple[Any, Any]) -> None:
        import torch

        torch.set_rng_state(state[0])
        if self._cuda is not None:
            torch.cuda.set_rng_state(state[1], self._cuda)
