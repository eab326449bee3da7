"""Audio files and streams: samples at one rate written to a file (under a temporary name,
renamed into place only when complete, so a failed write never leaves a truncated file under
the real name) or to a binary stream such as stdout (WAV with a streaming header, or raw PCM,
written as they come).

The ground floor of writing: `Audio.write` and the render's `AudioWriter` (which resamples
`Audio` chunks, polyvox.render.output) both write through `SampleWriter`."""

from __future__ import annotations

import contextlib
import errno
import glob
import io
import os
import secrets
import struct
from pathlib import Path
from typing import Any, BinaryIO, Self

import numpy as np

from polyvox.errors import PolyvoxError
from polyvox.names import AUDIO_FORMATS

#: Formats that can be written to a stream sample by sample; others are encoded at the end.
_STREAMABLE = ("wav", "pcm")
#: Formats FFmpeg encodes through PyAV (`polyvox.containers.encoding`): to files only (an MP4's
#: index is written at its end).
_AV_FORMATS = ("m4b", "m4a", "opus")
#: Seconds of silence written for "nothing to say" in formats that cannot be empty: libsndfile
#: writes no bytes at all for a FLAC, Ogg or MP3 without samples, which no player opens.
EMPTY_SECONDS = 0.02


def format_of(target: str | Path | BinaryIO, format: str | None = None) -> str:
    """The format name (``wav``, ``flac``, ...) for `target`: `format` if given, else the
    file's extension, else WAV for streams."""
    if format is None:
        if not isinstance(target, (str, Path)):
            return "wav"
        format = Path(target).suffix or "wav"  # named with its dot in a message: '.xyz'
    name = format.lower().lstrip(".")
    if name not in AUDIO_FORMATS:
        raise PolyvoxError(f"unknown audio format {format!r}; use one of {', '.join(AUDIO_FORMATS)}")
    written = Path(target).suffix.lower().lstrip(".") if isinstance(target, (str, Path)) else ""
    if written in AUDIO_FORMATS and written != name:  # FLAC data in "x.wav" no player opens as such
        raise PolyvoxError(f"format {format!r} does not match the extension of {str(target)!r}: name the file "
                           f"x.{name}, or leave the format out")
    return name


def audio_format(target: str | Path, format: str | None = None) -> str:
    """The format a file is written in, chosen by its suffix (``book.m4b`` -> ``m4b``) unless
    `format` names one; a one-line `PolyvoxError` names the formats there are."""
    return format_of(target, format)


def wav_header(rate: int, frames: int | None = None) -> bytes:
    """A 16-bit mono PCM WAV header; `frames` None writes the 'unknown length' sizes that
    players reading a pipe accept."""
    data = 0xFFFFFFFF if frames is None else frames * 2
    riff = 0xFFFFFFFF if frames is None else 36 + data
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    return b"RIFF" + struct.pack("<I", riff) + b"WAVEfmt " + fmt + b"data" + struct.pack("<I", data)


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


class SampleWriter:
    """Write float32 mono samples at one sample rate to a path or a binary stream.

    A path is written as ``.NAME.partial-PID-RANDOM.EXT`` (its own for each writer, so two renders
    to one name never write into one file: the last to finish wins, whole) and renamed over NAME
    when the `with` block ends without an error; on an error the partial file is removed and NAME
    is untouched. A partial file left by a process that is gone (killed) is removed.
    Set `chapters` (objects with title, start and end in seconds), `tags` (title, author) and
    `cover` (data, mime) before it closes, and a file of a format that holds them gets them
    (`polyvox.containers.tagging`).
    """

    def __init__(self, target: str | Path | BinaryIO, sample_rate: int, format: str | None = None,
                 acx: bool = False):
        self.format = format_of(target, format)
        self.acx = acx and self.format == "mp3"  # an MP3 as ACX takes it: 44.1 kHz, 192 kbps, constant
        self.sample_rate = ACX_MP3[0] if self.acx else int(sample_rate)
        self.frames = 0
        self.chapters: tuple[Any, ...] = ()
        self.tags: dict[str, str] = {}
        self.cover: Any = None
        self._path: Path | None = None
        self._partial: Path | None = None
        self._stream: BinaryIO | None = None
        self._file: Any = None  # soundfile.SoundFile for paths
        self._held: list[np.ndarray] = []  # non-streamable formats to a stream: encoded at the end
        if isinstance(target, (str, Path)):
            self._open_path(Path(target))
        else:
            if isinstance(target, io.TextIOBase) or not callable(getattr(target, "write", None)):
                what = "a text stream" if isinstance(target, io.TextIOBase) else repr(target)[:60]
                raise PolyvoxError(f"cannot write audio to {what}: give a file name, or a stream opened for bytes "
                                   "(open(path, 'wb'), sys.stdout.buffer, io.BytesIO())")
            if self.format in _AV_FORMATS:
                raise PolyvoxError(f"{self.format} is written to files only (its index is at its end): give a "
                                   "file name, or stream wav, pcm, flac, ogg or mp3")
            self._stream = target
            if self.format == "wav":
                self._stream_write(wav_header(self.sample_rate))

    # -- public ---------------------------------------------------------------------------
    def write_samples(self, samples: np.ndarray) -> None:
        """Append `samples` (float32 mono, at this writer's rate)."""
        if not len(samples):
            return
        self.frames += len(samples)
        if self._file is not None:
            try:
                self._file.write(samples)
            except (OSError, RuntimeError, ValueError) as exc:  # soundfile's are RuntimeErrors; PyAV's, OSErrors
                raise PolyvoxError(f"cannot write audio to {str(self._path)!r}: {_reason(exc, self._path)}") from None
        elif self.format in _STREAMABLE:
            self._stream_write(pcm16(samples))
        else:
            self._held.append(samples)

    def close(self, failed: bool = False) -> None:
        """Finish the output; with `failed`, throw away a partial file instead."""
        if not failed and not self.frames and self.format not in _STREAMABLE:
            self.write_samples(np.zeros(max(1, round(self.sample_rate * EMPTY_SECONDS)), np.float32))
        if self._file is not None:
            try:
                self._finish_file(failed)
            except Exception as exc:  # soundfile's RuntimeErrors, PyAV's and mutagen's errors
                failed = True
                error = PolyvoxError(f"cannot write audio to {str(self._path)!r}: {_reason(exc, self._path)}")
            else:
                error = None
            self._file = None
            assert self._partial is not None and self._path is not None
            if failed:
                _remove(self._partial)
            else:
                try:
                    os.replace(self._partial, self._path)
                except OSError as exc:
                    _remove(self._partial)
                    raise PolyvoxError(f"cannot write audio to {str(self._path)!r}: "
                                       f"{_reason(exc, self._path)}") from None
            if error is not None:
                raise error
        elif self._stream is not None and not failed:
            if self._held:
                self._stream_write(_encode(np.concatenate(self._held), self.sample_rate, self.format))
                self._held.clear()
            elif self.format == "wav":
                self._patch_wav_sizes()
            self._stream.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        self.close(failed=kind is not None)

    # -- internals ------------------------------------------------------------------------
    def _finish_file(self, failed: bool) -> None:
        """Close the file; unless `failed`, with its chapters and tags."""
        if failed:
            getattr(self._file, "abort", self._file.close)()
            return
        if self.format in _AV_FORMATS:
            self._file.close(self.chapters)
        else:
            self._file.close()
        if self.chapters or self.tags or self.cover is not None:
            from polyvox.containers.tagging import tag_file

            assert self._partial is not None
            tag_file(self._partial, self.format, self.tags, self.cover, self.chapters)

    def _open_path(self, path: Path) -> None:
        self._path = path
        _remove_orphans(path)
        self._partial = path.with_name(f".{path.stem}.partial-{os.getpid()}-{secrets.token_hex(3)}{path.suffix}")
        if self.format in _AV_FORMATS:
            from polyvox.containers.encoding import AVFile

            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._file = AVFile(self._partial, self.sample_rate, self.format)
            except Exception as exc:  # PyAV's errors (OSError, ValueError...) or PyAV missing
                _remove(self._partial)
                raise PolyvoxError(f"cannot write audio to {str(path)!r}: {_reason(exc, path)}") from None
            return
        import soundfile as sf

        sf_format, subtype = _soundfile_format(self.format)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            extra = {"endian": "LITTLE"} if sf_format == "RAW" else _QUALITY.get(sf_format, {})
            if self.acx:
                extra = {"bitrate_mode": "CONSTANT", "compression_level": ACX_MP3[1]}
            self._file = sf.SoundFile(self._partial, "w", samplerate=self.sample_rate, channels=1, format=sf_format,
                                      subtype=subtype, **extra)
        except (OSError, RuntimeError) as exc:
            _remove(self._partial)
            raise PolyvoxError(f"cannot write audio to {str(path)!r}: {_reason(exc, path)}") from None

    def _stream_write(self, data: bytes) -> None:
        assert self._stream is not None
        try:
            self._stream.write(data)
        except BrokenPipeError:
            raise  # the reader went away (`| head`, a player closed): its own kind, ended quietly by the CLI
        except OSError as exc:
            raise PolyvoxError(f"cannot write audio to the output stream: {_reason(exc)}") from None

    def _patch_wav_sizes(self) -> None:
        """A seekable stream (stdout redirected to a file) gets the real sizes in its header."""
        assert self._stream is not None
        try:
            if not self._stream.seekable():
                return
            end = self._stream.tell()
            start = end - self.frames * 2 - 44
            if start < 0:
                return
            self._stream.seek(start)
            self._stream.write(wav_header(self.sample_rate, self.frames))
            self._stream.seek(end)
        except (OSError, ValueError, io.UnsupportedOperation):
            return


def _soundfile_format(name: str) -> tuple[str, str | None]:
    sf_format = AUDIO_FORMATS[name]
    return sf_format, {"WAV": "PCM_16", "FLAC": "PCM_16", "RAW": "PCM_16"}.get(sf_format)


#: libsndfile's defaults are thin for speech (MP3: VBR at about 25 kbit/s for 22 kHz mono) and
#: their peaks grow by up to 2 dB (a file levelled to -3.5 dBTP for ACX failed ACX's -3 dB). MP3:
#: constant bit rate at half compression, about 80 kbit/s at 22-24 kHz, 160 at 44.1-48 kHz; Vorbis:
#: about 80 kbit/s at 22 kHz (peaks within 0.25 dB of the source in speech).
_QUALITY = {"MP3": {"bitrate_mode": "CONSTANT", "compression_level": 0.5}, "OGG": {"compression_level": 0.2}}
#: ACX's MP3: the sample rate, and libsndfile's compression level that LAME makes 192 kbps CBR of.
ACX_MP3 = (44_100, 0.4)


def _encode(samples: np.ndarray, rate: int, name: str) -> bytes:
    import soundfile as sf

    buffer = io.BytesIO()
    sf_format, subtype = _soundfile_format(name)
    sf.write(buffer, samples, rate, format=sf_format, subtype=subtype, **_QUALITY.get(sf_format, {}))
    return buffer.getvalue()


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _reason(exc: BaseException, where: Path | None = None) -> str:
    if isinstance(exc, OSError) and exc.errno in (errno.EEXIST, errno.ENOTDIR):  # -o story.txt/x.wav
        return "a part of its path is a file, not a folder"
    said = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    if where is not None and "system error" in said.lower() and _full(where):  # libsndfile's words for it
        return "No space left on device"
    return said


def _full(where: Path) -> bool:
    """Whether the file system `where` is on has (almost) no room left."""
    import shutil

    try:
        return shutil.disk_usage(where.parent if where.parent.exists() else Path.cwd()).free < (1 << 20)
    except OSError:
        return False


def _remove_orphans(path: Path) -> None:
    """Remove the partial files of `path` that processes no longer running left behind."""
    for orphan in path.parent.glob(f".{glob.escape(path.stem)}.partial-*{glob.escape(path.suffix)}"):
        pid = orphan.name[len(path.stem) + 10:].split("-", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            _remove(orphan)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: it is running
        return True
    return True
