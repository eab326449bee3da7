"""ONNX models as ONNX Runtime optimizes them, kept on disk beside the fetched weights.

Building an ONNX Runtime session spends most of its time optimizing the graph (fusing
operators, folding constants): 0.25 of Piper's 0.35 s on a quiet 2-core machine, on every
start of every process. ONNX Runtime can write the optimized graph out
(`SessionOptions.optimized_model_filepath`) and load it again with its optimizers off, which
is its documented "offline" mode. `cpu_session` does that: the first session of a model file
is built at the extended level and writes its graph into ``models_dir()/onnx-optimized``;
every later one loads that graph as it is.

Every session made here runs the same graph, optimized at the same level (extended: the
level whose output ONNX Runtime calls portable, without the hardware-specific layout
transforms), so the audio is the same whether the optimized file was there or not. The file's
name holds the model's path, size and modification time and the ONNX Runtime version: a
replaced model or a new ONNX Runtime makes a new one (and the old one of that path goes). A
folder that cannot be written only costs the speed; an unreadable file is made again.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from polyvox.weights.store import models_dir

FOLDER = "onnx-optimized"


def optimized_path(model: str | Path, variant: str = "") -> Path:
    """Where the optimized graph of the model file `model` is kept (whether it is there or not);
    `variant` names a change `cpu_session`'s `prepare` makes to the graph first."""
    import onnxruntime
    import xxhash

    source = Path(model).resolve()
    stat = source.stat()
    where = xxhash.xxh3_64_hexdigest(str(source).encode())[:8]
    key = f"{stat.st_size}|{stat.st_mtime_ns}|{onnxruntime.__version__}|extended|{variant}"
    what = xxhash.xxh3_64_hexdigest(key.encode())[:8]
    return models_dir() / FOLDER / f"{source.stem}-{where}-{what}.onnx"


def cpu_session(model: str | Path, options: Any, prepare: Callable[[str], str | bytes] | None = None,
                variant: str = "") -> Any:
    """An ONNX Runtime session of the model file `model` on the CPU with `options` (a
    `SessionOptions`; its optimization level is set here), from the kept optimized graph when
    there is one, else optimized now and the graph kept for the next process. `prepare` turns
    the file into the graph to optimize (its path or ONNX bytes: Piper adds an output), run
    only when nothing is kept; `variant` names what it does, so each is kept apart."""
    import onnxruntime

    levels = onnxruntime.GraphOptimizationLevel
    providers = ["CPUExecutionProvider"]
    try:
        target = optimized_path(model, variant)
    except OSError:
        target = None
    if target is not None and target.is_file():
        options.graph_optimization_level = levels.ORT_DISABLE_ALL
        try:
            return onnxruntime.InferenceSession(str(target), sess_options=options, providers=providers)
        except Exception:  # noqa: BLE001 - a damaged file: made again below
            target.unlink(missing_ok=True)
    options.graph_optimization_level = levels.ORT_ENABLE_EXTENDED
    source = prepare(str(model)) if prepare is not None else str(model)
    if target is None or not _writable(target.parent):
        return onnxruntime.InferenceSession(source, sess_options=options, providers=providers)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{id(options):x}.part")
    options.optimized_model_filepath = str(partial)
    try:
        session = onnxruntime.InferenceSession(source, sess_options=options, providers=providers)
    finally:
        options.optimized_model_filepath = ""
    try:
        os.replace(partial, target)  # whole or not at all, whoever writes it last
        for old in target.parent.glob(f"{glob.escape(target.name.rsplit('-', 1)[0])}-*.onnx"):
            if old != target:  # the same model file's graph from an older file or ONNX Runtime
                old.unlink(missing_ok=True)
    except OSError:
        partial.unlink(missing_ok=True)
    return session


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)
