"""Kokoro's graph with its predicted durations as a second output, patched once per model file
and kept on disk.

Kokoro's forward predicts how many frames each token lasts (duration predictor -> sigmoid ->
sum / speed -> ``Round`` -> ``Clip`` (at least 1) -> ``Cast`` to int64) and repeats each token's
features that many frames; every frame is 600 samples of the 24 kHz audio, so the audio is
exactly ``600 × sum(durations)`` samples long. The exports polyvox runs give only the audio:
`patched` marks that ``Cast`` tensor (found by its operators, not by name) as an output too,
and writes the graph beside the model in polyvox's models folder (``kokoro/``), named by the
model's path, size and modification time and the `onnx` version; a replaced model makes a new
one, and the older one of that path goes. Nothing else in the graph changes, so the audio is
the same sample for sample. A graph with no such tensor, or a folder that cannot be written,
gives None: the engine runs the model as it is and its word times are estimated from the audio.
"""

from __future__ import annotations

import glob
import logging
import os
from pathlib import Path
from typing import Any

_LOG = logging.getLogger(__name__)
#: Samples of the 24 kHz audio per predicted duration frame (hop 300 × the generator's upsampling 2).
FRAME = 600
#: Bumped when the patch changes, so a kept graph of an older patch is made again.
_REVISION = "1"
_INT64 = 7  # onnx.TensorProto.INT64


def duration_tensor(graph: Any) -> str | None:
    """The name of `graph`'s int64 durations (``Round -> Clip -> Cast``), or None unless exactly one."""
    readers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    found = [cast.output[0]
             for rounded in graph.node if rounded.op_type == "Round"
             for clip in readers.get(rounded.output[0], ()) if clip.op_type == "Clip"
             for cast in readers.get(clip.output[0], ()) if cast.op_type == "Cast" and _to(cast) == _INT64]
    return found[0] if len(found) == 1 else None


def _to(cast: Any) -> int | None:
    return next((a.i for a in cast.attribute if a.name == "to"), None)


def kept_path(model: Path) -> Path:
    """Where the patched graph of the model file `model` is kept (whether it is there or not)."""
    import onnx
    import xxhash

    from polyvox.weights.store import models_dir

    source = model.resolve()
    stat = source.stat()
    where = xxhash.xxh3_64_hexdigest(str(source).encode())[:8]
    what = xxhash.xxh3_64_hexdigest(f"{stat.st_size}|{stat.st_mtime_ns}|{onnx.__version__}|{_REVISION}".encode())[:8]
    return models_dir() / "kokoro" / f"{source.stem}.durations-{where}-{what}.onnx"


def patched(model: Path) -> Path | None:
    """The kept graph of `model` that outputs the durations as well (made now if missing; `model`
    itself where it outputs them already), or None where none can be had (see the module's note)."""
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError:
        _LOG.info("the onnx package is missing: Kokoro's word times are estimated from the audio")
        return None
    try:
        target = kept_path(model)
        if target.is_file():
            return target
        graph = onnx.load(str(model))
        name = duration_tensor(graph.graph)
        if name is None:
            _LOG.info("Kokoro model %s has no single duration tensor: word times are estimated", model)
            return None
        if any(o.name == name for o in graph.graph.output):  # an export that gives them already
            return model
        graph.graph.output.append(helper.make_tensor_value_info(name, TensorProto.INT64, None))
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.part")
        try:
            onnx.save(graph, str(partial))
            os.replace(partial, target)  # whole or not at all
        finally:
            partial.unlink(missing_ok=True)
    except Exception as exc:  # noqa: BLE001 - a folder not writable, a model onnx cannot read: estimated
        _LOG.info("Kokoro's graph with durations could not be made (%s): word times are estimated", exc)
        return None
    for old in target.parent.glob(f"{glob.escape(target.name.rsplit('-', 1)[0])}-*.onnx"):
        if old != target:  # the same model file's graph from an older file, onnx or patch
            old.unlink(missing_ok=True)
    return target
