"""The studio's renders: a job is one script with its cast, rendered through the kernel's one
scheduler and cache like every API request; each pass over it (the render, a retake, an edit)
runs one step at a time in a worker thread and reports what happened as plain dicts.

A job belongs to the key that made it (a hash of it: keys are never stored), its id is 128
random bits, and the server keeps a few of them: past `JobBook.per_owner` (or `JobBook.total`)
the oldest idle job is forgotten. A job's output is written as it is made to a WAV file in the
book's temporary folder (never held whole in memory; removed with the job, and the folder when
the server stops); each segment's own take is read back from the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

import polyvox
from polyvox import Audio, AudioWriter, Book, Cancelled, CancelToken, ChapterMark, Kernel, Segment, Voice
from polyvox.events import SegmentFinished, SegmentHeard, WordsTimed
from polyvox.events import Warning as RenderWarning
from polyvox.serve.errors import ApiError, not_found

#: Seeds a retake draws from (the planner's range).
_SEEDS = 2**31 - 1
#: A markup tag in an edit's text (an escaped bracket, \\[, is a word).
_TAG = re.compile(r"(?<!\\)\[[^\]\n]*\]")


def owner_of(authorization: str | None) -> str:
    """Whose job: a hash of the Bearer header (every caller is one owner on a server without keys)."""
    return hashlib.sha256((authorization or "").encode()).hexdigest()


def words_json(words: Any) -> list[dict[str, Any]]:
    return [w.to_dict() for w in words]


class Job:
    """One script in the studio: its segments as last planned, its cast, and its last output."""

    def __init__(self, owner: str, source: Any, voice: Voice | None, voices: Mapping[str, Voice], *,
                 loudness: float | None = None, true_peak: float | None = None, chapter_rms: float | None = None,
                 room_tone: float | None = None, offsets: list[int] | None = None):
        self.id = secrets.token_urlsafe(16)
        self.owner = owner
        self.source = source  # the script text, then (after the first pass) its planned segments
        self.voice = voice
        self.voices = dict(voices)
        # applied as each pass assembles its takes (the cache keeps them raw)
        self.loudness = None if loudness is None else polyvox.Loudness(
            loudness, -1.0 if true_peak is None else true_peak, rms=chapter_rms, room_tone=room_tone)
        #: The book the script came from (its title, author and cover go into the files that hold them).
        self.book = source if isinstance(source, Book) else None
        #: Each chapter's title and first segment (found by the first pass; retakes keep them).
        self.chapters: list[tuple[str, int]] = []
        #: A book's script: the lines before each chapter's text (a segment's line is its chapter's),
        #: and each segment's line in the script, found by the first pass.
        self.offsets = offsets or []
        self.lines: dict[int, int] = {}
        #: The seeds of retaken takes, by who says what where (`_seat`): a new render of the
        #: script keeps the take a retake chose, where the line is the same.
        self.seeds: dict[tuple[Any, ...], int] = {}
        self.keys: dict[int, str] = {}  # segment index -> its take's cache key
        self.folder = Path(tempfile.gettempdir())  # where its output goes: the book's folder, once added
        self.output: Path | None = None  # the last finished pass's output (16-bit WAV)
        self.passes = 0
        self.segments: list[dict[str, Any]] = []  # the last finished pass's segments (times, words)
        self.cancel: CancelToken | None = None
        self.lock = threading.Lock()  # one pass at a time
        #: Subtitles keep their text (their cues place them): they are rendered whole, never retaken.
        self.subtitles = isinstance(source, str) and polyvox.is_subtitles(source)

    def forget(self) -> None:
        if self.output is not None:
            self.output.unlink(missing_ok=True)

    def audio(self) -> Audio:
        """The last finished pass's output."""
        if self.output is None:
            raise ApiError(409, "this render has not finished", code="render_running")
        return Audio.read(self.output)

    def marks(self) -> tuple[ChapterMark, ...]:
        """The last output's chapters: the book's, each where its first segment now starts; one
        for the whole render when it is no book (titled by its first words)."""
        if not self.segments:
            return ()
        starts = {s["index"]: s["start"] for s in self.segments}
        end = max(s["start"] + s["duration"] for s in self.segments)
        chapters = self.chapters or [(_title(self.segments), self.segments[0]["index"])]
        places = [(title, starts[index]) for title, index in chapters if index in starts]
        return tuple(ChapterMark(title, start, places[n + 1][1] if n + 1 < len(places) else end)
                     for n, (title, start) in enumerate(places))

    def segment(self, index: int) -> Segment:
        if not isinstance(self.source, list) or not 0 <= index < len(self.source):
            raise not_found(f"no segment {index} in this render", "index", "segment_not_found")
        return self.source[index]


class JobBook:
    """The jobs the server remembers, by id, each visible to its owner only."""

    def __init__(self, per_owner: int = 4, total: int = 32):
        self.per_owner = per_owner
        self.total = total
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self.folder = Path(tempfile.mkdtemp(prefix="polyvox-studio-"))
        # removed when the server shuts down (`close`), else when Python exits
        self.close = weakref.finalize(self, shutil.rmtree, self.folder, ignore_errors=True)

    def add(self, job: Job) -> None:
        job.folder = self.folder
        with self._lock:
            self._jobs[job.id] = job
            for limit, mine in ((self.per_owner, True), (self.total, False)):
                held = [j for j in self._jobs.values() if not mine or j.owner == job.owner]
                # renders that never finished (cancelled) go first, then the oldest: a page that
                # cancels a few tries still has the render it shows as done
                held.sort(key=lambda j: j.output is not None)
                for old in held[: max(0, len(held) - limit)]:
                    if old is not job and not old.lock.locked():
                        del self._jobs[old.id]
                        old.forget()

    def get(self, job_id: str, owner: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        # another key's job is as unknown as one that never was
        if job is None or not secrets.compare_digest(job.owner, owner):
            raise not_found("no such render here (the server keeps the last few of each key)", "id",
                            "render_not_found")
        return job


class Pass:
    """One run over a job (synchronous; `step` in a worker thread): the first render, or a
    retake of one segment (with a new seed, so made again) or an edit of its text; the others
    come from the cache. Events wait in `events` until the route sends them."""

    def __init__(self, kernel: Kernel, job: Job, *, verify: Any, batch_size: int | None = None,
                 retake: int | None = None, text: str | None = None):
        self.kernel = kernel
        self.batch_size = batch_size  # the server's --batch-size, as for its speech requests
        self.job = job
        self.events: list[dict[str, Any]] = []
        self.retake = retake
        self.edited = text is not None
        self.cancel = CancelToken()
        self.verify = attrs.evolve(verify, strict=False) if verify is not None else None
        self.seconds = 0.0
        self.stream: Any = None
        self.writer: AudioWriter | None = None
        self.path: Path | None = None
        self.released = False  # its queue slot and the job's lock given back (by the route)
        # a step runs in a worker thread that a client leaving does not stop: `close` waits for it
        # (a stream closed under the thread reading it is a "generator already executing")
        self._using = threading.Lock()
        self._closed = False
        self.source = list(job.source) if isinstance(job.source, list) else job.source  # the job's, once planned
        if retake is not None:
            old = job.segment(retake)
            if text is not None:
                if not text.strip():
                    raise ApiError(400, "the segment's new text is empty: give words to speak", param="text",
                                   code="empty_input")
                tag = _TAG.search(text)
                if tag is not None:  # an edit is one segment's words: who speaks and pauses live in the script
                    raise ApiError(400, f"the new text holds markup {tag.group(0)[:40]!r}: an edit is the segment's "
                                        "words; change speakers or pauses in the script and render again",
                                   param="text", code="invalid_value")
                self.source[retake] = attrs.evolve(old, text=text, spoken=None)
            else:  # a new seed is a new cache key: the take is made again (another take where the
                # engine is seeded or draws noise, as Piper does), and the rest of the script is cached
                params = {**old.params, "seed": secrets.randbelow(_SEEDS)}
                self.source[retake] = attrs.evolve(old, params=params)
                job.seeds[_seat(old)] = params["seed"]

    def _note(self, event: Any) -> None:  # in the render's thread: list.append is atomic
        if isinstance(event, SegmentFinished):
            made = {"type": "made", "index": event.index, "cached": event.cached, "seconds": round(event.seconds, 3),
                    "audio_seconds": round(event.audio_seconds, 3)}
            if event.index == self.retake:
                made["edited" if self.edited else "retaken"] = True
            self.events.append(made)
        elif isinstance(event, WordsTimed):
            self.events.append({"type": "words", "index": event.index, "words": words_json(event.words)})
        elif isinstance(event, SegmentHeard):
            self.events.append({"type": "heard", "index": event.index, "heard": event.heard,
                                "wer": round(event.wer, 4), "flags": list(event.flags), "passed": event.passed,
                                "take": event.take})
        elif isinstance(event, RenderWarning):
            self.events.append({"type": "warning", "message": event.message, "kind": event.kind})

    def _reseeded(self, text: str) -> list[Segment]:
        """The script's segments, each retaken one (the same words, speaker and line) with the
        seed its retake chose."""
        jobs = self.kernel.plan(text, voice=self.job.voice, voices=self.job.voices)
        seeds = self.job.seeds
        return [attrs.evolve(j.segment, params={**j.segment.params, "seed": seeds[_seat(j.segment)]})
                if _seat(j.segment) in seeds else j.segment for j in jobs]

    def _stream(self, source: Any) -> Any:
        return self.kernel.stream(source, voice=self.job.voice, voices=self.job.voices, cancel=self.cancel,
                                  on_event=self._note, verify=self.verify, batch_size=self.batch_size,
                                  loudness=self.job.loudness)

    def start(self) -> None:
        """Plan (bad input raises here)."""
        self.job.cancel = self.cancel
        if self.job.seeds and isinstance(self.source, str) and not self.job.subtitles:
            self.source = self._reseeded(self.source)
        self.stream = self._stream(self.source)
        jobs = self.stream.jobs
        if self.job.book is not None and not self.job.lines:
            self.job.lines = _script_lines(jobs, self.job.book, self.job.offsets)
        if not self.job.subtitles:
            # a book's segments keep the language they were planned in (the book's own): planned
            # again as a list, without the book, a voice's own language (hibari's en-us) would
            # give every segment a new key, and the first retake would make them all again
            self.job.source = [attrs.evolve(j.segment, language=j.request.language)
                               if self.job.book is not None and j.request is not None and not j.segment.language
                               else j.segment for j in jobs]
        self.job.keys = {j.index: j.key for j in jobs if j.key is not None}
        self.job.passes += 1
        self.path = self.job.folder / f"{self.job.id}-{self.job.passes}.wav"
        self.writer = AudioWriter(self.path, self.stream.sample_rate, "wav")
        self.events.append({"type": "job", "id": self.job.id, "sample_rate": self.stream.sample_rate,
                            "subtitles": self.job.subtitles,
                            "segments": [_planned(j, self.job.lines) for j in jobs]})

    def step(self) -> bool:
        """One chunk of the output; False at the end (or once closed)."""
        with self._using:
            if self._closed:
                return False
            chunk = next(self.stream, None)
            if chunk is None:
                self._finish()
                return False
            assert self.writer is not None
            self.writer.write(chunk)
            self.seconds += chunk.duration
            return True

    def _finish(self) -> None:
        result = self.stream.result
        assert self.writer is not None and self.path is not None
        self.writer.close()  # the file is whole: it takes its name
        self.writer = None
        old, self.job.output = self.job.output, self.path
        if old is not None:
            old.unlink(missing_ok=True)
        self.job.segments = [{"index": s.index, "start": round(s.start, 3), "duration": round(s.duration, 3),
                              "cached": s.cached, "pause": s.engine is None, "text": s.segment.written,
                              "words": words_json(s.words)} for s in result.segments]
        if result.chapters:  # a book's first pass: a retake renders its segments, and keeps these
            self.job.chapters = _firsts(result)
        done: dict[str, Any] = {"type": "done", "id": self.job.id, "duration": round(self.seconds, 3),
                                "segments": self.job.segments, "warnings": list(result.warnings),
                                "cached": result.stats.cached, "synthesized": result.stats.synthesized,
                                "chapters": [m.to_dict() for m in self.job.marks()] if self.job.book else []}
        if result.verification is not None:
            done["verification"] = [{"index": s.index, "passed": s.passed, "heard": s.verdict.heard,
                                     "wer": round(s.verdict.wer, 4), "flags": list(s.verdict.flags)}
                                    for s in result.verification.segments]
        self.events.append(done)

    def close(self) -> None:
        self.cancel.cancel()  # the step in progress, if any, ends after its segment
        with self._using:
            self._closed = True
            self._shut()

    def _shut(self) -> None:
        if self.stream is not None:
            self.stream.close()
        if self.writer is not None:  # a pass that did not finish leaves no file
            with contextlib.suppress(Exception):
                self.writer.__exit__(Cancelled, Cancelled("the pass did not finish"), None)
            self.writer = None


def _firsts(result: Any) -> list[tuple[str, int]]:
    """Each chapter's title and the first segment placed at or after its start."""
    placed = sorted(result.segments, key=lambda s: (s.start, s.index))
    out = []
    for mark in result.chapters:
        first = next((s for s in placed if s.start >= mark.start - 1e-3), placed[-1])
        out.append((mark.title, first.index))
    return out


def _title(segments: list[dict[str, Any]]) -> str:
    """A render's first words, as the title of its one chapter."""
    text = next((s["text"] for s in segments if not s["pause"] and s["text"].strip()), "")
    return text if len(text) <= 60 else text[:59].rstrip() + "…"


def _planned(job: Any, lines: dict[int, int]) -> dict[str, Any]:
    segment = job.segment
    voice = job.request.voice.name if job.request is not None and job.request.voice is not None else None
    return {"index": job.index, "text": segment.written, "character": segment.character,
            "line": lines.get(job.index, segment.line),
            "pause": segment.pause if job.request is None else 0.0, "engine": job.engine, "voice": voice}


def segment_audio(kernel: Kernel, job: Job, index: int) -> Audio:
    """A segment's own take: from the cache as soon as it is made, else cut from the output."""
    key = job.keys.get(index)
    if key is not None and kernel.cache is not None:
        hit = kernel.cache.get(key)
        if hit is not None:
            return hit
    for s in job.segments:
        if s["index"] == index and job.output is not None:
            return job.audio().slice(s["start"], s["start"] + s["duration"])
    raise not_found(f"segment {index} is not made yet", "index", "segment_not_found")


def _script_lines(jobs: list[Any], book: Book, offsets: list[int]) -> dict[int, int]:
    """Each segment's line in the studio's script of `book`: its chapter's lines before it (by
    `offsets`) and its line in the chapter. A chapter's spoken title (a segment with no line)
    says where it starts; chapters with nothing to say are not rendered, so titles are matched
    to chapters in order."""
    out: dict[int, int] = {}
    chapter = -1
    for job in jobs:
        seg = job.segment
        if seg.line is None and not seg.is_pause:  # a chapter's title: the next chapter titled so
            at = next((n for n in range(chapter + 1, len(book.chapters)) if book.chapters[n].title == seg.text), None)
            chapter = at if at is not None else chapter
        elif seg.line is not None and 0 <= chapter < len(offsets):
            out[job.index] = offsets[chapter] + seg.line
    return out


def _seat(segment: Segment) -> tuple[Any, ...]:
    """Who says what, where: a retaken take's place in a script rendered again."""
    return (segment.character, segment.text, segment.line, segment.language)
