"""`polyvox render`, `say` and `demo`: one path from text to a written file, with live
progress, a summary, `--json`, and Ctrl-C that keeps what was finished."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from polyvox.cli import files
from polyvox.cli.books import book_options, mastering_options
from polyvox.cli.interrupts import cancelled, interrupt_cancels
from polyvox.cli.options import (
    RenderConsole,
    emit_json,
    escape,
    output_options,
    parse_sets,
    settings,
    state,
    stderr_console,
)
from polyvox.cli.verifying import verify_options, verify_settings
from polyvox.names import TIMING_MODES


def render_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The options `render`, `say` and `demo` share (settings default through env and config)."""
    options = [
        click.option("--no-cache", is_flag=True, help="Synthesize every segment again (the cache is not read; "
                     "the new takes replace its entries)."),
        click.option("--strict", is_flag=True, help="Markup problems (unknown tags, bad parameter values, "
                     "over-long pauses) stop the render instead of being warnings."),
        click.option("--normalize/--no-normalize", default=None, help="Numbers, dates and abbreviations in words "
                     "for every engine / for none [default: for engines that do not read them themselves]."),
        click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                     help="Engine parameter for every segment, e.g. --set length_scale=1.2 (repeatable)."),
        click.option("--seed", type=int, help="Seed for engines that use one [env POLYVOX_SEED; default 42]."),
        click.option("--language", help="Language of lines without a language tag [default: en]."),
        click.option("--narrator", metavar="VOICE",
                     help="Narrator voice: a character of --voices, an audio file or an engine voice id."),
        click.option("--voices", metavar="DIR", help="Voices folder (TTS Audio Suite layout) [env POLYVOX_VOICES]."),
        click.option("--cast", type=click.Choice(("narrator", "auto"), case_sensitive=False),
                     help="Characters with no voice: the narrator's (one warning each), or auto: a distinct "
                          "installed voice each, the same on every run [env POLYVOX_CAST; default narrator]."),
        click.option("--model", help="Model of the engine [default: the engine's model for the language]."),
        click.option("--engine", help="Engine [default: the best installed for the language]."),
        click.option("--word-times", type=click.Choice(("auto", "heard"), case_sensitive=False),
                     help="Word times where the engine gives none: heard by the listener (heard), or auto: heard "
                          "with --verify, else estimated from the audio [default: auto] (docs/words.md)."),
        click.option("--caption-karaoke", is_flag=True,
                     help="Time every word inside its caption (WebVTT <00:00:01.000><c>word</c> tags)."),
        click.option("--caption-words", type=click.IntRange(min=1), default=7, show_default=True,
                     help="Most words in one caption (a caption is also at most one 42-character line)."),
        click.option("--captions", metavar="FILE",
                     help="Write word-timed captions beside the audio: .vtt, .srt or .json (docs/words.md)."),
    ]
    for option in options:
        f = option(f)
    return verify_options(f)


def _format_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--format", "fmt", type=click.Choice(files.FORMATS, case_sensitive=False),
                        help="Audio format when OUT has no extension (or is '-') [default: wav].")(f)


# -- commands ----------------------------------------------------------------------------
@click.command(short_help="Render a script or subtitle file to audio.")
@click.argument("file", metavar="FILE")
@click.option("-o", "--output", metavar="OUT", help="Audio file to write, '-' for stdout [default: out/FILE.wav].")
@_format_option
@render_options
@click.option("--timing-mode", type=click.Choice(TIMING_MODES),
              help="How subtitles fit their cues [env POLYVOX_TIMING_MODE; default smart_natural].")
@click.option("--stream", is_flag=True, help="Write audio as segments finish, in order (with -o -, play it: "
              "`polyvox render x.txt --stream -o - | aplay`).")
@click.option("--workers", type=click.IntRange(min=1), help="Threads, for engines that declare themselves thread-safe.")
@click.option("--batch-size", type=click.IntRange(min=1),
              help="Segments of one voice per engine call, for engines that batch [env POLYVOX_BATCH_SIZE; "
                   "default: the engine's own for the device, else 1].")
@click.option("--executor", type=click.Choice(("sequential", "ray")),
              help="Where engine calls run: here, or on Ray replicas (pip install 'polyvox[ray]') "
                   "[env POLYVOX_EXECUTOR; default sequential].")
@click.option("--ray-address", metavar="ADDRESS",
              help="Ray cluster for --executor ray: auto, or ray://host:10001 [default: a local Ray].")
@click.option("--dry-run", is_flag=True, help="List every segment as its engine would receive it (text after the "
              "lexicon and normalization, engine, voice, language); synthesize nothing.")
@book_options
@output_options
def render(file: str, output: str | None, fmt: str | None, timing_mode: str | None, stream: bool,
           workers: int | None, batch_size: int | None, executor: str | None, ray_address: str | None,
           dry_run: bool = False, loudness: float | None = None, acx: bool = False, split: str | None = None,
           **opts: Any) -> None:
    """Render a script (.txt, with [Character] and [pause:1s] markup), subtitles (.srt, .vtt) or a
    book (.epub, .md, .html, or text with 'Chapter N' lines: docs/books.md).

    FILE '-' reads stdin (subtitles are recognized by their content). The audio format
    follows OUT's extension (wav, flac, ogg, mp3, m4b, m4a, opus); a book's chapters, title,
    author and cover go into every format that holds them. For subtitles, the per-cue timing
    report (OUT.timing.json) and the adjusted subtitles (OUT.adjusted.srt) are written beside it.
    """
    import polyvox

    source = polyvox.read_source(files.read_input(file))  # read once; the kernel takes it as it is
    if dry_run:
        from polyvox.cli.dryrun import dry_run as plan_only

        return plan_only(source, **opts)
    stem = "stdin" if file == "-" else Path(file).stem
    srt = polyvox.is_subtitles(source)
    out = files.output_path(output, fmt, stem)
    console = None if state().quiet else stderr_console()
    if console is not None and not srt and timing_mode:
        console.print("[yellow]warning: --timing-mode applies to subtitles only; this script has none[/]")
    if console is not None and srt and out is None:
        console.print("[yellow]warning: with -o - only the audio is written: no adjusted subtitles or "
                      "timing report[/]")
    if srt and out is not None and file != "-" and Path(file).resolve() in {p.resolve() for p in files.sidecars(out)}:
        raise click.UsageError(f"rendering {file} to {out} would overwrite {file} with the adjusted subtitles: "
                               "choose another -o")
    run_render(source, source=file, output=out, srt=srt, stream=stream,
               mastering=mastering_options(loudness, acx, split, to_file=out is not None and not stream),
               timing_mode=timing_mode, workers=workers, batch_size=batch_size, stdout_format=fmt, executor=executor,
               ray_address=ray_address, **opts)


@click.command(short_help="Speak one line of text to a file.")
@click.argument("text")
@click.option("-o", "--output", metavar="OUT", help="Audio file to write, '-' for stdout [default: out/say.wav].")
@_format_option
@render_options
@output_options
def say(text: str, output: str | None, fmt: str | None, **opts: Any) -> None:
    """Speak TEXT (one line; markup such as [Alice] works as in `render`). TEXT '-' reads stdin."""
    if text == "-":
        text = files.read_stdin("TEXT", "echo 'Hello' | polyvox say -")
    out = files.output_path(output, fmt, "say")
    # To a pipe (a player), its first sentence plays while the rest is made: the same audio.
    stream = out is None and (fmt or "wav").lower() in ("wav", "pcm")
    run_render(text, source="say", output=out, stdout_format=fmt, stream=stream, **opts)


@click.command(short_help="Render the built-in sample script (twice: from the cache).")
@click.option("-o", "--output", metavar="OUT", default=str(files.OUT_DIR / "demo.wav"), show_default=True,
              help="Audio file to write.")
@click.option("--srt", is_flag=True, help="Also render the built-in subtitle sample (OUT-subtitles.wav).")
@render_options
@click.option("--timing-mode", type=click.Choice(TIMING_MODES), help="Timing mode for --srt.")
@click.option("--write-samples", metavar="DIR", help="Render nothing: write the files the docs' examples read "
              "(story.txt, script.txt, talk.srt, film.srt, voices/) into DIR.")
@output_options
def demo(output: str, srt: bool, timing_mode: str | None, write_samples: str | None, **opts: Any) -> None:
    """Render the built-in multi-character sample with the installed engines.

    Run it twice: the second run comes from the cache. --write-samples DIR writes the
    sample inputs the documentation uses instead (a checkout has them in docs/examples/).
    """
    from polyvox.samples import DEMO_SCRIPT, DEMO_SRT

    if write_samples is not None:
        _write_samples(write_samples)
        return
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


def _write_samples(directory: str) -> None:
    from polyvox.samples import write_samples

    written, kept = write_samples(directory, _kernel(settings()))
    st = state()
    if st.json:
        emit_json({"written": [str(p) for p in written], "kept": [str(p) for p in kept]})
        return
    if st.quiet:
        return
    for path in written:
        click.echo(path)
    if kept:
        stderr_console().print(f"[yellow]kept {len(kept)} files that were already there: "
                               f"{escape(', '.join(p.name for p in kept))}[/]")


# -- the shared path ---------------------------------------------------------------------
def run_render(text: str | Path, *, source: str, output: Path | None, srt: bool = False, stream: bool = False,
               timing_mode: str | None = None, workers: int | None = None, batch_size: int | None = None,
               emit: bool = True, demo: bool = False,
               stdout_format: str | None = None,
               engine: str | None = None, model: str | None = None, voices: str | None = None,
               narrator: str | None = None, language: str | None = None, seed: int | None = None,
               cast: str | None = None, sets: tuple[str, ...] = (), no_cache: bool = False, strict: bool = False,
               executor: str | None = None, ray_address: str | None = None, captions: str | None = None,
               caption_words: int = 7, caption_karaoke: bool = False, word_times: str | None = None,
               normalize: bool | None = None, verify: bool = False,
               listener: str | None = None, retakes: int | None = None, max_wer: float | None = None,
               retake_failed: bool = False, mastering: dict[str, Any] | None = None) -> dict[str, Any]:
    """Render `text` to `output` (None: stdout), drawing events; returns the --json object."""
    from polyvox.cli.progress import RenderView
    from polyvox.errors import Cancelled
    from polyvox.events import CancelToken

    st = state()
    if output is None and st.json:
        raise click.UsageError("--json prints the summary on stdout, so the audio cannot go there: use -o FILE")
    stdout_format = (stdout_format or "wav").lower()
    if captions:
        from polyvox.words import caption_format

        caption_format(captions)  # a bad extension fails before the render, not after
        try:  # and a folder that is not there is made, as -o's is, before the render (not after it)
            Path(captions).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise click.UsageError(f"--captions {captions!r}: cannot make its folder: {exc.strerror or exc}") from None
    if output is None and stream and stdout_format not in ("wav", "pcm"):
        raise click.UsageError("--stream to stdout writes WAV or raw PCM only: use --format wav or pcm, "
                               "or write to a file")
    conf = settings(engine=engine, model=model, voices=voices, narrator=narrator, language=language, seed=seed,
                    cast=cast, timing_mode=timing_mode, workers=workers, batch_size=batch_size, executor=executor,
                    ray_address=ray_address, normalize=normalize)
    kwargs: dict[str, Any] = {
        "engine": conf.value("engine"), "model": conf.value("model"), "voice": conf.value("narrator"),
        "language": conf.value("language"), "seed": conf.value("seed"), "params": parse_sets(sets),
        "use_cache": not no_cache, "strict": strict, "cast": conf.value("cast"),
        "normalize": conf.value("normalize"),
        "verify": verify_settings(verify, listener, retakes, max_wer, retake_failed),
        "word_times": word_times,
    }
    mastering = mastering or {}
    if mastering.get("loudness") is not None:
        kwargs["loudness"] = mastering["loudness"]
        kwargs["true_peak"] = mastering.get("true_peak")
    if srt:
        kwargs["timing_mode"] = conf.value("timing_mode")
    console = None if st.quiet else RenderConsole()
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
        with view, interrupt_cancels(token, view):
            if stream:
                summary = _stream(kernel, text, output, view, token, kwargs, source, outputs, srt, stdout_format)
            else:
                summary = _render(kernel, text, output, view, token, kwargs, source, outputs, srt,
                                  workers=conf.value("workers"), batch_size=conf.value("batch_size"),
                                  stdout_format=stdout_format, split=mastering.get("split"))
    except Cancelled as exc:
        cancelled(exc, kernel, console, view.warnings)
    if captions and mastering.get("split"):  # captions timed for each chapter's own file
        outputs.update(_chapter_captions(captions, summary, caption_words, caption_karaoke))
    elif captions:
        outputs["captions"] = _captions(captions, summary["words"], caption_words, caption_karaoke)
    if console is not None and not st.json:
        from polyvox.cli import summary as summaries  # its tables are drawn after the audio, not before

        console.print(summaries.summary_table(summary))
    if emit:
        if st.json:
            emit_json(summary)
        elif not st.quiet and output is not None:
            for path in outputs.values():
                if path:
                    click.echo(path)
    return summary


def _captions(path: str, words: list[dict[str, Any]], max_words: int, karaoke: bool) -> str:
    """Write the render's words (its --json `words`) as captions to `path`."""
    from polyvox.words import CaptionOptions, WordTime, write_captions

    options = CaptionOptions(max_words=max_words, karaoke=karaoke)
    return str(write_captions(path, [WordTime.from_dict(w) for w in words], options))


def _chapter_captions(path: str, summary: dict[str, Any], max_words: int, karaoke: bool) -> dict[str, str]:
    """With --split chapters: one caption file per chapter file, named as it is with the
    captions' extension, in the captions' folder, its words timed from the chapter's start."""
    out: dict[str, str] = {}
    target = Path(path)
    for n, chapter in enumerate(summary.get("chapters") or [], 1):
        if not chapter.get("file"):
            continue
        words = [{**w, "start": w["start"] - chapter["start"], "end": w["end"] - chapter["start"]}
                 for w in summary["words"] if chapter["start"] <= w["start"] < chapter["end"]]
        name = target.with_name(Path(chapter["file"]).stem + target.suffix)
        out[f"captions{n}"] = _captions(str(name), words, max_words, karaoke)
    return out


#: One kernel per settings in this process, so `demo --srt` loads each model once.
_KERNELS: dict[tuple[Any, ...], Any] = {}


def _kernel(conf: Any) -> Any:
    key = tuple(conf.value(name) for name in ("cache_dir", "cache_size_limit", "device", "seed", "executor",
                                              "ray_address", "ray_replicas", "lexicon"))
    if key not in _KERNELS:
        _KERNELS.clear()
        _KERNELS[key] = conf.kernel()
    return _KERNELS[key]


def _render(kernel: Any, text: str | Path, output: Path | None, view: Any, token: Any, kwargs: dict[str, Any],
            source: str, outputs: dict[str, str | None], srt: bool, workers: int, batch_size: int | None = None,
            stdout_format: str = "wav", split: str | None = None) -> dict[str, Any]:
    from polyvox.cli import summary as summaries

    target = sys.stdout.buffer if output is None else output
    result = kernel.render(text, on_event=view, cancel=token, workers=workers, batch_size=batch_size, output=target,
                           format=stdout_format if output is None else None, split=split, **kwargs)
    if split:
        outputs["audio"] = None
        outputs.update({f"chapter{n}": c.file for n, c in enumerate(result.chapters, 1)})
    if srt and output is not None:
        outputs.update(files.subtitle_files(result, output))
    view.stop()
    return summaries.from_result(result, source=source, outputs=outputs)


def _stream(kernel: Any, text: str | Path, output: Path | None, view: Any, token: Any, kwargs: dict[str, Any],
            source: str, outputs: dict[str, str | None], srt: bool, stdout_format: str = "wav") -> dict[str, Any]:
    """Write each chunk as the kernel yields it, in output order."""
    import polyvox
    from polyvox.cli import summary as summaries

    stream = kernel.stream(text, on_event=view, cancel=token, **kwargs)
    target = sys.stdout.buffer if output is None else output
    with polyvox.AudioWriter(target, stream.sample_rate, stdout_format if output is None else None) as out:
        if isinstance(text, polyvox.Book):  # its title, author and cover; its chapters once known
            out.tags, out.cover = text.tags, text.cover
        for chunk in stream:
            out.write(chunk)
            if output is None:
                sys.stdout.buffer.flush()
        stream.result.check_spoken()  # no silent file for text with nothing to say
        out.chapters = stream.result.chapters
    if srt and output is not None:
        outputs.update(files.subtitle_files(stream.result, output))
    view.stop()
    return summaries.from_result(stream.result, source=source, outputs=outputs)
