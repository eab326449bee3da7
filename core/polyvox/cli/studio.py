"""`polyvox studio`: the studio page (docs/studio.md) on this machine, opened in the default
browser. The server is `polyvox serve` on 127.0.0.1 only; its packages are imported only when
the command runs, so `polyvox --help` stays instant."""

from __future__ import annotations

import socket
import threading
import time

import click

from polyvox.cli.options import debug_option, settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_when_up(url: str, deadline: float = 60.0) -> threading.Thread:
    """A thread that opens `url` in the default browser once the server answers /health."""

    def wait_then_open() -> None:
        import urllib.request
        import webbrowser

        end = time.monotonic() + deadline
        while time.monotonic() < end:
            try:
                with urllib.request.urlopen(f"{url}health", timeout=2):  # noqa: S310 (our own loopback URL)
                    break
            except OSError:
                time.sleep(0.2)
        else:
            return
        click.echo(f"polyvox studio: {url}", err=True)
        webbrowser.open(url)

    thread = threading.Thread(target=wait_then_open, name="polyvox-studio-browser", daemon=True)
    thread.start()
    return thread


@click.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: any free one).")
@click.option("--voices", "voices_dir", metavar="DIR", help="The server's voices folder (uploads are stored here).")
@click.option("--no-browser", is_flag=True, help="Print the address instead of opening a browser.")
@click.option("--max-input", default=20_000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Longest script, in characters.")
@debug_option
def studio(port: int, voices_dir: str | None, no_browser: bool, max_input: int, **_: object) -> None:
    """Open polyvox studio: write a script, cast it, render, hear, retake and download.

    \b
      polyvox studio                  on 127.0.0.1, in the default browser
      polyvox studio --no-browser     print the address only

    The page is served by `polyvox serve` on this machine only (for a server others reach,
    run `polyvox serve` with keys: the studio is at its /). See docs/studio.md.
    """
    from polyvox.serve import ServeConfig, run

    port = port or free_port()
    config = ServeConfig(host="127.0.0.1", port=port, voices_dir=voices_dir, max_input_chars=max_input)
    url = f"http://127.0.0.1:{port}/"
    if no_browser:
        click.echo(f"polyvox studio: {url}", err=True)
    else:
        open_when_up(url)
    run(config, settings().kernel(downloads="never"))
