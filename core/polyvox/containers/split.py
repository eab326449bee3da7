"""`--split chapters`: one file per chapter of a book render, named after the output and the
chapter (``out/book.m4b`` -> ``out/book-01-loomings.m4b``, ...), each tagged with its chapter's
title and the book's author and cover, each written atomically as the audio comes."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import attrs

from polyvox.errors import PolyvoxError
from polyvox.render.output import AudioWriter

SPLITS = ("chapters",)


def chapter_path(output: Path, number: int, title: str) -> Path:
    """Where chapter `number` (1-based) titled `title` goes, beside `output`."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:40].strip("-")
    return output.with_name(f"{output.stem}-{number:02d}{'-' + slug if slug else ''}{output.suffix}")


def write_split(render: Any, output: Path, format: str | None, tags: dict[str, str], cover: Any) -> Any:
    """Run `render` (a book's, `polyvox.render.orchestrator.Render`) into one file per chapter;
    its result's chapters name their files."""
    if render.chapters is None:
        raise PolyvoxError("--split chapters needs a book (.epub, .md, .html, or text with 'Chapter N' lines)")
    writer: AudioWriter | None = None
    files: list[Path] = []
    try:
        for chunk in render.audio(output=output):
            if writer is None or render.chapter >= len(files):
                if writer is not None:
                    writer.close()
                title = render.chapters[render.chapter] or ""
                files.append(chapter_path(output, render.chapter + 1, title))
                writer = AudioWriter(files[-1], render.sample_rate, format,
                                     acx=render.options.loudness is not None and render.options.loudness.acx)
                writer.tags = {**tags, "title": title, **({"album": tags["title"]} if "title" in tags else {}),
                               "track": f"{render.chapter + 1}/{len(render.chapters)}"}  # players sort by it
                writer.cover = cover
            writer.write(chunk)
        assert render.result is not None
        render.result.check_spoken()
    except BaseException:
        if writer is not None:
            writer.close(failed=True)
        raise
    if writer is not None:
        writer.close()
    marks = tuple(attrs.evolve(mark, file=str(path)) for mark, path in zip(render.result.chapters, files,
                                                                          strict=False))
    return attrs.evolve(render.result, chapters=marks)
