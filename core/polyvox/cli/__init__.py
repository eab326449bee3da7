"""The `polyvox` command line.

Every command loads the kernel (and numpy, onnxruntime, rich, ...) inside its own body, so
``polyvox --help`` is instant. Errors print as one red line on stderr (the traceback only
with ``--debug``); Ctrl-C during a render stops after the current segment and exits 130.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from typing import Any

import click

from polyvox.cli import options
from polyvox.cli.options import EXIT_INTERRUPTED, debug_option, error_line, state
from polyvox.errors import PolyvoxError


class Group(click.Group):
    """Runs a command and turns every failure into one line and an exit status."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        options.LAST_STATE = None
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            error_line("interrupted")
            sys.exit(EXIT_INTERRUPTED)
        except KeyboardInterrupt:
            error_line("interrupted")
            sys.exit(EXIT_INTERRUPTED)
        except click.UsageError as exc:
            hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
            error_line(exc.format_message() + hint)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            error_line(exc.format_message())
            sys.exit(exc.exit_code)
        except BrokenPipeError:
            # The reader went away (`| head`): nothing left to say, and nothing to flush at exit.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)
        except Exception as exc:  # noqa: BLE001 (the one place every error becomes a line)
            if _debug():
                traceback.print_exc()
            error_line(_message(exc))
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


def _debug() -> bool:
    """--debug of the invocation that just failed (its context is gone by now)."""
    return options.LAST_STATE.debug if options.LAST_STATE is not None else bool(os.environ.get("POLYVOX_DEBUG"))


def _message(exc: BaseException) -> str:
    if isinstance(exc, PolyvoxError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        if exc.filename:
            return f"cannot use {str(exc.filename)!r}: {exc.strerror}"
        return exc.strerror
    return f"internal error ({type(exc).__name__}: {exc}); rerun with --debug for the traceback"


@click.group(cls=Group, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="polyvox")
@click.option("--cache-dir", metavar="DIR", help="Content cache directory (env POLYVOX_CACHE_DIR).")
@click.option("-y", "--yes", "allow_downloads", is_flag=True,
              help="Fetch missing model weights without asking (env POLYVOX_ALLOW_DOWNLOADS=1).")
@click.option("--offline", is_flag=True, help="Never download; a missing model is an error (env HF_HUB_OFFLINE=1).")
@debug_option
@click.pass_context
def cli(ctx: click.Context, cache_dir: str | None, allow_downloads: bool, offline: bool) -> None:
    """polyvox: text to speech with any engine, one cache, one scheduler.

    \b
    Quick start:
      polyvox demo                       render the built-in sample script
      polyvox demo --write-samples .     the sample files the docs use (story.txt, voices/, ...)
      polyvox render story.txt -o story.wav
      polyvox say "Hello there"
      polyvox engines                    what is installed
      polyvox models                     model weights: present or not, where

    Settings come from options, then POLYVOX_* environment variables, then the
    config file (`polyvox config` shows each value and where it came from).
    """
    if ctx.invoked_subcommand is None:  # `polyvox` alone: the help, as `polyvox --help` prints it
        click.echo(ctx.get_help())
        ctx.exit(0)
    state(ctx).cache_dir = cache_dir
    # The process is the command: the weights service reads these switches from the environment.
    if allow_downloads:
        os.environ["POLYVOX_ALLOW_DOWNLOADS"] = "1"
    if offline:
        os.environ["HF_HUB_OFFLINE"] = "1"


def _attach() -> None:
    from polyvox.cli import cache, check, info, models, render, serve, settings, studio, voices

    for command in (render.render, render.say, render.demo, check.check, info.engines, models.models,
                    voices.voices, info.plugins, cache.cache, settings.config, serve.serve, studio.studio):
        cli.add_command(command)
    if importlib.util.find_spec(f"{__name__}.scaffold") is None:
        return
    from polyvox.cli import scaffold

    for command in getattr(scaffold, "commands", ()):
        if command.name not in cli.commands:
            cli.add_command(command)


_attach()


def main() -> None:
    """The console-script entry point."""
    cli()
