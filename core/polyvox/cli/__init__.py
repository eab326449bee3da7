"""The `polyvox` command line. Heavy modules load only inside commands, so `--help` is instant."""

from __future__ import annotations

import sys

import click

from ..errors import PolyvoxError


class Group(click.Group):
    """Prints a PolyvoxError as one line on stderr (no traceback unless --debug)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except PolyvoxError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(1)


@click.group(cls=Group)
@click.version_option(package_name="polyvox")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """polyvox: text to speech with any engine, one cache, one scheduler."""
    ctx.obj = {"debug": debug}


@cli.command()
@click.argument("text")
@click.option("-o", "--output", default="say.wav", show_default=True, help="Audio file to write.")
@click.option("--engine", help="Engine name (default: the best installed for the language).")
@click.option("--voice", help="Voice: a name, an audio file or an engine voice id.")
@click.option("--language", help="Language code or name.")
def say(text: str, output: str, engine: str | None, voice: str | None, language: str | None) -> None:
    """Speak one line of TEXT to a file."""
    from ..kernel import Kernel

    audio = Kernel().synthesize(text, engine=engine, voice=voice, language=language)
    audio.write(output)
    click.echo(f"{output} ({audio.duration:.2f} s)")


@cli.command()
def plugins() -> None:
    """List plugins, the hooks they implement and their engines."""
    from ..kernel import Kernel

    kernel = Kernel(cache=False)
    for info in kernel.plugin_info():
        click.echo(f"{info.name} {info.distribution or ''} {info.version or ''} hooks={','.join(info.hooks)} "
                   f"engines={','.join(info.engines)}")
    for failure in kernel.failures:
        click.echo(f"FAILED {failure.name}: {failure.error}")


def main() -> None:
    cli()
