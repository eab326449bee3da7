"""Where a render's input comes from and its files go: stdin or a file in, an output path
from -o/--format, and the subtitle report and adjusted SRT beside the audio. The audio itself
is written by the kernel (`polyvox.AudioWriter`), atomically."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from polyvox.names import AUDIO_FORMATS

#: What -o's extension and --format may name (raw ``pcm`` only with --format).
FORMATS = tuple(AUDIO_FORMATS)
#: Where renders go unless -o says otherwise (`make demo` writes out/demo.wav).
OUT_DIR = Path("out")


def read_input(file: str) -> str | Path:
    """stdin as text (any encoding subtitles come in), or the file's path for the kernel to read."""
    if file == "-":
        return read_stdin("FILE", "echo 'Hello' | polyvox render -")
    path = Path(file)
    if path.is_dir():
        raise click.UsageError(f"{file!r} is a directory: give a script (.txt) or subtitles (.srt) file")
    if not path.is_file():
        raise click.UsageError(f"no such file: {file!r}")
    return path


def read_stdin(argument: str, example: str) -> str:
    """Standard input as text (any encoding scripts and subtitles come in); a usage error when
    it is a terminal, where nobody is piping anything in."""
    if sys.stdin.isatty():
        raise click.UsageError(f"{argument} is '-' but nothing is piped in: `{example}`")
    from polyvox import decode_script

    return decode_script(sys.stdin.buffer.read(), "stdin")


def output_path(output: str | None, fmt: str | None, stem: str) -> Path | None:
    if output == "-":
        return None
    suffix = f".{(fmt or 'wav').lower()}"
    if output is None:
        return OUT_DIR / f"{stem}{suffix}"
    if not output.strip():
        raise click.UsageError("-o/--output is empty: give a file name (story.wav), a folder, or - for stdout")
    path = Path(output).expanduser()
    if output.endswith(("/", os.sep)) or path.is_dir():  # a folder: the file goes in it, named after the input
        return path / f"{stem}{suffix}"
    given = path.suffix.lower().lstrip(".")
    if given in FORMATS:
        if fmt and fmt.lower() != given:
            raise click.UsageError(f"--format {fmt} does not match the extension of {output!r}")
        return path
    if path.suffix:
        raise click.UsageError(f"unknown audio format {path.suffix!r} in {output!r}; use one of "
                               + ", ".join(f".{f}" for f in FORMATS))
    return path.with_name(path.name + suffix)


def sidecars(output: Path) -> tuple[Path, Path]:
    """Where a subtitle render's adjusted SRT and timing report go, beside the audio."""
    return output.with_name(output.stem + ".adjusted.srt"), output.with_name(output.stem + ".timing.json")


def subtitle_files(result: Any, output: Path) -> dict[str, str | None]:
    """Write the adjusted SRT and the per-cue timing report beside the audio."""
    import json

    files: dict[str, str | None] = {"srt": None, "timing": None}
    if result.srt:
        # never OUT.srt: rendering film.srt to film.wav would overwrite the input
        srt_path = sidecars(output)[0]
        srt_path.write_text(result.srt, encoding="utf-8")
        files["srt"] = str(srt_path)
    if result.timing:
        report = sidecars(output)[1]
        cues = [cue.to_dict() if hasattr(cue, "to_dict") else cue for cue in result.timing]
        report.write_text(json.dumps(cues, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        files["timing"] = str(report)
    return files
