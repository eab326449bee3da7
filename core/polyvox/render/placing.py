"""The place step for scripts: speech in script order becomes one stream of audio, with the
pauses the script asks for and the joins chunking chose (`assembly.JoinConfig`). Subtitles
have their own place step (polyvox.subtitles.placing); everything else about a render is shared."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator

from polyvox.audio import Audio
from polyvox.render.assembly import Assembler, JoinConfig
from polyvox.render.planner import Job
from polyvox.render.results import SegmentResult
from polyvox.words.mapping import for_script
from polyvox.words.timing import moved

#: What the run step hands the place step: each speech job with its audio and whether it
#: came from the cache, in script order.
Speech = Iterable[tuple[Job, Audio, bool]]


class ScriptPlacement:
    """Places every job's audio (pauses included) in order; `results` fills as it goes."""

    def __init__(self, jobs: list[Job], rate: int, join: Callable[[Job], JoinConfig],
                 chapter_firsts: Collection[int] = ()):
        self.jobs = jobs
        self.rate = rate
        self.join = join  # how a job's chunk joins the one before it (the caller's, else its engine's)
        self.results: list[SegmentResult] = []
        #: A book's chapters start at these jobs (indices); each starts a new output chunk.
        self.chapter_firsts = set(chapter_firsts)
        #: Where each chapter reached so far starts, in seconds of output; known before its first chunk.
        self.chapter_starts: list[float] = []

    def place(self, speech: Speech) -> Iterator[Audio]:
        assembler = assembler_for(self.jobs, self.rate, self.join)
        spoken = iter(speech)
        for job in self.jobs:
            if job.index in self.chapter_firsts:
                yield from assembler.finish()  # nothing held across a chapter's start
                self.chapter_starts.append(assembler.seconds)
            if job.request is None:
                if job.segment.pause:
                    yield from assembler.add_silence(job.segment.pause)
                self.results.append(SegmentResult(job.index, job.segment, None, None, None, None, False,
                                                  assembler.start, job.segment.pause))
                continue
            done, clip, cached = next(spoken)
            assert done is job, "the run step hands speech over in script order"
            yield from assembler.add(clip, job.segment.join, self.join(job))
            words = moved(for_script(job.segment.text, clip.words, clip, job.request.text), assembler.start,
                          hi=assembler.start + clip.duration)
            self.results.append(SegmentResult(job.index, job.segment, job.engine, job.model, job.request.language,
                                              job.request.voice.name, cached, assembler.start, clip.duration,
                                              job.key, words))
        yield from assembler.finish()


def assembler_for(jobs: Iterable[Job], rate: int, join: Callable[[Job], JoinConfig]) -> Assembler:
    """An assembler that holds back enough audio for the longest crossfade any job asks for."""
    speech = [j for j in jobs if j.request is not None]
    longest = max((join(j).crossfade_ms for j in speech), default=0.0)
    return Assembler(rate, JoinConfig(), hold_ms=longest)
