"""Title, author, cover and chapter marks written into a finished file with mutagen, in each
format's own way: MP4 atoms (``©nam``, ``©ART``, ``covr``; its chapters are written by the
encoder), ID3v2 for MP3 (``TIT2``, ``TPE1``, ``APIC``, and ``CHAP`` frames under a ``CTOC``),
Vorbis comments for Ogg Vorbis, Opus and FLAC (``TITLE``, ``ARTIST``,
``METADATA_BLOCK_PICTURE``, and ``CHAPTER001=00:00:00.000`` with ``CHAPTER001NAME``)."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: Formats that carry tags (WAV and raw PCM do not).
TAGGED = ("m4b", "m4a", "mp3", "ogg", "opus", "flac")


def tag_file(path: Path, format: str, tags: Mapping[str, str], cover: Any, chapters: Sequence[Any]) -> None:
    """Write `tags` (title, author, album, track as "N/TOTAL"), `cover` (data, mime) and `chapters` (title, start, end)
    into the file at `path`, of `format`."""
    if format not in TAGGED or not (tags or cover or chapters):
        return
    from polyvox.books import needs

    needs("mutagen", "writing chapters and tags")
    if format in ("m4b", "m4a"):
        _mp4(path, tags, cover)
    elif format == "mp3":
        _id3(path, tags, cover, chapters)
    else:
        _vorbis(path, format, tags, cover, chapters)


def _mp4(path: Path, tags: Mapping[str, str], cover: Any) -> None:
    from mutagen.mp4 import MP4, MP4Cover

    audio = MP4(path)
    if audio.tags is None:
        audio.add_tags()
    if "title" in tags:
        audio.tags["\xa9nam"] = [tags["title"]]
        audio.tags["\xa9alb"] = [tags.get("album", tags["title"])]
    if "author" in tags:
        audio.tags["\xa9ART"] = [tags["author"]]
        audio.tags["aART"] = [tags["author"]]
    if "track" in tags:
        audio.tags["trkn"] = [_track(tags["track"])]
    audio.tags["stik"] = [2]  # iTunes media kind: audiobook
    if cover is not None:
        kind = MP4Cover.FORMAT_PNG if cover.mime == "image/png" else MP4Cover.FORMAT_JPEG
        audio.tags["covr"] = [MP4Cover(cover.data, imageformat=kind)]
    audio.save()


def _id3(path: Path, tags: Mapping[str, str], cover: Any, chapters: Sequence[Any]) -> None:
    from mutagen.id3 import APIC, CHAP, CTOC, ID3, TALB, TIT2, TPE1, TRCK, CTOCFlags, ID3NoHeaderError

    try:
        id3 = ID3(path)
    except ID3NoHeaderError:
        id3 = ID3()
    if "title" in tags:
        id3.add(TIT2(encoding=3, text=[tags["title"]]))
        id3.add(TALB(encoding=3, text=[tags.get("album", tags["title"])]))
    if "author" in tags:
        id3.add(TPE1(encoding=3, text=[tags["author"]]))
    if "track" in tags:
        id3.add(TRCK(encoding=3, text=[tags["track"]]))
    if cover is not None:
        id3.add(APIC(encoding=3, mime=cover.mime, type=3, desc="Cover", data=cover.data))
    if chapters:
        ids = _chapter_ids([c.title for c in chapters])
        id3.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED, child_element_ids=ids,
                     sub_frames=[TIT2(encoding=3, text=["Chapters"])]))
        for element, chapter in zip(ids, chapters, strict=True):
            id3.add(CHAP(element_id=element, start_time=round(chapter.start * 1000),
                         end_time=round(chapter.end * 1000), sub_frames=[TIT2(encoding=3, text=[chapter.title])]))
    id3.save(path, v2_version=4)


def _chapter_ids(titles: Sequence[str]) -> list[str]:
    """Element ids that keep the CHAP frames in chapter order in the file: mutagen writes frames
    of one kind shortest first (then by id), and FFmpeg (mpv, VLC, ffprobe) lists chapters in
    file order, not the CTOC's. Each id is padded so that every CHAP frame has the same length
    (its title is the only other part that differs), and numbered so that they sort in order."""
    width = len(str(len(titles)))
    sizes = [len(t.encode("utf-8")) for t in titles]  # a TIT2 in UTF-8 holds its text's bytes
    return [f"chp{n:0{width}d}" + "_" * (max(sizes) - size) for n, size in enumerate(sizes, 1)]


def _vorbis(path: Path, format: str, tags: Mapping[str, str], cover: Any, chapters: Sequence[Any]) -> None:
    from mutagen.flac import FLAC, Picture

    if format == "flac":
        audio: Any = FLAC(path)
    elif format == "opus":
        from mutagen.oggopus import OggOpus

        audio = OggOpus(path)
    else:
        from mutagen.oggvorbis import OggVorbis

        audio = OggVorbis(path)
    if audio.tags is None:
        audio.add_tags()
    if "title" in tags:
        audio["TITLE"] = [tags["title"]]
        audio["ALBUM"] = [tags.get("album", tags["title"])]
    if "author" in tags:
        audio["ARTIST"] = [tags["author"]]
    if "track" in tags:
        number, total = _track(tags["track"])
        audio["TRACKNUMBER"], audio["TRACKTOTAL"] = [str(number)], [str(total)]
    for n, chapter in enumerate(chapters, 1):
        audio[f"CHAPTER{n:03d}"] = [_clock(chapter.start)]
        audio[f"CHAPTER{n:03d}NAME"] = [chapter.title]
    if cover is not None:
        picture = Picture()
        picture.type, picture.mime, picture.desc, picture.data = 3, cover.mime, "Cover", cover.data
        if format == "flac":
            audio.clear_pictures()
            audio.add_picture(picture)
        else:
            audio["METADATA_BLOCK_PICTURE"] = [base64.b64encode(picture.write()).decode("ascii")]
    audio.save()


def _track(text: str) -> tuple[int, int]:
    number, _, total = text.partition("/")
    return int(number), int(total or 0)


def _clock(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
