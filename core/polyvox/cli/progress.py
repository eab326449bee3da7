"""Kernel events drawn on stderr: a live progress display (rich) on a terminal, one plain line
per step when stderr is a file or a pipe, nothing with ``--quiet``. rich is imported only for
the live display and the summary table: a `polyvox say -o -` off a terminal starts without it.

The view only draws what the kernel reports; every number it shows comes from an event.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from polyvox.cli.options import RenderConsole, escape
from polyvox.events import (
    ModelLoaded,
    ModelLoading,
    ModelUnloaded,
    RenderStarted,
    SegmentFinished,
    SegmentStarted,
    Warning,
)

if TYPE_CHECKING:
    from rich.live import Live
    from rich.progress import Progress


def excerpt(text: str, width: int = 48) -> str:
    """`text` on one line, cut at a word boundary with an ellipsis past `width` characters."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    cut = flat[: width - 1].rsplit(" ", 1)[0] or flat[: width - 1]
    return cut + "…"


def who(character: str | None, language: str) -> str:
    return f"{character or 'narrator'} ({language})"


class RenderView:
    """An event listener (`kernel.render(..., on_event=view)`) that draws progress.

    `console` is the render's stderr, or None to draw nothing (``--quiet``). Counters stay
    available either way, for a caller that wants them after a stream.
    """

    def __init__(self, console: RenderConsole | None):
        self.console = console
        self.live = console is not None and console.is_terminal
        self.total_chars = 0
        self.total_segments = 0
        self.done_chars = 0
        self.finished = 0
        self.synthesized = 0
        self.cached = 0
        self.synth_chars = 0
        self.synth_seconds = 0.0
        self.audio_seconds = 0.0
        self.model_loads = 0
        self.warnings: list[str] = []
        self.started = time.perf_counter()
        self._progress: Progress | None = None  # the overall bar
        self._activity: Progress | None = None  # the current segment and models loading
        self._live: Live | None = None
        self._main: Any = None
        self._current: Any = None
        self._loading: dict[tuple[str, str, str], Any] = {}
        self.chapter = ""  # a book's chapter being placed: "3/12 Loomings"

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> RenderView:
        if self.live and self.console is not None:
            from rich.console import Group
            from rich.live import Live
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

            self._progress = Progress(
                SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(bar_width=30),
                TextColumn("{task.percentage:>3.0f}%"), TextColumn("{task.fields[info]}"),
                console=self.console.rich,
            )
            self._activity = Progress(SpinnerColumn(), TextColumn("{task.description}"), console=self.console.rich)
            self._live = Live(Group(self._progress, self._activity), console=self.console.rich, transient=True,
                              refresh_per_second=10)
            self._live.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        """Take the live display off the screen (idempotent)."""
        if self._live is not None:
            self._live.stop()
            self._live = None
        self._progress = None
        self._activity = None

    def note(self, message: str, style: str = "yellow") -> None:
        """A line above the progress display (or a plain line)."""
        if self.console is not None and not self.live:
            self.console.line(message)
        elif self.console is not None:
            from rich.text import Text

            self.console.print(Text(message, style=style))

    # -- events ----------------------------------------------------------------------------
    def __call__(self, event: Any) -> None:
        handler = getattr(self, "_on_" + type(event).__name__, None)
        if handler is not None:
            handler(event)

    def _on_RenderStarted(self, event: RenderStarted) -> None:
        self.total_chars = event.characters
        self.total_segments = event.speech_segments
        self.started = time.perf_counter()
        if self._progress is not None:
            self._main = self._progress.add_task("Rendering", total=max(1, event.characters), info=self._info())
        if self._activity is not None:
            self._current = self._activity.add_task("", total=None, visible=False)

    def _on_SegmentStarted(self, event: SegmentStarted) -> None:
        if self._activity is not None and self._current is not None:
            label = f"[cyan]{escape(who(event.character, event.language))}[/]: “{escape(excerpt(event.text, 60))}”"
            self._activity.update(self._current, description=label, visible=True)

    def _on_SegmentFinished(self, event: SegmentFinished) -> None:
        self.finished += 1
        self.done_chars += len(event.text)
        self.audio_seconds += event.audio_seconds
        if event.cached:
            self.cached += 1
        else:
            self.synthesized += 1
            self.synth_chars += len(event.text)
            self.synth_seconds += event.seconds
        if self._progress is not None and self._activity is not None:
            self._progress.update(self._main, completed=self.done_chars, info=self._info())
            if self.finished >= self.total_segments:
                self._activity.update(self._current, visible=False)
        elif self.console is not None:
            how = "cached" if event.cached else f"{event.seconds:5.2f} s"
            self.console.line(f"[{self.finished}/{self.total_segments}] {how:>7}  "
                              f"{who(event.character, event.language)}: {excerpt(event.text)}")

    def _on_ModelLoading(self, event: ModelLoading) -> None:
        key = (event.engine, event.model, event.device)
        # "auto" is a request, not a device: the engine chooses while loading, and says once loaded
        where = "" if event.device == "auto" else f" on {event.device}"
        if self._activity is not None:
            self._loading[key] = self._activity.add_task(
                f"loading [bold]{escape(event.engine)}[/] model {escape(event.model)}{where}", total=None)
        else:
            self.note(f"loading {event.engine} model {event.model}{where}", style="dim")

    def _on_ModelLoaded(self, event: ModelLoaded) -> None:
        self.model_loads += 1
        task = self._loading.pop((event.engine, event.model, event.device), None)
        if self._activity is not None and task is not None:
            self._activity.remove_task(task)
        runs_on = event.runs_on or (event.device if event.device != "auto" else None)
        where = f" on {runs_on}" if runs_on else ""
        self.note(f"loaded {event.engine} model {event.model}{where} in {event.seconds:.2f} s", style="dim")

    def _on_DownloadAsking(self, event: Any) -> None:
        """The kernel asks on the terminal: a live display redrawing over the question would hide it."""
        if self._live is not None:
            self._live.stop()

    def _on_DownloadAnswered(self, event: Any) -> None:
        if self._live is not None:
            self._live.start()

    def _on_DownloadProgress(self, event: Any) -> None:
        """First use of a missing model: its files' bytes as they arrive (live display only)."""
        if self._activity is None:
            return
        key = ("download", event.engine, event.model + "/" + event.filename)
        label = f"downloading [bold]{escape(event.engine)}[/] {escape(event.model)}: {escape(event.filename)}"
        if key not in self._loading:
            self._loading[key] = self._activity.add_task(label, total=event.total)
        self._activity.update(self._loading[key], completed=event.done, total=event.total,
                              description=f"{label} {event.done / 1e6:.1f}"
                                          + (f"/{event.total / 1e6:.1f} MB" if event.total else " MB"))

    def _on_DownloadFinished(self, event: Any) -> None:
        for key in [k for k in self._loading if k[:2] == ("download", event.engine)
                    and k[2].startswith(event.model + "/")]:
            if self._activity is not None:
                self._activity.remove_task(self._loading.pop(key))
        self.note(f"downloaded {event.engine} model {event.model} in {event.seconds:.1f} s", style="dim")

    def _on_ModelUnloaded(self, event: ModelUnloaded) -> None:
        self.note(f"unloaded {event.engine} model {event.model}", style="dim")

    def _on_SegmentRetaken(self, event: Any) -> None:
        """A retake is made again: its segment is not done until then (its next `SegmentFinished`)."""
        self.finished -= 1
        self.done_chars -= len(event.text)
        self.note(f"retaking segment {event.index} (take {event.take + 1}, seed {event.seed}): "
                  f"{', '.join(event.flags)}: {excerpt(event.text)}", style="dim")

    def _on_ChapterStarted(self, event: Any) -> None:
        self.chapter = f"{event.number}/{event.chapters} {event.title}"
        if self._progress is not None and self._main is not None:
            self._progress.update(self._main, description=f"Chapter {escape(excerpt(self.chapter, 32))}",
                                  info=self._info())
        elif not self.live:
            self.note(f"chapter {self.chapter}", style="dim")

    def _on_Warning(self, event: Warning) -> None:
        self.warnings.append(event.message)  # shown in the summary (or after a stop)

    # -- helpers ---------------------------------------------------------------------------
    def eta(self) -> float | None:
        """Seconds left, from the measured synthesis speed (characters per second)."""
        if not self.synth_chars or self.synth_seconds <= 0:
            return None
        return max(0.0, self.total_chars - self.done_chars) / (self.synth_chars / self.synth_seconds)

    def _info(self) -> str:
        eta = self.eta()
        left = "–" if eta is None else (f"{eta:.0f} s" if eta < 120 else f"{eta / 60:.1f} min")
        return (f"{self.done_chars}/{self.total_chars} chars · [green]{self.synthesized} synthesized[/] · "
                f"[blue]{self.cached} cached[/] · ETA {left}")
