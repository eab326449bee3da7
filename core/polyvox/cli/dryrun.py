"""`polyvox render --dry-run`: every segment as its engine would receive it, nothing synthesized."""

from __future__ import annotations

from typing import Any

import click

from polyvox.cli.options import emit_json, parse_sets, settings, state
from polyvox.events import Warning


def dry_run(source: Any, *, engine: str | None = None, model: str | None = None, voices: str | None = None,
            narrator: str | None = None, language: str | None = None, seed: int | None = None,
            sets: tuple[str, ...] = (), strict: bool = False, normalize: bool | None = None,
            cast: str | None = None, **_ignored: Any) -> None:
    """Plan `source` and print one line per segment (or, with --json, a list of objects)."""
    conf = settings(engine=engine, model=model, voices=voices, narrator=narrator, language=language, seed=seed,
                    cast=cast, normalize=normalize)
    kernel = conf.kernel()
    warnings: list[str] = []  # what a render would warn of (markup, casting, dropped parameters)
    kernel.subscribe(lambda event: warnings.append(event.message) if isinstance(event, Warning) else None)
    jobs = kernel.plan(source, engine=conf.value("engine"), model=conf.value("model"),
                       voice=conf.value("narrator"), voices=conf.value("voices"), language=conf.value("language"),
                       seed=conf.value("seed"), params=parse_sets(sets), strict=strict,
                       cast=conf.value("cast"), normalize=conf.value("normalize"))
    defaults = {spec.name: spec.defaults() for spec in kernel.engines()}
    rows = [_row(job, defaults.get(job.engine or "", {})) for job in jobs]
    if state().json:
        emit_json({"segments": rows, "warnings": warnings})
        return
    for row in rows:
        where = f"line {row['line']}: " if row["line"] else ""
        if row["pause"]:
            click.echo(f"{row['index']:>3} {where}pause {row['pause']:g} s")
            continue
        params = "".join(f" {k}={v}" for k, v in row["params"].items())
        click.echo(f"{row['index']:>3} {where}{row['engine']} {row['voice']} [{row['language']}]{params} "
                   f"{row['text']}")
    for message in warnings:  # on stderr, as a render's: the segment list stays pipeable
        click.echo(f"warning: {message}", err=True)


def _row(job: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    """One segment as the engine gets it; `params` only those that differ from the engine's defaults."""
    seg, request = job.segment, job.request
    return {
        "index": job.index, "line": seg.line, "pause": seg.pause if seg.is_pause else 0.0,
        "written": seg.written, "text": request.text if request is not None else "",
        "engine": job.engine, "model": job.model, "character": seg.character,
        "voice": request.voice.name if request is not None else None,
        "language": request.language if request is not None else None,
        "params": {k: v for k, v in request.params.items() if defaults.get(k) != v} if request is not None else {},
        "seed": request.seed if request is not None else None,
    }
