"""ChatterBox batching on a CUDA device with the published weights: segments per second at
batch 1 / 2 / 4 / 8, end to end (text to watermarked audio), and whether batch 8 reaches the
issue's goal of 2.5x batch 1 for Turbo.

``make bench-gpu``, or in the engines environment:
``.venv-chatterbox/bin/python benchmarks/gpu.py [--weights DIR] [--models turbo english] [--download]``

Weights come from ``--weights DIR`` (upstream's file names; Turbo in ``DIR/turbo`` or DIR
itself), else from the Hugging Face cache (``$HF_HOME/hub``, where ``polyvox models pull
chatterbox:turbo`` puts them). Nothing is downloaded unless ``--download`` is given. Without a
CUDA device, torch, or the weights, it prints one line saying what is missing and exits 0, so
it can sit in any machine's routine.

Real weights stop by themselves, so segments have their natural lengths (the same 8 sentences
at every batch size, same seeds); batch sizes are interleaved over ``--repeats`` rounds and
each keeps its best time, as in `chatterbox_batch.py`.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GOAL = 2.5  # issue 17: Turbo end to end at batch 8 vs batch 1

SENTENCES = [
    "The lighthouse keeper counted the ships as they passed, one by one, until the fog came in.",
    "Rain had fallen all night, and the streets were still shining when the first bus arrived.",
    "She opened the letter slowly, afraid of what it might say about the house by the sea.",
    "Nobody in the village remembered a winter like this one, not even the oldest fisherman.",
    "He laughed at the joke, then looked away, as if he had heard it somewhere long ago.",
    "The train was late again, and the platform was crowded with tired faces and wet umbrellas.",
    "Bread, cheese and apples were all they had left, but it was enough for one more day.",
    "They walked home along the river as the lights came on in the windows across the water.",
]


def missing(device: str, weights: Path | None, models: list[str], download: bool) -> tuple[str | None, dict]:
    """(what is missing, in one line, or None; each model's weights folder)."""
    try:
        import torch
    except ImportError:
        return "torch is not installed here: run me with chatterbox's environment (.venv-chatterbox/bin/python)", {}
    if not device.startswith("cuda") or not torch.cuda.is_available():
        return f"no CUDA device (torch {torch.__version__} sees none; device {device!r})", {}
    folders = {}
    for name in models:
        folder = find_weights(name, weights, download)
        if isinstance(folder, str):
            return folder, {}
        folders[name] = folder
    return None, folders


def find_weights(name: str, weights: Path | None, download: bool) -> Path | str:
    """The folder holding `name`'s files, or a line saying why there is none."""
    sys.path.insert(0, str(ROOT / "plugins" / "chatterbox"))
    from polyvox_chatterbox.weights import LAYOUTS

    layout = LAYOUTS[name]
    if weights is not None:
        folder = weights / layout.subdir if layout.subdir and (weights / layout.subdir).is_dir() else weights
        absent = [f for f in layout.required if not (folder / f).is_file()]
        return folder if not absent else f"no {name} weights in {folder}: missing {', '.join(absent)}"
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(layout.repo, allow_patterns=[*layout.required, *layout.optional],
                                        local_files_only=not download))
    except LocalEntryNotFoundError:
        return (f"no {name} weights in the Hugging Face cache ({layout.repo}): pass --weights DIR, run "
                f"'polyvox models pull chatterbox:{name}', or add --download")
    absent = [f for f in layout.required if not (folder / f).is_file()]
    return folder if not absent else f"{name} weights incomplete in {folder}: missing {', '.join(absent)}"


def measure(model: Any, reqs: list[Any], batch: int) -> float:
    import torch
    from polyvox_chatterbox import synthesis

    torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(0, len(reqs), batch):
        synthesis.synthesize_many(model, reqs[i : i + batch], model.builtin)
    torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, help="a folder with upstream's files (else the Hugging Face cache)")
    parser.add_argument("--download", action="store_true", help="fetch missing weights from the hub")
    parser.add_argument("--models", nargs="+", default=["turbo"], choices=["turbo", "english", "multilingual"])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    why, folders = missing(args.device, args.weights, args.models, args.download)
    if why is not None:
        print(f"benchmarks/gpu.py: nothing measured: {why}")
        return

    import torch
    from polyvox_chatterbox.loader import load
    from polyvox_chatterbox.weights import LAYOUTS

    import polyvox

    print(f"Machine: {torch.cuda.get_device_name(args.device)}, {platform.node()}; torch {torch.__version__}, "
          f"CUDA {torch.version.cuda}. Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")
    print("\n| model | batch | seconds (best) | segments/s | vs batch 1 |\n|---|---|---|---|---|")
    verdicts = []
    for name in args.models:
        model = load(name, folders[name], LAYOUTS[name], args.device)
        reqs = [polyvox.Request(text=t, language="en", voice=polyvox.Voice(), model=name, params=_params(),
                                seed=n) for n, t in enumerate(SENTENCES)]
        measure(model, reqs[:2], 2)  # warm-up: kernels, allocator
        best: dict[int, float] = {}
        for _ in range(args.repeats):
            for batch in args.batches:
                best[batch] = min(measure(model, reqs, batch), best.get(batch, float("inf")))
        base = len(reqs) / best[args.batches[0]]
        for batch in args.batches:
            rate = len(reqs) / best[batch]
            print(f"| {name} | {batch} | {best[batch]:.2f} | {rate:.2f} | {rate / base:.2f}× |", flush=True)
        if name == "turbo" and 8 in best:
            ratio = best[args.batches[0]] / best[8]
            verdicts.append(f"Turbo end to end at batch 8: {ratio:.2f}× batch 1 (goal ≥ {GOAL}×: "
                            f"{'met' if ratio >= GOAL else 'not met'})")
        del model
        torch.cuda.empty_cache()
    print("\n" + "\n".join(verdicts) if verdicts else "")


def _params() -> dict[str, Any]:
    """The engine's declared defaults, as a render without parameters sends them."""
    from polyvox_chatterbox.engine import ChatterBox

    return ChatterBox().spec().defaults()


if __name__ == "__main__":
    main()
