"""The takes of a segment and their verdicts, kept in the content cache beside the audio.

One record per (segment key, listener): every take heard (its seed and verdict) and which was
chosen. A take's audio is an ordinary cache entry: the first take under the segment's own key,
each retake under a key made from the segment's key and the retake's seed, so a record can only
ever point at takes of its own segment (the keys are recomputed, never read from the record).
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from polyvox.cache.entries import TAKES, DamagedEntry, check_takes
from polyvox.cache.keys import digest
from polyvox.listen.verdict import Verdict

RECORD_VERSION = 1


def take_key(segment_key: str, first_seed: int, seed: int) -> str:
    """The cache key of the take made with `seed` of the segment keyed `segment_key`."""
    return segment_key if seed == first_seed else digest({"retake-of": segment_key, "seed": seed})


@attrs.frozen
class Take:
    seed: int
    key: str
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "key": self.key, "verdict": self.verdict.to_dict()}


@attrs.frozen
class Record:
    """Every take of one segment heard by one listener, and the one chosen."""

    takes: tuple[Take, ...]
    chosen: int

    @property
    def take(self) -> Take:
        return self.takes[self.chosen]


def _record_key(segment_key: str, listener: str) -> str:
    return TAKES + digest({"segment": segment_key, "listener": listener})


def read(store: Any, segment_key: str, first_seed: int, listener: str) -> Record | None:
    """The record of `segment_key` heard by `listener`, or None (absent or unreadable)."""
    value = store.get(_record_key(segment_key, listener))
    if value is None:
        return None
    try:
        data = json.loads(check_takes(value))
        takes = tuple(Take(int(t["seed"]), take_key(segment_key, first_seed, int(t["seed"])),
                           Verdict.from_dict(t["verdict"])) for t in data["takes"])
        chosen = int(data["chosen"])
        if not 0 <= chosen < len(takes):
            return None
        return Record(takes, chosen)
    except (DamagedEntry, KeyError, TypeError, ValueError):
        return None


def write(store: Any, segment_key: str, listener: str, record: Record) -> None:
    data = {"v": RECORD_VERSION, "listener": listener, "chosen": record.chosen,
            "takes": [t.to_dict() for t in record.takes]}
    store[_record_key(segment_key, listener)] = json.dumps(data, ensure_ascii=False, sort_keys=True)
