"""What every command shares: output flags (``--quiet``, ``--json``, ``--debug``), the stderr
console, one-line errors, and settings resolved from options, environment and config file.

Imports only click at module level so that ``polyvox --help`` stays instant.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click


class State:
    """Per-invocation output preferences, kept on the root click context."""

    def __init__(self) -> None:
        self.debug = bool(os.environ.get("POLYVOX_DEBUG"))
        self.quiet = False
        self.json = False
        self.cache_dir: str | None = None


#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130

#: The state of the latest invocation, for the error handler after its context is gone.
LAST_STATE: State | None = None


def state(ctx: click.Context | None = None) -> State:
    """This invocation's `State` (created on first use)."""
    global LAST_STATE
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    LAST_STATE = root.obj
    return root.obj


def _flag(attribute: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value:
            setattr(state(ctx), attribute, True)

    return callback


def debug_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_flag("debug"),
                        help="Show the traceback of an error.")(f)


def output_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--quiet and --json (and --debug), for commands that report something."""
    f = debug_option(f)
    f = click.option("--json", "as_json", is_flag=True, expose_value=False, callback=_flag("json"),
                     help="Print one JSON object on stdout instead of tables.")(f)
    return click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_flag("quiet"),
                        help="Print nothing but errors.")(f)


def no_color() -> bool:
    return bool(os.environ.get("NO_COLOR"))


def stderr_console() -> Any:
    """The rich console for progress and tables (stderr; no colours off a terminal or with NO_COLOR)."""
    from rich.console import Console

    return Console(stderr=True, no_color=no_color(), highlight=False, soft_wrap=True)


#: Settings by which rich takes stderr for a terminal (or not) whatever it is: rich decides then.
_TERMINAL_SETTINGS = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


class RenderConsole:
    """A render's stderr: `stderr_console()` made when something needs rich (the live display
    on a terminal, a table, a styled line); plain lines off a terminal are written without it,
    so a render or `say` whose stderr is a pipe or a log reaches its first audio without
    importing rich (some 50 ms). `rich`: a console to draw on instead (tests give one)."""

    def __init__(self, rich: Any = None) -> None:
        self._rich = rich

    @property
    def rich(self) -> Any:
        if self._rich is None:
            self._rich = stderr_console()
        return self._rich

    @property
    def is_terminal(self) -> bool:
        if self._rich is None and not any(os.environ.get(name) for name in _TERMINAL_SETTINGS):
            return sys.stderr.isatty()
        return bool(self.rich.is_terminal)

    def line(self, text: str) -> None:
        """`text` as one line as it is (no markup)."""
        if self._rich is None and not self.is_terminal:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()
        else:
            self.rich.print(text, markup=False, highlight=False)

    def print(self, *objects: Any, **options: Any) -> None:
        """rich's `Console.print`."""
        self.rich.print(*objects, **options)


#: Columns of stdout off a terminal: wide enough that no value is ever wrapped or cut.
UNLIMITED_WIDTH = 100_000


def stdout_console() -> Any:
    """The console for listings and tables on stdout: on a terminal long values wrap to its
    width; off one (a pipe, a log file, CI) lines are as long as their values, so `grep` and
    `cut` see every value whole."""
    import sys

    from rich.console import Console

    width = None if sys.stdout.isatty() else UNLIMITED_WIDTH
    return Console(no_color=no_color(), highlight=False, width=width)


def table(*columns: str, title: str | None = None, **options: Any) -> Any:
    """A rich table whose cells wrap (never end in '…') when the terminal is narrow."""
    from rich.table import Table

    made = Table(title=title, title_justify="left", **options)
    for column in columns:
        made.add_column(column, overflow="fold")
    return made


def error_line(message: str) -> None:
    """One red line on stderr."""
    click.secho(f"Error: {message}", fg="red", err=True, color=False if no_color() else None)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def settings(**explicit: Any) -> Any:
    """Settings with these option values on top (None: not given on the command line)."""
    from polyvox.config import load_settings

    st = state()
    if st.cache_dir and explicit.get("cache_dir") is None:
        explicit["cache_dir"] = st.cache_dir
    return load_settings(explicit)


def interactive() -> bool:
    """Whether a person can answer a prompt (stdin is a terminal)."""
    import sys

    return sys.stdin.isatty()


def confirm(question: str, yes: bool, command: str) -> bool:
    """The one rule of every command that deletes (`cache clear`, `models rm`, `uninstall`):
    `--yes` goes ahead; on a terminal the person is asked (False: they said no); without one
    the command refuses in one line, since nobody can answer and a script must not delete by
    accident."""
    if yes:
        return True
    if not interactive():
        raise click.ClickException(f"{command} deletes {question}: there is no terminal to ask, so nothing was "
                                   f"removed; add --yes after the command to go ahead ({command} ... --yes; "
                                   "polyvox --yes only allows downloads)")
    return click.confirm(f"Delete {question}?", err=True)


def parse_sets(values: tuple[str, ...]) -> dict[str, str]:
    """``--set key=value`` pairs; the engine validates names and values."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not key=value (e.g. --set length_scale=1.2)",
                                     param_hint="--set")
        out[key.strip()] = value.strip()
    return out



def escape(text: str) -> str:
    """`text` with rich's markup characters escaped: names, paths and messages come from
    users' files and must print as written (rich is imported here, not at start-up)."""
    from rich.markup import escape as rich_escape

    return rich_escape(str(text))
