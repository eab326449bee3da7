"""`polyvox check`: hear a finished render against its script or subtitles, segment by segment."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from polyvox.cli import files
from polyvox.cli.options import emit_json, escape, output_options, settings, state, stdout_console


@click.command(short_help="Hear a finished render against its script or subtitles.")
@click.argument("audio", metavar="FILE")
@click.option("--script", metavar="SCRIPT", help="The script FILE was rendered from (markup as for render).")
@click.option("--srt", "subtitles", metavar="SUBS", help="The subtitles FILE was rendered from, heard cue by "
              "cue (give the adjusted .srt a render wrote beside its audio).")
@click.option("--listener", metavar="NAME[:MODEL]", help="The listener [default: the best installed].")
@click.option("--language", help="Language of lines without a language tag [default: en].")
@click.option("--max-wer", type=click.FloatRange(0.0, 1.0),
              help="Word error rate a segment may have (a dropped or repeated word weighs 4) [default: 0.2].")
@click.option("--strict", is_flag=True, help="Exit with status 1 when a segment fails.")
@click.option("--acx", is_flag=True, help="Check ACX's audio requirements per chapter instead (RMS -23 to -18 dB, "
              "peak at most -3 dB, noise floor at most -60 dB, room tone at head and tail); no listener needed.")
@output_options
def check(audio: str, script: str | None, subtitles: str | None, listener: str | None, language: str | None,
          max_wer: float | None, strict: bool, acx: bool = False) -> None:
    """Hear FILE and report each segment (each cue): words expected and heard, word error rate,
    language, and flags (words, language, silent, clipped).

    \b
      polyvox check out/story.wav --script story.txt
      polyvox check out/film.wav --srt out/film.adjusted.srt --json
      polyvox check --acx out/book.m4b
    """
    if acx:
        if script is not None or subtitles is not None:
            raise click.UsageError("--acx measures the audio alone: drop --script/--srt")
        _acx(audio, strict)
        return
    if script is not None and subtitles is not None:
        raise click.UsageError("give one text FILE was rendered from, --script SCRIPT or --srt SUBS, not both")
    if script is None and subtitles is None:
        raise click.UsageError("give the text FILE was rendered from: --script SCRIPT or --srt SUBS")
    import polyvox

    given = script or subtitles
    assert given is not None
    source = polyvox.read_source(files.read_input(given))
    if subtitles is not None and not polyvox.is_subtitles(source):
        raise click.UsageError(f"{given} holds no subtitle cues: use --script for a script")
    if not Path(audio).is_file():
        raise click.BadParameter(f"{audio!r} is not a file", param_hint="FILE")
    kernel = settings().kernel(cache=False)
    report = kernel.check(audio, source, listener=listener, language=language, max_wer=max_wer)
    st = state()
    if st.json:
        emit_json(report.to_dict())
    elif not st.quiet:
        _table(report, "cue" if subtitles else "segment")
    if strict and report.failing:
        sys.exit(1)


def _table(report: object, unit: str) -> None:
    from rich.table import Table

    data = report.to_dict()  # type: ignore[attr-defined]
    table = Table(title=f"Heard by {escape(data['listener'])}", title_justify="left")
    for column in (unit, "at", "expected", "heard", "WER", "language", "flags"):
        table.add_column(column)
    for row in data["segments"]:
        at = "–" if row["start"] is None else f"{row['start']:.1f}s"
        language = row["language"] or "–"
        if row["heard_language"] and row["heard_language"] != row["language"]:
            language += f" (heard {row['heard_language']})"
        flags = ", ".join(row["flags"])
        table.add_row(str(row["index"]), at, escape(row["text"]), escape(row["heard"]), f"{row['wer']:.2f}",
                      escape(language), f"[red]{flags}[/]" if flags else "[green]ok[/]")
    console = stdout_console()
    console.print(table)
    for warning in data["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    failing = data["failing"]
    file_flags = f"; the file: {', '.join(data['flags'])}" if data["flags"] else ""
    console.print(f"{len(data['segments']) - len(failing)} of {len(data['segments'])} {unit}s pass; worst word "
                  f"error rate {data['worst_wer']:.2f}{file_flags}")


def _acx(audio: str, strict: bool) -> None:
    """ACX's requirements per chapter of AUDIO; status 1 with --strict when one fails."""
    import polyvox

    if not Path(audio).is_file():
        raise click.BadParameter(f"{audio!r} is not a file", param_hint="FILE")
    chapters = [c.to_dict() for c in polyvox.check_acx(audio)]
    failing = [c for c in chapters if not c["passed"]]
    st = state()
    if st.json:
        emit_json({"schema": 1, "file": audio, "chapters": chapters, "passed": not failing})
    elif not st.quiet:
        from rich.table import Table

        table = Table(title="ACX requirements", title_justify="left")
        for column in ("chapter", "at", "RMS dB", "peak dB", "noise dB", "head s", "tail s", "flags"):
            table.add_column(column)

        def db(x: float | None) -> str:
            return "-inf" if x is None else f"{x:.1f}"

        for c in chapters:
            flags = ", ".join(c["flags"])
            table.add_row(escape(c["title"]), f"{c['start']:.1f}s", db(c["rms"]), db(c["peak"]),
                          db(c["noise_floor"]), f"{c['head']:.2f}", f"{c['tail']:.2f}",
                          f"[red]{escape(flags)}[/]" if flags else "[green]ok[/]")
        console = stdout_console()
        console.print(table)
        console.print(f"{len(chapters) - len(failing)} of {len(chapters)} chapters meet ACX's requirements")
    if strict and failing:
        sys.exit(1)
