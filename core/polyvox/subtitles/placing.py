"""The place step for subtitles: each cue's speech is joined and trimmed into one clip, fitted
to the cue's time by the timing mode, and mixed into the output as it comes, so a two-hour
film renders in the memory of a short one (`timeline.Timeline`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from polyvox.audio import Audio
from polyvox.render.assembly import JoinConfig
from polyvox.render.placing import assembler_for
from polyvox.render.planner import Job
from polyvox.render.results import SegmentResult
from polyvox.subtitles.srt import Cue, write_srt
from polyvox.subtitles.timeline import Timeline
from polyvox.subtitles.timing import CueTiming, TimingConfig, fit, trim
from polyvox.words.mapping import for_script
from polyvox.words.timing import WordTime, moved

#: Where each job starts in its cue's clip, how long it lasts, and its words in the clip's seconds.
Where = dict[int, tuple[float, float, tuple[WordTime, ...]]]


class CuePlacement:
    """`units[n]` are the jobs of `cues[n]`; after `place`, `results`, `report` and `srt` are set."""

    def __init__(self, cues: Sequence[Cue], units: Sequence[list[Job]], rate: int, join: Callable[[Job], JoinConfig],
                 timing: TimingConfig, warn: Callable[[str, str], None]):
        self.cues = list(cues)
        self.units = list(units)
        self.rate = rate
        self.join = join
        self.timing = timing
        self.warn = warn
        self.results: list[SegmentResult] = []
        self.report: list[CueTiming] = []
        self.srt: str | None = None

    def place(self, speech: Iterable[tuple[Job, Audio, bool]]) -> Iterator[Audio]:
        spoken = iter(speech)
        offsets: list[Where] = []
        heard: list[dict[int, bool]] = []

        def clips() -> Iterator[Audio | None]:
            for jobs in self.units:
                clip, where, cached = self._cue_clip(jobs, spoken)
                offsets.append(where)
                heard.append(cached)
                yield clip

        notes: list[str] = []
        timeline = Timeline(self.cues, self.rate, self.timing)
        for timing, clip in fit(self.cues, clips(), self.rate, self.timing, notes):
            yield from timeline.add(timing, clip)
            n = len(timeline.report) - 1
            self._results(self.units[n], offsets[n], heard[n], timing)
        yield from timeline.finish()
        for note in notes:
            self.warn("timing", note)
        self.report = timeline.report
        self.srt = write_srt(timeline.adjusted())

    def _cue_clip(self, jobs: list[Job], spoken: Iterator[tuple[Job, Audio, bool]]
                  ) -> tuple[Audio | None, Where, dict[int, bool]]:
        """One cue's audio with its outer silence trimmed (pauses the cue asks for are kept),
        where each job starts in it and lasts (seconds), and which came from the cache."""
        speech = [j for j in jobs if j.request is not None]
        if not speech:
            return None, {}, {}
        assembler = assembler_for(jobs, self.rate, self.join)
        chunks: list[Audio] = []
        where: Where = {}
        cached: dict[int, bool] = {}
        for job in jobs:
            if job.request is None:
                if job.segment.pause:
                    where[job.index] = (assembler.seconds, job.segment.pause, ())
                    chunks.extend(assembler.add_silence(job.segment.pause))
                continue
            done, clip, cached[job.index] = next(spoken)
            assert done is job, "the run step hands speech over in script order"
            clip = clip.resample(self.rate)
            # the words as written, before trim moves them
            clip = clip.with_words(for_script(job.segment.text, clip.words, clip, job.request.text))
            clip = trim(clip, self.timing.keep_ms, self.timing.silence_db, lead=job is speech[0],
                        tail=job is speech[-1])
            chunks.extend(assembler.add(clip, job.segment.join, self.join(job)))
            where[job.index] = (assembler.start, clip.duration, moved(clip.words, assembler.start))
        chunks.extend(assembler.finish())
        return Audio.concatenate(chunks, self.rate), where, cached

    def _results(self, jobs: list[Job], where: Where, cached: dict[int, bool], entry: CueTiming) -> None:
        clip_at = max(0.0, entry.start - self.timing.keep_ms / 1000)  # the timeline's place for the clip
        for job in jobs:
            offset, length, words = where.get(job.index, (0.0, 0.0, ()))
            request = job.request
            start = entry.start + offset * entry.stretch
            # a truncated cue's clip stops at its end: what was cut off is no part of the output
            duration = max(0.0, min(length * entry.stretch, max(entry.end, start) - start))
            self.results.append(SegmentResult(
                job.index, job.segment, job.engine, job.model, request.language if request else None,
                request.voice.name if request else None, cached.get(job.index, False),
                start, duration, job.key, moved(words, clip_at, entry.stretch, hi=max(clip_at, entry.end))))
