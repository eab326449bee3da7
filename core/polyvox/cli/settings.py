"""`polyvox config`: every setting's effective value and where it came from."""

from __future__ import annotations

import click

from polyvox.cli.options import emit_json, escape, output_options, settings, state, stdout_console, table


@click.command(short_help="Effective settings and where each came from.")
@output_options
def config() -> None:
    """Show the effective settings and their source.

    Precedence: command-line options, then POLYVOX_* environment variables, then
    the config file (TOML, e.g. `engine = "piper"`; its path is printed first,
    POLYVOX_CONFIG names another), then the defaults.
    """
    from polyvox.config import OPTIONS

    conf = settings()
    st = state()
    if st.json:
        emit_json({"config_file": str(conf.path), "config_file_exists": conf.path.is_file(),
                   "settings": conf.to_dict()})
        return
    if st.quiet:
        return
    exists = "" if conf.path.is_file() else " [dim](not present)[/]"
    console = stdout_console()
    console.print(f"Config file: {escape(str(conf.path))}{exists}")
    listing = table("setting", "value", "source", "environment variable")
    for name, setting in conf.items():
        value = "–" if setting.value is None else str(setting.value)
        listing.add_row(name, escape(value), escape(setting.source), OPTIONS[name].env)
    console.print(listing)
