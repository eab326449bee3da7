"""`polyvox render`, `say` and `demo`: one path from text to a written file, with live
progress, a summary, `--json`, and Ctrl-C that keeps what was finished."""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from polyvox.cli import files
from polyvox.cli.options import emit_json, escape, output_options, parse_sets, settings, state, stderr_console


def render_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The options `render`, `say` and `demo` share (settings default through env and config)."""
    options = [
        click.option("--no-cache", is_flag=True, help="Synthesize every segment again (the cache is not read)."),
        click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                     help="Engine parameter for every segment, e.g. --set length_scale=1.2 (repeatable)."),
        click.option("--seed", type=int, help="Seed for engines that use one [env POLYVOX_SEED; default 42]."),
        click.option("--language", help="Language of lines without a language tag [default: en]."),
        click.option("--narrator", metavar="VOICE",
                     help="Narrator voice: a character of --voices, an audio file or an engine voice id."),
        click.option("--voices", metavar="DIR", help="Voices folder (TTS Audio Suite layout) [env POLYVOX_VOICES]."),
        click.option("--model", help="Model of the engine [default: the engine's model for the language]."),
        click.option("--engine", help="Engine [default: the best installed for the language]."),
    ]
    for option in options:
        f = option(f)
    return f


def _format_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--format", "fmt", type=click.Choice(files.FORMATS, case_sensitive=False),
                        help="Audio format when OUT has no extension (or is '-') [default: wav].")(f)


# -- commands ----------------------------------------------------------------------------
@click.command(short_help="Render a script or subtitle file to audio.")
@click.argument("file", metavar="FILE")
@click.option("-o", "--output", metavar="OUT", help="Audio file to write, '-' for stdout [default: out/FILE.wav].")
@_format_option
@render_options
@click.option("--timing-mode", type=click.Choice(("pad_with_silence", "stretch_to_fit", "smart_natural",
                                                  "concatenate")),
              help="How subtitles fit their cues [env POLYVOX_TIMING_MODE; default smart_natural].")
@click.option("--stream", is_flag=True, help="Write audio as segments finish, in order (with -o -, play it: "
              "`polyvox render x.txt --stream -o - | aplay`).")
@click.option("--workers", type=int, help="Threads, for engines that declare themselves thread-safe.")
@output_options
def render(file: str, output: str | None, fmt: str | None, timing_mode: str | None, stream: bool,
           workers: int | None, **opts: Any) -> None:
    """Render a script (.txt, with [Character] and [pause:1s] markup) or subtitles (.srt).

    FILE '-' reads stdin (subtitles are recognized by their content). The audio format
    follows OUT's extension (wav, flac, ogg, mp3). For subtitles, the per-cue timing
    report (OUT.timing.json) and the adjusted subtitles (OUT.adjusted.srt) are written beside it.
    """
    source = files.read_input(file)
    stem = "stdin" if file == "-" else Path(file).stem
    srt = files.is_subtitles(source)
    if srt and stream:
        raise click.UsageError("--stream renders scripts; subtitles are fitted to their cues as a whole")
    out = files.output_path(output, fmt, stem)
    if srt and out is not None and file != "-" and Path(file).resolve() in {p.resolve() for p in files.sidecars(out)}:
        raise click.UsageError(f"rendering {file} to {out} would overwrite {file} with the adjusted subtitles: "
                               "choose another -o")
    run_render(source, source=file, output=out, srt=srt, stream=stream,
               timing_mode=timing_mode, workers=workers, stdout_format=fmt, **opts)


@click.command(short_help="Speak one line of text to a file.")
@click.argument("text")
@click.option("-o", "--output", metavar="OUT", help="Audio file to write, '-' for stdout [default: out/say.wav].")
@_format_option
@render_options
@output_options
def say(text: str, output: str | None, fmt: str | None, **opts: Any) -> None:
    """Speak TEXT (one line; markup such as [Alice] works as in `render`)."""
    run_render(text, source="say", output=files.output_path(output, fmt, "say"), stdout_format=fmt, **opts)


@click.command(short_help="Render the built-in sample script (twice: from the cache).")
@click.option("-o", "--output", metavar="OUT", default=str(files.OUT_DIR / "demo.wav"), show_default=True,
              help="Audio file to write.")
@click.option("--srt", is_flag=True, help="Also render the built-in subtitle sample (OUT-subtitles.wav).")
@render_options
@click.option("--timing-mode", type=click.Choice(("pad_with_silence", "stretch_to_fit", "smart_natural",
                                                  "concatenate")), help="Timing mode for --srt.")
@output_options
def demo(output: str, srt: bool, timing_mode: str | None, **opts: Any) -> None:
    """Render the built-in multi-character sample with the installed engines.

    Run it twice: the second run comes from the cache.
    """
    from polyvox.samples import DEMO_SCRIPT, DEMO_SRT

    out = files.output_path(output, None, "demo")
    if out is None:
        raise click.UsageError("demo writes files: give -o FILE, not '-'")
    results = {"script": run_render(DEMO_SCRIPT, source="demo", output=out, emit=False, demo=True, **opts)}
    if srt:
        sub = out.with_name(f"{out.stem}-subtitles{out.suffix}")
        results["subtitles"] = run_render(DEMO_SRT, source="demo.srt", output=sub, srt=True, emit=False,
                                          demo=True, timing_mode=timing_mode, **opts)
    st = state()
    if st.json:
        emit_json(results)
    elif not st.quiet:
        for summary in results.values():
            for path in summary["outputs"].values():
                if path:
                    click.echo(path)
        cached = all(s["stats"]["synthesized"] == 0 for s in results.values())
        hint = ("every segment came from the cache" if cached
                else "run `polyvox demo` again: every segment will come from the cache")
        stderr_console().print(f"[dim]{escape(hint)}[/]")


# -- the shared path ---------------------------------------------------------------------
def run_render(text: str | Path, *, source: str, output: Path | None, srt: bool = False, stream: bool = False,
               timing_mode: str | None = None, workers: int | None = None, emit: bool = True, demo: bool = False,
               stdout_format: str | None = None,
               engine: str | None = None, model: str | None = None, voices: str | None = None,
               narrator: str | None = None, language: str | None = None, seed: int | None = None,
               sets: tuple[str, ...] = (), no_cache: bool = False) -> dict[str, Any]:
    """Render `text` to `output` (None: stdout), drawing events; returns the --json object."""
    from polyvox.cli import summary as summaries
    from polyvox.cli.progress import RenderView
    from polyvox.errors import Cancelled
    from polyvox.events import CancelToken

    st = state()
    if output is None and st.json:
        raise click.UsageError("--json prints the summary on stdout, so the audio cannot go there: use -o FILE")
    stdout_format = (stdout_format or "wav").lower()
    if output is None and stream and stdout_format != "wav":
        raise click.UsageError("--stream to stdout writes WAV only: drop --format or write to a file")
    conf = settings(engine=engine, model=model, voices=voices, narrator=narrator, language=language, seed=seed,
                    timing_mode=timing_mode, workers=workers)
    kwargs: dict[str, Any] = {
        "engine": conf.value("engine"), "model": conf.value("model"), "voice": conf.value("narrator"),
        "language": conf.value("language"), "seed": conf.value("seed"), "params": parse_sets(sets),
        "use_cache": not no_cache,
    }
    if srt:
        kwargs["timing_mode"] = conf.value("timing_mode")
    console = None if st.quiet else stderr_console()
    kernel = _kernel(conf)
    if conf.value("voices"):
        kwargs["voices"] = conf.value("voices")
    elif demo:
        from polyvox.samples import demo_voices

        kwargs["voices"] = demo_voices(kernel)
    view = RenderView(console)
    token = CancelToken()
    outputs: dict[str, str | None] = {"audio": "-" if output is None else str(output)}
    try:
        with view, _interrupt_cancels(token, view):
            if stream:
                summary = _stream(kernel, text, output, view, token, kwargs, source, outputs)
            else:
                summary = _render(kernel, text, output, view, token, kwargs, source, outputs, srt,
                                  workers=conf.value("workers"), stdout_format=stdout_format)
    except Cancelled as exc:
        _cancelled(exc, kernel, console, view.warnings)
    if console is not None and not st.json:
        console.print(summaries.summary_table(summary))
    if emit:
        if st.json:
            emit_json(summary)
        elif not st.quiet and output is not None:
            for path in outputs.values():
                if path:
                    click.echo(path)
    return summary


#: One kernel per settings in this process, so `demo --srt` loads each model once.
_KERNELS: dict[tuple[Any, ...], Any] = {}


def _kernel(conf: Any) -> Any:
    key = tuple(conf.value(name) for name in ("cache_dir", "cache_size_limit", "device", "seed"))
    if key not in _KERNELS:
        _KERNELS.clear()
        _KERNELS[key] = conf.kernel()
    return _KERNELS[key]


def _render(kernel: Any, text: str | Path, output: Path | None, view: Any, token: Any, kwargs: dict[str, Any],
            source: str, outputs: dict[str, str | None], srt: bool, workers: int,
            stdout_format: str = "wav") -> dict[str, Any]:
    from polyvox.cli import summary as summaries

    if output is None:
        result = kernel.render(text, on_event=view, cancel=token, workers=workers, **kwargs)
        sys.stdout.buffer.write(result.audio.to_bytes(files.soundfile_format("." + stdout_format)))
        sys.stdout.buffer.flush()
        rate, duration = result.audio.sample_rate, result.audio.duration
    else:
        with files.atomic(output) as partial:
            result = kernel.render(text, on_event=view, cancel=token, workers=workers, output=partial, **kwargs)
        if srt:
            outputs.update(files.subtitle_files(result, output))
        import soundfile as sf

        info = sf.info(str(output))
        rate, duration = info.samplerate, info.duration
    view.stop()
    return summaries.from_result(result, source=source, outputs=outputs, sample_rate=rate,
                                 duration=round(duration, 4))


def _stream(kernel: Any, text: str | Path, output: Path | None, view: Any, token: Any, kwargs: dict[str, Any],
            source: str, outputs: dict[str, str | None]) -> dict[str, Any]:
    """Write each chunk as the kernel yields it, in script order."""
    import soundfile as sf

    from polyvox.cli import summary as summaries

    start = time.perf_counter()
    chunks = kernel.stream(text, on_event=view, cancel=token, **kwargs)
    first = next(chunks, None)
    rate = first.sample_rate if first is not None else 22050
    frames = 0
    if output is None:
        out = sys.stdout.buffer
        out.write(files.streaming_wav_header(rate))
        for chunk in files.chain(first, chunks):
            out.write((chunk.samples.clip(-1, 1) * 32767).astype("<i2").tobytes())
            out.flush()
            frames += len(chunk)
    else:
        with files.atomic(output) as partial, sf.SoundFile(str(partial), "w", samplerate=rate, channels=1,
                                                      format=files.soundfile_format(output.suffix)) as fh:
            for chunk in files.chain(first, chunks):
                fh.write(chunk.samples)
                frames += len(chunk)
    view.stop()
    return summaries.from_view(view, source=source, outputs=outputs, sample_rate=rate,
                               duration=round(frames / rate, 4), wall_seconds=time.perf_counter() - start,
                               segments=view.finished)


def _cancelled(exc: Any, kernel: Any, console: Any, warnings: list[str]) -> None:
    """Ctrl-C: say what was kept, then exit 130."""
    from polyvox.cli import EXIT_INTERRUPTED

    stats = kernel.cache_stats()
    where = f" in {stats.directory}" if stats else ""
    message = (f"stopped after {exc.finished} of {exc.total} segments; the finished ones are kept in the "
               f"cache{where}: run the same command again to continue")
    if state().json:
        emit_json({"schema": 1, "cancelled": True, "finished": exc.finished, "total": exc.total,
                   "cache_dir": stats.directory if stats else None})
    if console is not None:
        for warning in warnings:
            console.print(f"[yellow]warning: {escape(warning)}[/]")
        console.print(f"[yellow]{escape(message)}[/]")
    sys.exit(EXIT_INTERRUPTED)


# -- helpers -----------------------------------------------------------------------------
@contextlib.contextmanager
def _interrupt_cancels(token: Any, view: Any) -> Iterator[None]:
    """First Ctrl-C: finish the current segment, then stop. Second Ctrl-C: stop now."""

    def handler(signum: int, frame: Any) -> None:
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()
        view.note("stopping after the current segment (Ctrl-C again to stop now)")

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread (an embedding host): no handler
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
