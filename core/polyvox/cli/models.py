"""`polyvox models`: every engine's model weights — list, pull, rm, path.

Hub files live in huggingface_hub's cache (HF_HUB_CACHE / HF_HOME), shared with every other
Hugging Face tool; files from plain URLs in polyvox's models folder (POLYVOX_MODELS_DIR).
"""

from __future__ import annotations

from typing import Any

import click

from polyvox.cli.options import (
    confirm,
    emit_json,
    escape,
    output_options,
    settings,
    state,
    stderr_console,
    stdout_console,
    table,
)
from polyvox.errors import PolyvoxError


def _kernel() -> Any:
    return settings().kernel(cache=False)


def _names(kernel: Any) -> list[str]:
    """Every engine, then every listener (their models are managed the same way)."""
    return [s.name for s in kernel.engines()] + [s.name for s in kernel.listeners()]


def _is_listener(kernel: Any, name: str) -> bool:
    return name in {s.name for s in kernel.listeners()}


def _default(kernel: Any, name: str) -> str:
    return (kernel.listener(name) if _is_listener(kernel, name) else kernel.engine(name)).default_model


def _models(kernel: Any, engine: str) -> dict[str, list[str]]:
    """Model -> languages it speaks, for every model `engine` declares or maps a language to
    (a listener: every model it declares, with the languages it hears)."""
    if _is_listener(kernel, engine):
        return {model: list(langs) for model, langs in kernel.listener(engine).models}
    spec = kernel.engine(engine)
    out: dict[str, list[str]] = {m: [] for m in (spec.models or (spec.default_model,))}
    for code, model in kernel.models_for(engine).items():
        out.setdefault(model, []).append(code)
    return out


def _row(kernel: Any, engine: str, model: str, languages: list[str]) -> dict[str, Any]:
    from polyvox.weights import human_size

    try:
        declared = kernel.weights.declared(engine, model)
        status = kernel.weights.status(engine, model)
    except PolyvoxError as exc:  # one engine's broken declaration must not hide the others
        return {"engine": engine, "model": model, "languages": languages, "state": "error", "size_bytes": None,
                "size": "–", "missing": [], "license": "", "path": None, "error": str(exc)}
    size = declared.size if declared is not None else None
    if status is not None and size is None and status.state == "present":
        size = status.on_disk
    return {"engine": engine, "model": model, "languages": languages,
            "state": status.state if status is not None else "engine-managed",
            "size_bytes": size, "size": human_size(size) if declared is not None else "–",
            "missing": list(status.missing) if status is not None else [],
            "license": declared.license if declared is not None else "",
            "path": str(status.folder) if status is not None and status.folder is not None else None}


def rows(kernel: Any, engine: str | None = None) -> list[dict[str, Any]]:
    engines = [engine] if engine else _names(kernel)
    return [_row(kernel, e, m, langs) for e in engines for m, langs in _models(kernel, e).items()]


def _target(kernel: Any, value: str, every: bool = False) -> list[tuple[str, str]]:
    """ENGINE[:MODEL] as (engine, model) pairs: the default model, or every model with `every`."""
    engine, _, model = value.strip().partition(":")
    if not engine:
        raise click.UsageError(f"{value!r} names no engine: give ENGINE or ENGINE:MODEL, such as piper or "
                               "kokoro:af_bella (`polyvox models` lists them)")
    # an unknown engine is a one-line error naming the installed ones
    default = _default(kernel, engine)
    if model and every:
        raise click.UsageError(f"--all fetches every model of an engine: give {engine}, not {value}")
    if every:
        return [(engine, m) for m in _models(kernel, engine)]
    model = model or default
    if kernel.weights.declared(engine, model) is None:
        known = [m for m in _models(kernel, engine) if kernel.weights.declared(engine, m) is not None]
        raise PolyvoxError(f"{engine} model {model!r} has no weights polyvox manages; models with weights: "
                           f"{', '.join(known) or 'none'}")
    return [(engine, model)]


_STYLE = {"present": "green", "partial": "yellow", "missing": "red"}


@click.group(short_help="Model weights: list, pull, rm, path.", invoke_without_command=True)
@click.option("-e", "--engine", metavar="ENGINE", help="Only this engine's models.")
@output_options
@click.pass_context
def models(ctx: click.Context, engine: str | None) -> None:
    """List every engine's (and listener's) models: languages, size, present / partial / missing, and where.

    \b
      polyvox models                     every engine's models
      polyvox models pull chatterbox     fetch the default model (resumes a broken download)
      polyvox models pull f5tts --all    every model of an engine
      polyvox models pull whisper:small  a listener's model (render --verify)
      polyvox models rm chatterbox:turbo
      polyvox models path f5tts:F5TTS_German
    """
    if ctx.invoked_subcommand is not None:
        return
    kernel = _kernel()
    data = rows(kernel, engine)
    st = state()
    if st.json:
        emit_json(data)
        return
    if st.quiet:
        return
    listing = table("engine", "model", "languages", "size", "state", "path", title="Models")
    for row in data:
        style = _STYLE.get(row["state"], "dim")
        listing.add_row(row["engine"], escape(row["model"]), ", ".join(row["languages"]) or "–", row["size"],
                        f"[{style}]{row['state']}[/]", escape(row["path"] or "–"))
    stdout_console().print(listing)


@models.command()
@click.argument("target", metavar="ENGINE[:MODEL]")
@click.option("--all", "every", is_flag=True, help="Every model of ENGINE (all its languages).")
@output_options
def pull(target: str, every: bool) -> None:
    """Fetch a model's weights (the engine's default model without :MODEL), with progress.

    An interrupted download resumes where it stopped when you run the command again.
    """
    kernel = _kernel()
    pairs = _target(kernel, target, every)
    st = state()
    fetched = []
    with _Bars(None if st.quiet or st.json else stderr_console()) as bars:
        unsubscribe = kernel.subscribe(bars)
        try:
            for engine, model in pairs:
                if kernel.weights.declared(engine, model) is None:
                    continue
                files = kernel.weights.pull(engine, model)
                fetched.append({"engine": engine, "model": model, "files": [str(p) for p in files.all()]})
        finally:
            unsubscribe()
    if st.json:
        emit_json(fetched)
    elif not st.quiet:
        for item in fetched:
            stdout_console().print(f"{item['engine']}:{escape(item['model'])} [green]present[/] "
                                   f"({len(item['files'])} file{'' if len(item['files']) == 1 else 's'})")


@models.command()
@click.argument("target", metavar="ENGINE[:MODEL]")
@click.option("--all", "every", is_flag=True, help="Every model of ENGINE.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation (needed without a terminal).")
@output_options
def rm(target: str, every: bool, yes: bool) -> None:
    """Delete a model's downloaded files (files another model still uses are kept)."""
    kernel = _kernel()
    pairs = _target(kernel, target, every)
    named = ", ".join(f"{engine}:{model}" for engine, model in pairs)
    if not confirm(f"the downloaded files of {named}", yes, "polyvox models rm"):
        click.echo("nothing removed", err=True)
        return
    everything = [(e, m) for e in _names(kernel) for m in _models(kernel, e)]
    removed = []
    for engine, model in pairs:
        if kernel.weights.declared(engine, model) is None:
            continue
        removed += kernel.weights.remove(engine, model, [p for p in everything if p not in pairs])
    st = state()
    if st.json:
        emit_json({"removed": [str(p) for p in removed]})
    elif not st.quiet:
        files = "file" if len(removed) == 1 else "files"
        stdout_console().print(f"removed {len(removed)} {files}" if removed else "nothing to remove")


@models.command()
@click.argument("target", metavar="ENGINE[:MODEL]", required=False)
def path(target: str | None) -> None:
    """Where a model's files are (or will be); without ENGINE, the two folders weights live in."""
    from polyvox.weights import hub_cache, models_dir

    if target is None:
        click.echo(f"hub cache: {hub_cache()}")
        click.echo(f"models folder: {models_dir()}")
        return
    kernel = _kernel()
    ((engine, model),) = _target(kernel, target)
    status = kernel.weights.status(engine, model)
    click.echo(str(status.folder) if status is not None and status.folder is not None else "")


class _Bars:
    """One rich progress bar per file being fetched, from the kernel's download events."""

    def __init__(self, console: Any):
        self.console = console
        self.progress: Any = None
        self.tasks: dict[tuple[str, str, str], Any] = {}

    def __enter__(self) -> _Bars:
        if self.console is not None:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                     TransferSpeedColumn(), TimeRemainingColumn(), console=self.console)
            self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, event: Any) -> None:
        from polyvox.events import DownloadProgress

        if self.progress is None or not isinstance(event, DownloadProgress):
            return
        key = (event.engine, event.model, event.filename)
        if key not in self.tasks:
            self.tasks[key] = self.progress.add_task(escape(f"{event.engine}:{event.model} {event.filename}"),
                                                     total=event.total)
        self.progress.update(self.tasks[key], completed=event.done, total=event.total)
