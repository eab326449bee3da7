"""What a caller asks of verification (`VerifyOptions`) and what a render reports about it
(`VerifyReport`: every segment's takes and verdicts, and the counts of the summary)."""

from __future__ import annotations

from typing import Any

import attrs

from polyvox.errors import ParameterError
from polyvox.listen.takes import Take
from polyvox.listen.verdict import MAX_WER, Verdict, check_max_wer


def _retakes(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
        raise ParameterError(f"retakes={value!r} is not valid: expected a whole number from 0 to 100")


@attrs.frozen
class VerifyOptions:
    """Hear every take of a render and retake the ones that fail.

    `listener`: ``NAME`` or ``NAME:MODEL`` (None: the best installed listener, its default
    model). `retakes`: new takes (each with another seed) a failing segment may get. `max_wer`:
    the word error rate above which a take's words count as wrong. `retake_failed`: segments
    that still failed in an earlier run get `retakes` more tries; the others are taken as chosen.
    `strict`: a segment that still fails is an error (None: as the render's own `strict`).
    """

    listener: str | None = None
    retakes: int = attrs.field(default=2, validator=_retakes)
    max_wer: float = attrs.field(default=MAX_WER, converter=check_max_wer)
    retake_failed: bool = False
    strict: bool | None = None


def verify_options(value: Any) -> VerifyOptions | None:
    """`verify=` of the API: True (the defaults), a listener name, `VerifyOptions`, or False/None."""
    if value is None or value is False:
        return None
    if value is True:
        return VerifyOptions()
    if isinstance(value, str):
        return VerifyOptions(listener=value)
    if isinstance(value, VerifyOptions):
        return value
    raise ParameterError(f"verify={value!r} is not valid: expected True, a listener name such as 'whisper' or "
                         "'whisper:small', or VerifyOptions(...)")


@attrs.frozen
class SegmentVerdict:
    """One segment's takes (in the order made, earlier runs' first) and the one kept."""

    index: int
    text: str
    takes: tuple[Take, ...]
    chosen: int
    #: Takes heard in this render (0: every verdict came from the cache).
    heard: int = 0
    #: Takes made in this render after the first (retakes).
    retaken: int = 0

    @property
    def verdict(self) -> Verdict:
        return self.takes[self.chosen].verdict

    @property
    def passed(self) -> bool:
        return self.verdict.passed

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "text": self.text, "passed": self.passed, "chosen": self.chosen,
                "seed": self.takes[self.chosen].seed, "heard": self.heard, "retaken": self.retaken,
                "verdict": self.verdict.to_dict(), "takes": [t.to_dict() for t in self.takes]}


@attrs.frozen
class VerifyReport:
    listener: str
    segments: tuple[SegmentVerdict, ...]

    @property
    def heard(self) -> int:
        """Takes heard in this render."""
        return sum(s.heard for s in self.segments)

    @property
    def retaken(self) -> int:
        """Segments retaken in this render."""
        return sum(1 for s in self.segments if s.retaken)

    @property
    def failing(self) -> tuple[int, ...]:
        """Indices of the segments whose kept take still fails."""
        return tuple(s.index for s in self.segments if not s.passed)

    @property
    def worst_wer(self) -> float | None:
        checked = [s.verdict.wer for s in self.segments if s.verdict.words_checked]
        return max(checked) if checked else None

    def to_dict(self) -> dict[str, Any]:
        worst = self.worst_wer
        return {"listener": self.listener, "segments_heard": self.heard, "retaken": self.retaken,
                "still_failing": list(self.failing), "worst_wer": None if worst is None else round(worst, 4),
                "segments": [s.to_dict() for s in self.segments]}

    def summary(self) -> dict[str, Any]:
        """The short form (server headers, the SSE done event): counts, no per-segment detail."""
        worst = self.worst_wer
        return {"listener": self.listener, "segments": len(self.segments), "heard": self.heard,
                "retaken": self.retaken, "still_failing": list(self.failing),
                "worst_wer": None if worst is None else round(worst, 4)}

    @classmethod
    def joined(cls, reports: list[VerifyReport]) -> VerifyReport:
        """Several renders' reports as one (the pieces of one answer spoken as several renders,
        as the Wyoming server does): their segments in order, numbered on from each other."""
        segments: list[SegmentVerdict] = []
        for report in reports:
            segments += [attrs.evolve(s, index=len(segments) + n) for n, s in enumerate(report.segments)]
        return cls(reports[0].listener if reports else "", tuple(segments))

    def verdicts(self) -> dict[str, Any]:
        """The verdicts a server reports (the SSE done event, Wyoming's audio-stop): the counts,
        and each segment's text, words heard, word error rate, flags and takes."""
        out = self.summary()
        out["segments"] = [{"index": s.index, "text": s.text, "heard": s.verdict.heard,
                            "wer": round(s.verdict.wer, 4), "flags": list(s.verdict.flags), "passed": s.passed,
                            "takes": len(s.takes)} for s in self.segments]
        return out
