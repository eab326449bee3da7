"""A finished file's chapter marks read back: MP4 chapters through PyAV (FFmpeg's demuxer),
ID3 ``CHAP`` frames and Vorbis ``CHAPTERnnn`` comments through mutagen. A file without any is
one chapter, the whole of it."""

from __future__ import annotations

import re
from pathlib import Path

from polyvox.books import needs
from polyvox.render.results import ChapterMark

_CLOCK = re.compile(r"^(\d+):(\d\d):(\d\d(?:\.\d+)?)$")


def read_chapters(path: str | Path, duration: float) -> list[ChapterMark]:
    """The chapters of the file at `path` (`duration` seconds long), in order."""
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    marks: list[ChapterMark] = []
    if suffix in ("m4b", "m4a", "mp4"):
        av = needs("av", "reading MP4 chapters")
        with av.open(str(path)) as container:
            for c in container.chapters():
                base = float(c["time_base"] or 0)
                marks.append(ChapterMark(c["metadata"].get("title", ""), c["start"] * base, c["end"] * base))
    elif suffix == "mp3":
        needs("mutagen", "reading ID3 chapters")
        from mutagen.id3 import ID3, ID3NoHeaderError

        try:
            frames = ID3(path).getall("CHAP")
        except ID3NoHeaderError:
            frames = []
        for frame in sorted(frames, key=lambda f: f.start_time):
            title = frame.sub_frames.get("TIT2")
            marks.append(ChapterMark(str(title.text[0]) if title else frame.element_id, frame.start_time / 1000,
                                     frame.end_time / 1000))
    elif suffix in ("ogg", "opus", "flac"):
        mutagen = needs("mutagen", "reading chapter comments")
        tags = getattr(mutagen.File(path), "tags", None) or {}
        starts = []
        for n in range(1, 1000):
            stamp = tags.get(f"CHAPTER{n:03d}")
            if not stamp or not (m := _CLOCK.match(stamp[0])):
                break
            name = tags.get(f"CHAPTER{n:03d}NAME") or [f"Chapter {n}"]
            starts.append((name[0], int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])))
        ends = [s for _, s in starts[1:]] + [duration] if starts else []  # none: the whole file, below
        marks = [ChapterMark(title, start, end) for (title, start), end in zip(starts, ends, strict=True)]
    return marks or [ChapterMark(path.stem, 0.0, duration)]
