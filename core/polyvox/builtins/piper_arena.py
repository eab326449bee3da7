"""ONNX Runtime's CPU memory arena for Piper's sessions: kept between sentences, given back
after a long pass (docs/piper.md, "Length and memory")."""

from __future__ import annotations

from typing import Any

import numpy as np

#: A pass over more phoneme ids than this gives the arena back when it ends: about 6 s of speech,
#: and some 130 MB of arena (about 0.45 MB an id, measured with joe). Shorter passes keep it for
#: the next: freeing it after every sentence cost each sentence 15 % more time (the next pass
#: faults its memory in again), and it is never more than this much.
SHRINK_ABOVE_IDS = 256


class ArenaShrinking:
    """An ONNX Runtime session whose `run` over more than `SHRINK_ABOVE_IDS` phoneme ids ends
    by giving the CPU memory arena's free chunks back (the run option
    ``memory.enable_memory_arena_shrinkage``), so one long pass's memory is not kept for good;
    everything else is the session's own."""

    def __init__(self, session: Any):
        import onnxruntime

        self.session = session
        self._options = onnxruntime.RunOptions()
        self._options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    def run(self, output_names: Any, input_feed: Any, run_options: Any = None) -> Any:
        if run_options is None:
            ids = input_feed.get("input")
            run_options = self._options if ids is None or np.shape(ids)[-1] > SHRINK_ABOVE_IDS else None
        return self.session.run(output_names, input_feed, run_options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)
