"""Kokoro-82M as a polyvox engine, on onnxruntime (no torch).

A voice is a model, as for Piper: ``jf_alpha`` is a model id, and so is a blend
(``jf_alpha:0.7+jm_kumo:0.3``, see docs/kokoro.md). Loading a voice makes its style table (a
weighted mix of the parts' tables for a blend) and takes the ONNX session of its set from a
table shared by every loaded voice, so ten voices hold one model in memory.
"""

from __future__ import annotations

import os
import threading
import weakref
from pathlib import Path
from typing import Any

import numpy as np

import polyvox
from polyvox import Audio, Capabilities, EngineSpec, ParamSpec, Request
from polyvox.errors import ModelError
from polyvox_kokoro import catalogue, phonemes, words

SAMPLE_RATE = 24000
PARAMS = (
    ParamSpec("speed", 1.0, min=0.5, max=2.0, help="speaking rate: 2 is twice as fast, 0.5 half as fast"),
)

_sessions: weakref.WeakValueDictionary[tuple[str, str, bool], Session] = weakref.WeakValueDictionary()
_sessions_lock = threading.Lock()


class Session:
    """One ONNX session of a Kokoro export, and the names its inputs have in that export. The
    session runs the export's graph patched to output the token durations as well (`durations`;
    `timed`; an export that outputs them already runs as it is), else the graph as it is."""

    def __init__(self, path: Path, device: str, aligned: bool = True):
        import onnxruntime

        from polyvox_kokoro.durations import patched

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = polyvox.cores.usable()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        cuda = device.startswith("cuda") or (device == "auto" and _cuda_available())
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if cuda else ["CPUExecutionProvider"]
        self.path = path
        graph = patched(path) if aligned else None
        self.session = onnxruntime.InferenceSession(str(graph or path), sess_options=options, providers=providers)
        outputs = self.session.get_outputs()
        self.audio = outputs[0].name
        ints = [o.name for o in outputs[1:] if o.type == "tensor(int64)"]
        self.frames = ints[0] if graph is not None and len(ints) == 1 else None  # the durations' name
        self.timed = self.frames is not None
        names = [i.name for i in self.session.get_inputs()]
        self.tokens = "input_ids" if "input_ids" in names else "tokens"  # onnx-community / kokoro-onnx

    def run(self, ids: list[int], style: np.ndarray, speed: float) -> tuple[np.ndarray, np.ndarray | None]:
        """The audio of the token ids `ids` and each token's duration in frames (with the pads at
        either end; None when the graph does not give them)."""
        wanted = [self.audio, self.frames] if self.frames else [self.audio]
        out = self.session.run(wanted, {self.tokens: np.asarray([[0, *ids, 0]], dtype=np.int64),
                                        "style": style.reshape(1, 256).astype(np.float32),
                                        "speed": np.asarray([speed], dtype=np.float32)})
        frames = np.asarray(out[1]).reshape(-1) if self.frames else None
        return np.asarray(out[0], dtype=np.float32).reshape(-1), frames


def aligns_words() -> bool:
    """Whether sessions run the graph patched to output durations (word times): with `onnx`."""
    import importlib.util

    return importlib.util.find_spec("onnx") is not None


def session(path: Path, device: str) -> Session:
    """The shared session for `path` on `device`, made on first use; gone when no voice holds it.
    Kept apart by whether it runs the graph patched for durations (`aligns_words`)."""
    key = (str(path), device, aligns_words())
    with _sessions_lock:
        found = _sessions.get(key)
        if found is None:
            found = Session(path, device, key[2])
            _sessions[key] = found
        return found


class LoadedVoice:
    """A loaded voice: its style table (510 × 256) and the session of its set."""

    def __init__(self, model: str, style: np.ndarray, session: Session):
        self.model = model
        self.style = style
        self.session = session

    def speak(self, text: str, language: str, speed: float) -> Audio:
        """`text` spoken, with its words timed from the model's durations where it gives them."""
        pieces = phonemes.pieces(phonemes.phonemize(text, language), phonemes.MAX_TOKENS)
        parts: list[np.ndarray] = []
        said: list[words.Sound] | None = [] if self.session.timed else None
        at = 0  # where the piece's audio starts in the take
        for ids in pieces:
            audio, frames = self.session.run(ids, self.style[min(len(ids), len(self.style)) - 1], speed)
            cut = 0
            if len(pieces) > 1:  # pieces of one text: each model call pads its audio with silence
                audio, cut = _trim(audio)
            found = None if frames is None else words.sounds(ids, frames, at - cut, (at, at + len(audio)), SAMPLE_RATE)
            said = None if said is None or found is None else said + found  # a piece untimed: none timed
            parts.append(audio)
            at += len(audio)
        samples = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        timed = words.words(text, said, lambda word: phonemes.phonemize(word, language)) if said else ()
        return Audio(samples, SAMPLE_RATE, words=timed)


class Kokoro(polyvox.Engine):
    name = "kokoro"

    def spec(self) -> EngineSpec:
        offline = catalogue.offline_voices()
        official = [v for v in catalogue.OFFICIAL_VOICES if v not in offline]
        downloaded = catalogue.official_model_present()
        present = [*offline, *(v for v in official if downloaded and catalogue.official_present(v))]
        return EngineSpec(
            name=self.name, sample_rate=SAMPLE_RATE, languages=phonemes.LANGUAGES, default_model="af_heart",
            models=(*offline, *official), voices=present,
            voice_languages={v: catalogue.voice_language(v) for v in (*offline, *official)},
            params=PARAMS, max_chars=400,
            capabilities=Capabilities(thread_safe=False, seeded=False, blends=True),
            priority=30,  # below Piper and hibari: Kokoro speaks when asked for
            description="Kokoro-82M (ONNX): every Kokoro voice and blends of them; English and Japanese",
        )

    # -- models = voices ----------------------------------------------------------------------
    def _parts(self, model: str) -> dict[str, float]:
        """The voices `model` mixes and their weights (one voice: weight 1), as the kernel parses them."""
        parts = polyvox.parse_blend(model)
        for voice in parts:
            if voice not in catalogue.OFFICIAL_VOICES and voice not in catalogue.offline_voices():
                where = "" if voice == model else f" (in {model!r})"
                raise ModelError(f"kokoro has no voice {voice!r}{where}: `polyvox voices` lists the voices here; "
                                 f"every Kokoro v1.0 voice ({', '.join(catalogue.OFFICIAL_VOICES[:4])}, …) can be "
                                 "fetched with `polyvox models pull kokoro:VOICE`")
        return parts

    @staticmethod
    def _official(parts: dict[str, float]) -> list[str]:
        """The parts that need the official set (none: the voice speaks on the offline model)."""
        return [v for v in parts if not catalogue.is_offline(v)]

    def weights(self, model: str) -> polyvox.ModelWeights | None:
        parts = self._parts(model)
        official = self._official(parts)
        return catalogue.official_weights(official) if official else catalogue.offline_weights()

    def files(self, model: str) -> list[str]:
        parts = self._parts(model)
        official = self._official(parts)
        if official:  # the fetched files, by content (none yet: known by id until fetched)
            return [str(p) for p in catalogue.official_files(official)]
        return [str(p) for p in catalogue.offline_files()]

    def language_model(self, language: str) -> str | None:
        base = language.split("-")[0]
        if base == "ja":
            return "jf_alpha"
        if base != "en":
            return None
        wanted = "bf_emma" if language == "en-gb" else "af_heart"
        # an English voice once fetched; else a Japanese voice reading English (with an accent)
        return wanted if catalogue.official_present(wanted) else "jf_alpha"

    def load(self, model: str, device: str, files: polyvox.Files | None = None) -> LoadedVoice:
        if device == "mps" or (device.startswith("cuda") and not _cuda_available()):
            raise ModelError(f"kokoro cannot run on device {device!r} here: onnxruntime has no provider for it "
                             "(install onnxruntime-gpu for CUDA); use 'cpu' or 'auto' (POLYVOX_DEVICE)")
        parts = self._parts(model)
        official = self._official(parts)
        tables: dict[str, np.ndarray] = {}
        if official:
            if files is None or catalogue.MODEL_FILE not in files:
                raise ModelError(f"kokoro voice {model!r} needs the official Kokoro-82M weights: "
                                 f"`polyvox models pull kokoro:{official[0]}`")
            path = files[catalogue.MODEL_FILE]
            offline = catalogue.offline_styles() if len(official) < len(parts) else {}
            for voice in parts:
                tables[voice] = offline[voice] if voice in offline else \
                    catalogue.official_style(files[catalogue.voice_file(voice)])
        else:
            path = catalogue.joined_model()
            offline = catalogue.offline_styles()
            tables = {voice: offline[voice] for voice in parts}
        total = sum(parts.values())
        style = sum(tables[v] * (w / total) for v, w in parts.items())
        return LoadedVoice(model, np.asarray(style, dtype=np.float32), session(path, device))

    def synthesize(self, model: LoadedVoice, request: Request, conditioning: Any) -> Audio:
        return model.speak(request.text, request.language, request.params["speed"])

    def size(self, model: LoadedVoice) -> int | None:
        """The session's model file (shared by every loaded voice of its set, counted for each)."""
        return os.path.getsize(model.session.path) + model.style.nbytes


def _trim(samples: np.ndarray, floor: float = 0.01, keep: int = SAMPLE_RATE * 3 // 100) -> tuple[np.ndarray, int]:
    """`samples` without the silence around the speech, but for `keep` samples (30 ms) each side,
    and how many samples were cut from the start."""
    loud = np.flatnonzero(np.abs(samples) > floor)
    if not len(loud):
        return samples, 0
    start = max(0, int(loud[0]) - keep)
    return samples[start: loud[-1] + keep], start


def _cuda_available() -> bool:
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()
