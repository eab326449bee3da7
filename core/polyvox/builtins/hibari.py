"""hibari as a polyvox engine: a 7.9 MB int8 ONNX model distilled from Kokoro-82M's ``af_heart``
voice, American English, 24 kHz, about 80× real time on one core. Built in beside Piper, so
``pip install polyvox`` has a second, clearly different real voice (a woman's; Piper's bundled
``joe`` is a man's) with no download at run time (see docs/hibari.md).

hibari (and with it onnxruntime) is imported only when the voice is loaded. Its own G2P reads
English with misaki's lexicons (no spaCy, no espeak). The voice is ``heart``, the one the wheel
ships; hibari's other voices are downloads that hibari would fetch itself at load time, so they
are not offered here (the kernel never lets an engine reach the network behind its back).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

import polyvox
from polyvox import Audio, Capabilities, EngineSpec, ParamSpec, Request
from polyvox.errors import ModelError

#: hibari's output rate (its model's STFT is laid out for it).
SAMPLE_RATE = 24000
VOICE = "heart"
LICENCE = "Apache-2.0 (hibari-tts)"

PARAMS = (
    ParamSpec("speed", 1.0, min=0.5, max=2.0, help="speaking rate: 2 is twice as fast, 0.5 half as fast"),
)


def model_path() -> Path:
    """The model file inside the installed wheel (hibari's registry names it)."""
    from hibari.voices import voice_path

    return Path(voice_path(VOICE, download_missing=False))


class Hibari(polyvox.Engine):
    name = "hibari"

    def spec(self) -> EngineSpec:
        return EngineSpec(
            name=self.name, sample_rate=SAMPLE_RATE, languages=("en-us", "en"), default_model=VOICE,
            models=(VOICE,), voices=(VOICE,), voice_languages={VOICE: "en-us"}, params=PARAMS,
            # hibari splits sentences itself and long ones at clause punctuation (400 phonemes).
            # Not `seeded`: the seed only fixes a faint noise component (under 1% of the level), so
            # two seeds do not give two takes; the same request always gives the same samples.
            max_chars=400, capabilities=Capabilities(thread_safe=False, seeded=False),
            # Below Piper: English stays Piper's unless a script asks for heart.
            priority=40,
            description="hibari (Kokoro-82M af_heart distilled, int8 ONNX): American English woman, CPU",
        )

    def files(self, model: str) -> list[str]:
        self._check(model)
        return [str(model_path())]

    def weights(self, model: str) -> polyvox.ModelWeights | None:
        """Bundled in the hibari-tts wheel: listed by `polyvox models`, never fetched."""
        if model != VOICE:
            return None
        return polyvox.ModelWeights(polyvox.LocalFiles([model_path()]), license=LICENCE)

    def language_model(self, language: str) -> str | None:
        return VOICE if language.split("-")[0] == "en" else None

    def load(self, model: str, device: str, files: polyvox.Files | None = None) -> Any:
        from hibari import Hibari as Speaker

        self._check(model)
        if device not in ("auto", "cpu"):
            raise ModelError(f"hibari runs on the CPU only (onnxruntime's CPU provider): device {device!r} is not "
                             "possible; use 'cpu' or 'auto' (POLYVOX_DEVICE)")
        path = files.get(model_path().name) if files is not None else None
        return Loaded(Speaker(voice=VOICE, model=str(path or model_path()), threads=polyvox.cores.usable()))

    def synthesize(self, model: Loaded, request: Request, conditioning: Any) -> Audio:
        return model.speak(request.text, request.params["speed"], request.seed)

    def size(self, model: Loaded) -> int | None:
        return os.path.getsize(model.speaker.model_path)

    def _check(self, model: str) -> None:
        if model != VOICE:
            raise ModelError(f"hibari has no voice {model!r}: its voice is {VOICE!r} (the one its package ships)")


class Loaded:
    """The loaded model and its G2P; one call at a time (the G2P keeps state while it reads)."""

    def __init__(self, speaker: Any):
        self.speaker = speaker
        self._lock = threading.Lock()

    def speak(self, text: str, speed: float, seed: int) -> Audio:
        with self._lock:
            samples = np.asarray(self.speaker(text, speed=speed, seed=seed), dtype=np.float32)
        # hibari speaks about 10 dB below Piper (RMS 0.04 against 0.13 on the same line): peak-
        # normalized as Piper's audio is, a cast of both voices is heard at one level
        # in place (hibari's array is a new one each call): no two copies of a sentence's samples
        peak = max(float(samples.max()), -float(samples.min())) if len(samples) else 0.0
        if peak > 0:
            samples = np.divide(samples, peak, out=samples if samples.flags.writeable else None)
        return Audio(samples, SAMPLE_RATE)


plugin = Hibari()
