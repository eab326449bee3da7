"""`polyvox render --dry-run`: every segment as its engine would receive it, nothing synthesized."""

from __future__ import annotations

from typing import Any

import click

from polyvox.cli.options import emit_json, parse_sets, settings, state


def dry_run(source: Any, *, engine: str | None = None, model: str | None = None, voices: str | None = None,
            narrator: str | None = None, language: str | None = None, seed: int | None = None,
            sets: tuple[str, ...] = (), strict: bool = False, normalize: bool | None = None,
            cast: str | None = None, **_ignored: Any) -> None:
    """Plan `source` and print one line per segment (or, with --json, a list of objects)."""
    conf = settings(engine=engine, model=model, voices=voices, narrator=narrator, language=language, seed=seed,
                    cast=cast, normalize=normalize)
    kernel = conf.kernel()
    jobs = kernel.plan(source, engine=conf.value("engine"), model=conf.value("model"),
                       voice=conf.value("narrator"), voices=conf.value("voices"), language=conf.value("language"),
                       seed=conf.value("seed"), params=parse_sets(sets), strict=strict,
                       cast=conf.value("cast"), normalize=conf.value("normalize"))
    rows = [_row(job) for job in jobs]
    if state().json:
        emit_json({"segments": rows})
        return
    for row in rows:
        where = f"line {row['line']}: " if row["line"] else ""
        if row["pause"]:
            click.echo(f"{row['index']:>3} {where}pause {row['pause']:g} s")
            continue
        click.echo(f"{row['index']:>3} {where}{row['engine']} {row['voice']} [{row['language']}] {row['text']}")


def _row(job: Any) -> dict[str, Any]:
    seg, request = job.segment, job.request
    return {
        "index": job.index, "line": seg.line, "pause": seg.pause if seg.is_pause else 0.0,
        "written": seg.text, "text": request.text if request is not None else "",
        "engine": job.engine, "model": job.model, "character": seg.character,
        "voice": request.voice.name if request is not None else None,
        "language": request.language if request is not None else None,
    }
