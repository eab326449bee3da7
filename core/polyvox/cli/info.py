"""`polyvox engines`, `polyvox voices` and `polyvox plugins`: what is installed and usable."""

from __future__ import annotations

from typing import Any

import click

from polyvox.cli.options import emit_json, escape, output_options, settings, state, stdout_console, table


def _kernel(**kwargs: Any) -> Any:
    return settings().kernel(**kwargs)


def _caps(spec: Any) -> str:
    caps = spec.capabilities
    flags = ("needs_reference_audio", "needs_reference_text", "clones", "thread_safe", "batch", "seeded", "blends")
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
        "weights": _weights(kernel, spec.name),
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
        listing = table(title="Engines")
        # Engine names are what people type: never shortened, however narrow the terminal.
        listing.add_column("engine", no_wrap=True, min_width=max((len(s.name) for s in specs), default=6))
        # "runs" only when some engine runs in its own environment: the usual table stays narrow
        runs = {spec.name: _runs(kernel.runs_in(spec.name)) for spec in specs}
        isolated = any(where != "in-process" for where in runs.values())
        for column in ("plugin", "languages", "default model", "sample rate", "capabilities", "weights",
                       *(("runs",) if isolated else ())):
            listing.add_column(column, overflow="fold")
        for spec in specs:
            listing.add_row(spec.name, kernel.plugin_of(spec.name) or "?", _languages(spec.languages),
                          spec.default_model, f"{spec.sample_rate} Hz", _caps(spec),
                          _weights_summary(_weights(kernel, spec.name)), *((runs[spec.name],) if isolated else ()))
        console.print(listing if specs else "[yellow]no engine is loaded: Piper is built in unless POLYVOX_PLUGINS "
                      "leaves it out; `polyvox install NAME` adds engines[/]")
        for failure in kernel.failures:
            verb = "failed to load" if failure.kind == "failed" else "not loaded"
            console.print(f"[red]plugin {escape(failure.name)} {verb}: {escape(failure.error)}[/]")
        return
    spec = specs[0]
    console.print(f"[bold]{spec.name}[/] ({kernel.plugin_of(spec.name) or '?'})"
                  + (f": {spec.description}" if spec.description else ""))
    console.print(f"runs {escape(kernel.runs_in(spec.name))}")
    console.print(f"sample rate {spec.sample_rate} Hz · up to {spec.max_chars} characters a segment · "
                  f"capabilities: {_caps(spec)}")
    params = table("name", "default", "allowed", "aliases", "help", title="Parameters")
    for p in spec.params:
        params.add_row(p.name, repr(p.default), p.describe(), ", ".join(p.aliases), p.help)
    console.print(params if spec.params else "no parameters")
    models = table("language", "model", "weights", title="Models by language")
    weights = _weights(kernel, spec.name)
    for code, model in kernel.models_for(spec.name).items():
        models.add_row(code, escape(model) + (" [dim](default)[/]" if model == spec.default_model else ""),
                       weights.get(model, "–"))
    console.print(models)
    if spec.models:  # every model, including those no language maps to (ChatterBox's turbo)
        console.print("Models: " + ", ".join(f"{m} ({weights.get(m, '–')})" + (" (default)" if m == spec.default_model
                                                                               else "") for m in spec.models))
    if any(state in ("missing", "partial") for state in weights.values()):
        console.print(f"Fetch weights with `polyvox models pull {spec.name}[:MODEL]`; list them with "
                      "`polyvox models`.")
    if spec.voices:
        console.print("Built-in voices: " + ", ".join(spec.voices))


def _weights(kernel: Any, engine: str) -> dict[str, str]:
    """Model -> present / partial / missing (engine-managed: the engine finds its own files)."""
    from polyvox.cli.models import rows

    return {row["model"]: row["state"] for row in rows(kernel, engine)}


def _weights_summary(states: dict[str, str]) -> str:
    """Models whose weights are here, of those with declared weights: ``2/3`` (narrow on purpose)."""
    managed = [v for v in states.values() if v in ("present", "partial", "missing")]
    return f"{managed.count('present')}/{len(managed)}" if managed else "–"


def _languages(codes: tuple[str, ...]) -> str:
    return ", ".join(codes) or "–"


@click.command(short_help="Plugins, their hooks, engines and listeners, and failures.")
@output_options
def plugins() -> None:
    """List plugins, the hooks they implement, their engines and listeners, and plugins that failed
    to load or were refused (written for another hook API)."""
    from polyvox import hook_api_version

    kernel = _kernel(cache=False)
    infos = kernel.plugin_info()
    st = state()
    if st.json:
        emit_json({
            "plugins": [{"name": i.name, "distribution": i.distribution, "version": i.version,
                         "hooks": list(i.hooks), "engines": list(i.engines), "listeners": list(i.listeners)}
                        for i in infos],
            "hook_api": hook_api_version(),
            "failures": [{"name": f.name, "distribution": f.distribution, "error": f.error, "kind": f.kind}
                         for f in kernel.failures],
        })
        return
    if st.quiet:
        return
    console = stdout_console()
    listing = table("plugin", "distribution", "version", "engines", "hooks",
                    title=f"Plugins (hook API {hook_api_version()})")
    for i in infos:
        provides = ", ".join([*i.engines, *(f"{name} (listener)" for name in i.listeners)]) or "–"
        listing.add_row(i.name, i.distribution or "–", i.version or "–", provides, ", ".join(i.hooks))
    console.print(listing)
    for failure in kernel.failures:
        label = {"incompatible": "INCOMPATIBLE", "shadowed": "SKIPPED", "empty": "EMPTY"}.get(failure.kind, "FAILED")
        console.print(f"[red]{label} {escape(failure.name)}[/] ({failure.distribution or 'not packaged'}): "
                      + escape(failure.error))
        if st.debug and failure.detail:
            console.print(failure.detail, markup=False)
