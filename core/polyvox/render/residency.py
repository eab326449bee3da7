"""How long loaded models stay, how much memory each device lends them, and what a load measured.

`keep_alive`: seconds a model may sit unused before it is unloaded (0: as soon as nobody uses
it, None: never), as a default and per engine or ``engine:model``. `max_memory`: bytes per
device (``cpu``, ``cuda:0``...) that loaded models may hold; past it the least recently used
ones not in use are unloaded. A model's size is what its engine says (the `model_size` hook,
else a ``memory_bytes`` attribute on the loaded model), else what the load measurably took: the
process's resident memory on the CPU, CUDA's allocated memory on a GPU where the engine has
already imported torch (the kernel never imports it).
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Mapping
from typing import Any

import attrs

from polyvox.errors import PolyvoxError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?", re.IGNORECASE)


def parse_keep_alive(text: str | float | None) -> float | None:
    """Seconds from ``10m``, ``30s``, ``1h``, ``0`` or ``-1`` (never: None)."""
    if isinstance(text, float) and math.isnan(text):
        raise PolyvoxError("keep-alive nan is not a duration: give seconds or 30s, 10m, 1h; 0 unloads a model as "
                           "soon as no request uses it, -1 never")
    if text is None or isinstance(text, (int, float)):
        return None if text is None or text < 0 else float(text)
    value = str(text).strip().lower()
    if value in ("-1", "never", "forever"):
        return None
    match = _DURATION.fullmatch(value)
    if match is None:
        raise PolyvoxError(f"keep-alive {text!r} is not a duration: give seconds or 30s, 10m, 1h; 0 unloads a "
                           "model as soon as no request uses it, -1 never")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_size(text: str) -> int:
    """Bytes from ``4GB``, ``512MB``, ``20GiB`` or a plain number."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise PolyvoxError(f"memory size {text!r} is not a size: give bytes or 512MB, 4GB, 20GiB")
    power = " kmgt".index(match.group(2).lower() or " ")
    return int(float(match.group(1)) * 1024**power)


def device_name(device: str | None) -> str:
    """The budget a model on `device` counts against: ``cuda`` is ``cuda:0``; unknown is ``cpu``."""
    if not device or device == "auto":
        return "cpu"
    return "cuda:0" if device == "cuda" else "mps:0" if device == "mps" else device


def parse_max_memory(items: Mapping[str, Any] | list[str] | tuple[str, ...] | None) -> dict[str, int]:
    """``["cpu=4GB", "cuda:0=20GB"]`` (or a mapping) as {device: bytes}."""
    pairs: list[tuple[str, Any]] = []
    if isinstance(items, str):  # one DEVICE=SIZE, not its letters
        items = [items]
    if isinstance(items, Mapping):
        pairs = list(items.items())
    else:
        for item in items or ():
            device, sep, size = item.partition("=")
            if not sep or not device.strip():
                raise PolyvoxError(f"max-memory {item!r} is not DEVICE=SIZE: give cpu=4GB or cuda:0=20GB")
            pairs.append((device.strip(), size))
    out = {}
    for device, size in pairs:
        if not re.fullmatch(r"(cpu|cuda|mps)(:\d+)?", device):
            raise PolyvoxError(f"max-memory device {device!r} is not cpu, cuda, cuda:N or mps")
        out[device_name(device)] = size if isinstance(size, int) else parse_size(str(size))
    return out


@attrs.frozen
class KeepAlive:
    """Seconds a model may idle before it is unloaded: `default`, or the most specific entry of
    `only` (``engine:model`` before ``engine``). None: never."""

    default: float | None = None
    only: Mapping[str, float | None] = attrs.field(factory=dict)

    @classmethod
    def parse(cls, values: str | float | list[str] | tuple[str, ...] | None) -> KeepAlive:
        """From ``10m`` or ``["10m", "piper=-1", "kokoro:v1=0"]``."""
        if values is None or isinstance(values, (int, float, str)):
            return cls(parse_keep_alive(values))
        default, only = None, {}
        for value in values:
            name, sep, duration = str(value).rpartition("=")
            if sep:
                only[name.strip()] = parse_keep_alive(duration)
            else:
                default = parse_keep_alive(duration)
        return cls(default, only)

    def seconds(self, engine: str, model: str) -> float | None:
        for name in (f"{engine}:{model}", engine):
            if name in self.only:
                return self.only[name]
        return self.default

    @property
    def ever(self) -> bool:
        """Whether any model is ever unloaded for idling."""
        return self.default is not None or any(v is not None for v in self.only.values())


def resident_bytes() -> int | None:
    """This process's resident memory (Linux: /proc), or None where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def gpu_bytes(device: str) -> int | None:
    """CUDA memory allocated on `device`, if an engine has imported torch and used CUDA."""
    torch = sys.modules.get("torch")
    if torch is None or not device.startswith("cuda"):
        return None
    try:
        if not torch.cuda.is_initialized():
            return None
        return int(torch.cuda.memory_allocated(device))
    except Exception:  # noqa: BLE001 - a measurement only
        return None


class Measure:
    """What a load took on `device`: ``with Measure(device) as m: load()``, then `m.bytes`."""

    def __init__(self, device: str):
        self.device = device_name(device)
        self.bytes: int | None = None

    def _now(self) -> int | None:
        return gpu_bytes(self.device) if self.device.startswith("cuda") else resident_bytes()

    def __enter__(self) -> Measure:
        self._before = self._now()
        return self

    def __exit__(self, *exc: Any) -> None:
        after = self._now()
        if self.device.startswith("cuda") and after is None:  # torch came in with the load
            after = gpu_bytes(self.device)
            self._before = 0 if after is not None else None
        if self._before is not None and after is not None:
            self.bytes = max(0, after - self._before)


def reported_size(size: Any, model: Any) -> int | None:
    """The engine's own figure: the `model_size` hook's answer, else ``model.memory_bytes``."""
    for value in (size, getattr(model, "memory_bytes", None)):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None
