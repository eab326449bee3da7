"""The checks of `Kernel`'s and `render`'s arguments of simple types: each bad value is a
one-line `ParameterError` naming it, at the call, before anything is opened or planned."""

from __future__ import annotations

import os
from typing import Any

from polyvox.errors import ParameterError
from polyvox.mastering.loudness import Loudness


def _whole(value: Any, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def check_kernel_options(cache_dir: Any, size_limit: Any, max_models: Any, memory_budget: Any, on_event: Any) -> None:
    """The `Kernel` options of simple types, each a one-line error naming the value."""
    if cache_dir is not None and not isinstance(cache_dir, (str, os.PathLike)):
        raise ParameterError(f"cache_dir={cache_dir!r} is not valid: expected a folder's path (str or Path) or None")
    if not _whole(size_limit, 1):
        raise ParameterError(f"cache_size_limit={size_limit!r} is not valid: expected bytes, a whole number above 0")
    if max_models is not None and not _whole(max_models, 1):
        raise ParameterError(f"max_models={max_models!r} is not valid: expected None (no limit) or 1 or more")
    if memory_budget is not None and not _whole(memory_budget, 1):
        raise ParameterError(f"memory_budget={memory_budget!r} is not valid: expected None (no limit) or bytes, "
                             "a whole number above 0")
    check_listener(on_event)


def check_listener(on_event: Any) -> None:
    """`on_event`: None or a function that takes each event."""
    if on_event is not None and not callable(on_event):
        raise ParameterError(f"on_event={on_event!r} is not valid: expected a function that takes each event")


def loudness_of(target: float | Loudness | None, true_peak: float | None) -> Loudness | None:
    """`render`'s `loudness` and `true_peak` as one `Loudness` (None: takes as they are)."""
    if target is None or isinstance(target, Loudness):
        if true_peak is not None:
            raise ParameterError(f"true_peak={true_peak!r} applies with a loudness target: give loudness too")
        return target
    try:
        return Loudness(target, -1.0 if true_peak is None else true_peak)
    except (TypeError, ValueError):  # "loud": no number (a number out of range has its own message)
        raise ParameterError(f"loudness={target!r}, true_peak={true_peak!r} is not valid: expected a target in LUFS "
                             "such as -18 and a ceiling in dBTP such as -1, or a polyvox.Loudness") from None
