"""Helpers of the contract kit: plan requests the kernel's way, call an engine's hooks
directly, make reference voices, and compare audio.

They are public so that a plugin's own tests can use them beyond the contract checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from polyvox.audio import Audio
from polyvox.errors import PolyvoxError
from polyvox.kernel import Kernel
from polyvox.plugin.spec import ParamSpec
from polyvox.render.planner import Job
from polyvox.text.segment import Segment
from polyvox.voices.voice import Voice


def plan_requests(kernel: Kernel, engine: str, texts: Sequence[str], *, voice: Voice | None = None,
                  language: str | None = None, seed: int | None = None,
                  params: Mapping[str, Any] | None = None) -> list[Job]:
    """The kernel's own plan for `texts` (one job each, params resolved and validated)."""
    jobs = kernel.plan([Segment(text=t) for t in texts], engine=engine, voice=voice, language=language,
                       seed=seed, params=dict(params or {}))
    speech = [j for j in jobs if j.request is not None]
    assert len(speech) == len(texts), "a contract text was split into chunks: use shorter texts"
    return speech


def call_engine(kernel: Kernel, jobs: Sequence[Job], *, batch: bool = False) -> list[Audio]:
    """Call the engine's hooks for `jobs` (same engine, model and voice) as the scheduler
    would, but directly: one `synthesize_segment` per job, or one `synthesize_batch`."""
    first = jobs[0]
    hook = kernel.plugins.hook
    entry = kernel.models.get(*first.model_key)
    conditioning = kernel.models.conditioning(
        entry, first.voice_key,
        lambda: hook.prepare_voice(engine=first.engine, model=entry.model, voice=first.request.voice,
                                   params=dict(first.request.params)))
    if batch:
        out = hook.synthesize_batch(engine=first.engine, model=entry.model, requests=[j.request for j in jobs],
                                    conditioning=conditioning)
        assert isinstance(out, list), f"synthesize_batch returned {type(out).__name__}, not a list of Audio"
        return out
    return [hook.synthesize_segment(engine=first.engine, model=entry.model, request=j.request,
                                    conditioning=conditioning) for j in jobs]


def reference_voice(folder: str | Path, name: str, f0: float, seconds: float = 1.0, rate: int = 16000,
                    reference_text: str | None = None) -> Voice:
    """A `Voice` whose reference audio (written to ``folder/name.wav``) is a harmonic tone at `f0` Hz:
    a real, pitched recording for tests of engines that condition on reference audio."""
    t = np.arange(round(seconds * rate)) / rate
    tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    path = Path(folder) / f"{name}.wav"
    Audio(0.5 * tone / np.max(np.abs(tone)), rate).write(path)
    return Voice(name=name, audio=path, reference_text=reference_text)


def assert_same_audio(a: Audio, b: Audio, what: str, atol: float = 0.0) -> None:
    """Same rate, same length, samples equal within `atol`."""
    assert a.sample_rate == b.sample_rate, f"{what}: sample rates differ ({a.sample_rate} vs {b.sample_rate})"
    assert len(a) == len(b), f"{what}: lengths differ ({len(a)} vs {len(b)} samples)"
    worst = float(np.max(np.abs(a.samples - b.samples))) if len(a) else 0.0
    assert worst <= atol, f"{what}: samples differ by up to {worst:.3g} (allowed {atol:g})"


def differ(a: Audio, b: Audio, atol: float = 0.0, floor: float = 0.01) -> bool:
    """Clearly different audio: other lengths, or samples apart by more than `atol` and by more
    than `floor` (1 %) of the louder clip's RMS (a text-dependent speck of noise is not different speech)."""
    if len(a) != len(b) or a.sample_rate != b.sample_rate:
        return True
    gap = a.samples.astype(np.float64) - b.samples.astype(np.float64)
    if not len(gap) or float(np.max(np.abs(gap))) <= atol:
        return False
    return float(np.sqrt(np.mean(gap * gap))) > floor * max(a.rms, b.rms)


def refuses(call: Callable[[], Any], what: str) -> None:
    """`call` must raise a PolyvoxError (a one-line message a user can act on), nothing else."""
    try:
        call()
    except PolyvoxError as exc:
        assert str(exc) and "\n" not in str(exc), f"{what}: the error message is not one line: {exc!r}"
        return
    except Exception as exc:
        pytest.fail(f"{what}: raised {type(exc).__name__}: {exc}, not a polyvox.PolyvoxError")
    pytest.fail(f"{what}: raised nothing; expected a polyvox.PolyvoxError")


def bad_values(p: ParamSpec) -> list[Any]:
    """Values `p` must refuse: outside its bounds or choices, or not of its type."""
    out: list[Any] = []
    span = abs(p.max - p.min) if p.min is not None and p.max is not None else 1.0
    if p.min is not None:
        out.append(p.min - max(span, 1.0))
    if p.max is not None:
        out.append(p.max + max(span, 1.0))
    if p.choices:
        out.append("not-one-of-the-choices")
    if p.type in ("int", "float", "bool"):
        out.append("not-a-value")
    if p.type == "int":
        out.append(1.5)
    return out


def other_value(p: ParamSpec) -> Any:
    """A valid value of `p` other than its default (None if it has none to offer): another
    choice, the other truth value, or a step of a quarter of its range towards the far bound."""
    if p.choices:
        return next((c for c in p.choices if c != p.default), None)
    if p.type == "bool":
        return not p.default
    if p.type not in ("int", "float") or p.default is None or p.min is None or p.max is None:
        return None
    step = (p.max - p.min) / 4
    value = p.default + step if p.default + step <= p.max else p.default - step
    value = round(value) if p.type == "int" else value
    return value if value != p.default and p.min <= value <= p.max else None
