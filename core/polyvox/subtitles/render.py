"""Rendering subtitles: every cue's markup synthesized (through the same cache as scripts),
its clip trimmed and fitted to the timeline by a timing mode (polyvox.timing).

The timing mode only moves and stretches audio after synthesis, so rendering the same file
with another mode synthesizes nothing again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from polyvox.audio import Audio
from polyvox.errors import Cancelled, EmptyTextError, PolyvoxError, ScriptError, SegmentError
from polyvox.events import CancelToken
from polyvox.render.assembly import Assembler, JoinConfig
from polyvox.render.planner import Job
from polyvox.render.results import RenderResult, SegmentResult
from polyvox.subtitles.srt import Cue, read_srt, write_srt
from polyvox.subtitles.timing import TimingConfig, place, trim
from polyvox.text import chunking
from polyvox.text import markup as script
from polyvox.voices import library as voice_checks
from polyvox.voices.casting import Overlay, recast

if TYPE_CHECKING:
    from polyvox.render.pipeline import Pipeline


def render_subtitles(steps: Pipeline, cues: Sequence[Cue], warnings: list[str], *, engine: str | None,
                     model: str | None, voice: Any, voices: Any, language: str | None, seed: int | None,
                     params: Mapping[str, Any] | None, use_cache: bool, workers: int, batch_size: int,
                     join: JoinConfig, timing: TimingConfig, cancel: CancelToken | None,
                     output: str | Path | None) -> RenderResult:
    """Called by `Kernel.render` inside its render scope; `warnings` collects this render's."""
    began = time.perf_counter()
    loads, preps = steps.models.loads, steps.models.voice_preparations
    library = steps.voices(voices)
    narrator = steps.narrator(voice, library)
    per_cue = [_plan_cue(steps, cue, engine, model, narrator, library, language, seed, params) for cue in cues]
    extra = recast([j for cue_jobs in per_cue for j in cue_jobs], steps.plugins.specs, steps.warn) \
        if model is None else {}
    if extra:  # characters the engine cannot clone get its own spare voices
        cast = Overlay(library, extra)
        per_cue = [_plan_cue(steps, cue, engine, model, narrator, cast, language, seed, params) for cue in cues]
    jobs = [job for cue_jobs in per_cue for job in cue_jobs]
    voice_checks.check_jobs(jobs, steps.plugins.specs, steps.warn)
    rate = steps.rate(jobs)
    steps.started(jobs)
    done: dict[int, tuple[Audio, bool]] = {}
    for job, clip, cached in steps.scheduler.run(jobs, ordered=False, use_cache=use_cache, workers=workers,
                                                  batch_size=batch_size, cancel=cancel, warn=steps.warn):
        done[id(job)] = (clip, cached)
    clips, offsets = [], []
    for cue_jobs in per_cue:
        clip, where = _cue_clip(cue_jobs, done, rate, join, timing)
        clips.append(clip)
        offsets.append(where)
    audio, report, adjusted, notes = place(cues, clips, rate, timing)
    for note in notes:
        steps.warn("timing", note)
    results = []
    for cue_jobs, where, entry in zip(per_cue, offsets, report, strict=True):
        for job in cue_jobs:
            offset, length = where.get(id(job), (0.0, 0.0))
            clip, cached = done.get(id(job), (None, False))
            results.append(SegmentResult(
                len(results), job.segment, job.engine, job.model, job.request.language if job.request else None,
                job.request.voice.name if job.request else None, cached,
                entry.start + offset * entry.stretch, length * entry.stretch, job.key))
    if output is not None:
        audio.write(output)
    stats = steps.stats(results, began, loads, preps, audio.duration)
    return RenderResult(None if output is not None else audio, tuple(results), stats, tuple(warnings),
                        Path(output) if output is not None else None, timing=tuple(report),
                        srt=write_srt(adjusted))


def subtitle_cues(source: Any, skipped: list[str] | None = None) -> list[Cue] | None:
    """The cues when `source` is subtitles (cues, an .srt `Path`, or SRT text), else None;
    unreadable blocks go to `skipped`."""
    if isinstance(source, Sequence) and not isinstance(source, str) and source \
            and all(isinstance(c, Cue) for c in source):
        return list(source)
    if isinstance(source, Path):
        if source.suffix.lower() == ".srt":
            return read_srt(source, skipped)
        return None
    if isinstance(source, str):
        from polyvox.subtitles.srt import looks_like_srt

        return read_srt(source, skipped) if looks_like_srt(source) else None
    return None


def read_source(source: Any) -> Any:
    """A script `Path` becomes its text; anything else is returned as it is."""
    if isinstance(source, Path) and source.suffix.lower() != ".srt":
        from polyvox.subtitles.srt import decode

        try:
            return decode(source.read_bytes())  # UTF-8, else UTF-16 with BOM, else Windows-1252
        except OSError as exc:
            raise ScriptError(f"cannot read script {str(source)!r}: {exc.strerror or exc}") from None
    return source


def _plan_cue(steps: Pipeline, cue: Cue, engine: str | None, model: str | None, narrator: Any, library: Any,
              language: str | None, seed: int | None, params: Mapping[str, Any] | None) -> list[Job]:
    where = f"subtitle {cue.index} at {_stamp(cue.start)}"
    try:
        segments = script.parse(cue.text, steps.planner.all_language_codes())
    except ScriptError as exc:
        raise ScriptError(f"{where}: {exc}") from None
    segments = [attrs.evolve(s, line=None) for s in
                chunking.chunk_segments(segments, lambda s: steps.max_chars(s, engine))]
    if not any(s.text.strip() for s in segments):
        return []
    try:
        return steps.planner.plan(segments, device=steps.device, engine=engine, model=model, narrator=narrator,
                                   voices=library, language=language, params=params,
                                   seed=steps.seed if seed is None else seed, strict=True)
    except EmptyTextError:
        return []
    except (SegmentError, Cancelled):
        raise
    except PolyvoxError as exc:
        raise type(exc)(f"{where}: {exc}") from exc


def _cue_clip(jobs: list[Job], done: Mapping[int, tuple[Audio, bool]], rate: int, join: JoinConfig,
              timing: TimingConfig) -> tuple[Audio | None, dict[int, tuple[float, float]]]:
    """One cue's audio, its outer silence trimmed (pauses the cue asks for are kept), and
    where each job's audio starts in it (seconds) and lasts."""
    speech = [j for j in jobs if j.request is not None]
    if not speech:
        return None, {}
    assembler = Assembler(rate, join)
    chunks: list[Audio] = []
    where: dict[int, tuple[float, float]] = {}
    for job in jobs:
        if job.request is None:
            if job.segment.pause:
                where[id(job)] = (assembler.seconds, job.segment.pause)
                chunks.extend(assembler.add_silence(job.segment.pause))
            continue
        clip = done[id(job)][0].resample(rate)
        clip = trim(clip, timing.keep_ms, timing.silence_db, lead=job is speech[0], tail=job is speech[-1])
        chunks.extend(assembler.add(clip, job.segment.join))
        where[id(job)] = (assembler.start, clip.duration)
    chunks.extend(assembler.finish())
    return Audio.concatenate(chunks, rate), where


def _stamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
