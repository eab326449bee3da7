"""`polyvox engines`, `polyvox voices` and `polyvox plugins`: what is installed and usable."""

from __future__ import annotations

from typing import Any

import click

from polyvox.cli.options import emit_json, escape, output_options, settings, state, stdout_console


def _kernel(**kwargs: Any) -> Any:
    return settings().kernel(**kwargs)


def _caps(spec: Any) -> str:
    caps = spec.capabilities
    flags = ("needs_reference_audio", "needs_reference_text", "clones", "thread_safe", "batch", "seeded")
    names = [name.replace("_", "-") for name in flags if getattr(caps, name)]
    return ", ".join(names) or "–"


def _runs(where: str) -> str:
    """Short, for the table: the environment's path is in `polyvox engines ENGINE` and --json."""
    return where if where == "in-process" else "own environment"


def _param_dict(p: Any) -> dict[str, Any]:
    return {"name": p.name, "type": p.type, "default": p.default, "min": p.min, "max": p.max,
            "choices": list(p.choices) if p.choices else None, "aliases": list(p.aliases), "help": p.help,
            "allowed": p.describe()}


def _engine_dict(kernel: Any, spec: Any, detail: bool) -> dict[str, Any]:
    import attrs

    out: dict[str, Any] = {
        "name": spec.name, "plugin": kernel.plugin_of(spec.name), "runs": kernel.runs_in(spec.name),
        "languages": list(spec.languages),
        "default_model": spec.default_model, "sample_rate": spec.sample_rate, "max_chars": spec.max_chars,
        "priority": spec.priority, "description": spec.description,
        "capabilities": attrs.asdict(spec.capabilities),
    }
    if detail:
        out["parameters"] = [_param_dict(p) for p in spec.params]
        out["models"] = list(spec.models)
        out["voices"] = list(spec.voices)
        out["models_by_language"] = kernel.models_for(spec.name)
    return out


@click.command(short_help="Installed engines; ENGINE: its parameters and models.")
@click.argument("engine", required=False)
@output_options
def engines(engine: str | None) -> None:
    """List installed engines, or show ENGINE's parameters and models."""
    from rich.table import Table

    kernel = _kernel(cache=False)
    specs = [kernel.engine(engine)] if engine else kernel.engines()
    st = state()
    if st.json:
        data = [_engine_dict(kernel, spec, detail=bool(engine)) for spec in specs]
        emit_json(data[0] if engine else data)
        return
    if st.quiet:
        return
    console = stdout_console()
    if not engine:
        table = Table(title="Engines", title_justify="left")
        # "runs" only when some engine runs in its own environment: the usual table stays narrow
        runs = {spec.name: _runs(kernel.runs_in(spec.name)) for spec in specs}
        isolated = any(where != "in-process" for where in runs.values())
        for column in ("engine", "plugin", "languages", "default model", "sample rate", "capabilities",
                       *(("runs",) if isolated else ())):
            table.add_column(column)
        for spec in specs:
            table.add_row(spec.name, kernel.plugin_of(spec.name) or "?", _languages(spec.languages),
                          spec.default_model, f"{spec.sample_rate} Hz", _caps(spec),
                          *((runs[spec.name],) if isolated else ()))
        console.print(table if specs else "[yellow]no engine is installed: pip install polyvox-piper[/]")
        for failure in kernel.failures:
            console.print(f"[red]plugin {escape(failure.name)} failed to load: {escape(failure.error)}[/]")
        return
    spec = specs[0]
    console.print(f"[bold]{spec.name}[/] ({kernel.plugin_of(spec.name) or '?'})"
                  + (f": {spec.description}" if spec.description else ""))
    console.print(f"runs {escape(kernel.runs_in(spec.name))}")
    console.print(f"sample rate {spec.sample_rate} Hz · up to {spec.max_chars} characters a segment · "
                  f"capabilities: {_caps(spec)}")
    params = Table(title="Parameters", title_justify="left")
    for column in ("name", "default", "allowed", "aliases", "help"):
        params.add_column(column)
    for p in spec.params:
        params.add_row(p.name, repr(p.default), p.describe(), ", ".join(p.aliases), p.help)
    console.print(params if spec.params else "no parameters")
    models = Table(title="Models by language", title_justify="left")
    models.add_column("language")
    models.add_column("model")
    for code, model in kernel.models_for(spec.name).items():
        models.add_row(code, model + (" [dim](default)[/]" if model == spec.default_model else ""))
    console.print(models)
    if spec.models:  # every model, including those no language maps to (ChatterBox's turbo)
        console.print("Models: " + ", ".join(m + (" (default)" if m == spec.default_model else "")
                                             for m in spec.models))
    if spec.voices:
        console.print("Built-in voices: " + ", ".join(spec.voices))


def _languages(codes: tuple[str, ...], limit: int = 8) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (f" (+{len(codes) - limit})" if len(codes) > limit else "")


@click.command(short_help="Plugins, their hooks and engines, and failures.")
@output_options
def plugins() -> None:
    """List plugins, the hooks they implement, their engines, and plugins that failed to load."""
    from rich.table import Table

    kernel = _kernel(cache=False)
    infos = kernel.plugin_info()
    st = state()
    if st.json:
        emit_json({
            "plugins": [{"name": i.name, "distribution": i.distribution, "version": i.version,
                         "hooks": list(i.hooks), "engines": list(i.engines)} for i in infos],
            "failures": [{"name": f.name, "distribution": f.distribution, "error": f.error}
                         for f in kernel.failures],
        })
        return
    if st.quiet:
        return
    console = stdout_console()
    table = Table(title="Plugins", title_justify="left")
    for column in ("plugin", "distribution", "version", "engines", "hooks"):
        table.add_column(column)
    for i in infos:
        table.add_row(i.name, i.distribution or "–", i.version or "–", ", ".join(i.engines) or "–", ", ".join(i.hooks))
    console.print(table)
    for failure in kernel.failures:
        console.print(f"[red]FAILED {escape(failure.name)}[/] ({failure.distribution or 'not packaged'}): "
                      + escape(failure.error))
        if st.debug and failure.detail:
            console.print(failure.detail, markup=False)
