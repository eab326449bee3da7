"""Template: a complete, minimal polyvox engine plugin to build a real one on.

Its "model" is a tiny formant synthesizer in numpy: every letter becomes a short sound (vowels
voiced with two formants, other letters seeded noise bursts, spaces and punctuation gaps), so
it makes real, deterministic audio that follows the text, the voice and the parameters, with no
heavy dependency. The comments marked "A real engine" say what to put in its place.

The entry point in pyproject.toml points at `plugin` below; the kernel calls its hooks.
"""

from __future__ import annotations

import json
import zlib
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import numpy as np

import polyvox
from polyvox import Audio, Capabilities, EngineSpec, ParamSpec, Request, Voice
from polyvox.errors import ModelError, VoiceError

#: The hook API versions this plugin was written for; the kernel refuses to load it outside
#: them (see docs/publishing.md). Raise the lower bound when you use a newer hook.
polyvox_hook_api = ">=1.0,<2"

#: The one rate this engine returns. Resample inside synthesize() if your model's rate varies.
SAMPLE_RATE = 16000
DEFAULT_MODEL = "template-base"
#: Model id -> checkpoint. A real engine: names of checkpoints on disk or on a model hub.
MODELS = {DEFAULT_MODEL: "base.json"}
#: Language -> model. Declare only languages the model really speaks; a "language pack"
#: plugin can map more languages to other checkpoints (see docs/writing-plugins.md).
LANGUAGES = {"en": DEFAULT_MODEL}

#: Parameters: name, default, type, range or choices, aliases, help. The kernel validates every
#: value against these before your code sees it, and puts every value in the cache key.
PARAMS = (
    ParamSpec("speed", 1.0, min=0.5, max=2.0, aliases=("rate",), help="speaking rate: above 1 is faster"),
    ParamSpec("pitch", 0.0, min=-12.0, max=12.0, help="pitch shift in semitones"),
    ParamSpec("breathiness", 0.1, min=0.0, max=1.0, help="noise mixed into voiced sounds (follows the seed)"),
)


@attrs.frozen
class Model:
    """A loaded model. A real engine: the network object returned by your library."""

    f0: float
    letter_seconds: float
    vowels: dict[str, tuple[float, float]]


@attrs.frozen
class Conditioning:
    """Per-voice conditioning. A real engine: a speaker embedding or reference features."""

    f0: float


class Template(polyvox.Engine):
    """The engine: one class, each method one hook (see polyvox.Engine)."""

    name = "template"

    def spec(self) -> EngineSpec:
        # Called once at start-up: must be cheap. Never import torch or load weights here.
        return EngineSpec(
            name=self.name, sample_rate=SAMPLE_RATE, languages=tuple(LANGUAGES), default_model=DEFAULT_MODEL,
            models=tuple(MODELS), params=PARAMS, max_chars=300,
            # Declare only what holds: the contract kit (polyvox.testing) checks each of these.
            capabilities=Capabilities(clones=True, thread_safe=True, batch=True, seeded=True),
            priority=-100,  # a demonstration engine: never chosen when a real one speaks the language
            description="Template: a numpy formant synthesizer to start an engine plugin from",
        )

    def language_model(self, language: str) -> str | None:
        return LANGUAGES.get(language)

    def files(self, model: str) -> list[str]:
        # The files whose content makes up the model: the cache key hashes them, so a changed
        # checkpoint never serves stale audio. Return [] for a model not downloaded yet.
        return [str(_checkpoint(model))]

    def load(self, model: str, device: str) -> Model:
        # Called once per (model, device) per process; the kernel shares the result. A real
        # engine imports its heavy library here, not at module level:
        #     import torch; from mytts import MyTTS
        #     net = MyTTS.from_pretrained(path).to("cuda" if device == "auto" and cuda else device).eval()
        # and raises ModelError naming the missing files when the weights are not there.
        path = _checkpoint(model)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Model(f0=float(data["f0"]), letter_seconds=float(data["letter_seconds"]),
                         vowels={k: (float(a), float(b)) for k, (a, b) in data["vowels"].items()})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"model {model!r}: {path} is not a valid checkpoint ({exc})") from None

    def prepare(self, model: Model, voice: Voice, params: dict[str, Any]) -> Conditioning:
        # Called once per (model, voice content, parameters marked affects_voice); the result is
        # handed to every synthesize() for that voice. Return a new object: never store it on
        # the shared model. A real engine: encode the reference audio into a speaker embedding.
        if voice.audio is None:
            return Conditioning(f0=model.f0)
        reference = Audio.read(voice.audio).resample(SAMPLE_RATE)
        return Conditioning(f0=_pitch_of(reference, str(voice.audio)))

    def synthesize(self, model: Model, request: Request, conditioning: Conditioning) -> Audio:
        # request.params holds every declared parameter (defaults applied, validated);
        # request.seed is the seed this segment's audio must depend on. A real engine:
        #     with torch.inference_mode(): wav = net.generate(tokens, speaker=conditioning, seed=...)
        # seeding a generator of its own (torch.Generator), never the global random state.
        p = request.params
        f0 = conditioning.f0 * 2.0 ** (p["pitch"] / 12.0)
        rng = np.random.default_rng([request.seed, zlib.crc32(request.text.encode())])
        samples, words = _speak(model, request.text, f0, p["speed"], p["breathiness"], rng)
        # An engine that knows when each word is spoken hands the times over with the audio
        # (polyvox.WordTime, in this clip's seconds, one per word of request.text); the kernel
        # maps them onto the script's words through pauses, joins and time-stretch. A real
        # engine: its duration predictor's frames per phoneme or token, summed per word.
        return Audio(samples, SAMPLE_RATE, words=words)

    def synthesize_many(self, model: Model, requests: list[Request], conditioning: Conditioning) -> list[Audio]:
        # The batch path, used because the spec declares batch=True. A real model tokenizes every
        # text, pads to the longest, runs the network once on the [batch, tokens] tensor and cuts
        # each output back to its own length. Each item must equal what synthesize() returns for
        # the same request: give each item its own seeded generator, never one for the batch.
        return [self.synthesize(model, r, conditioning) for r in requests]


def _checkpoint(model: str) -> Path:
    """A built-in model id, or the path of a checkpoint file (what a language pack ships)."""
    if model in MODELS:
        return Path(str(resources.files(__name__).joinpath(MODELS[model])))
    path = Path(model).expanduser()
    if path.suffix == ".json" and path.is_file():
        return path
    raise ModelError(f"model {model!r} not found: use one of {', '.join(MODELS)} or the path of a .json checkpoint")


def _pitch_of(audio: Audio, where: str) -> float:
    """The fundamental frequency of `audio` (autocorrelation over its first two seconds)."""
    x = audio.samples[: 2 * audio.sample_rate].astype(np.float64)
    x -= x.mean()
    if len(x) < audio.sample_rate // 10 or np.sqrt(np.mean(x * x)) < 1e-4:
        raise VoiceError(f"reference audio {where!r} is silent or shorter than 0.1 s")
    spectrum = np.fft.rfft(x, 2 * len(x))
    corr = np.fft.irfft(spectrum * np.conj(spectrum))[: len(x)]
    lo, hi = audio.sample_rate // 400, audio.sample_rate // 60  # voices sit between 60 and 400 Hz
    return audio.sample_rate / (lo + int(np.argmax(corr[lo:hi])))


def _speak(model: Model, text: str, f0: float, speed: float, breathiness: float,
           rng: np.random.Generator) -> tuple[np.ndarray, list[polyvox.WordTime]]:
    """The samples, and each word's true span in them (its first sound's start to its last's end)."""
    n = max(16, round(model.letter_seconds / speed * SAMPLE_RATE))
    t = np.arange(n) / SAMPLE_RATE
    envelope = np.hanning(n)
    harmonics = f0 * np.arange(1, max(2, int(4000 / f0)))
    pieces: list[np.ndarray] = []
    spans: list[tuple[int, int]] = []  # (first, last) sample of each letter
    at = 0
    for ch in text.lower():
        spans.append((at, at + (n if ch in model.vowels or not (ch.isalnum() or ch.isspace()) else n // 2)))
        at = spans[-1][1]
        if ch in model.vowels:
            f1, f2 = model.vowels[ch]
            # A glottal source (falling 6 dB an octave) shaped by two formant resonances.
            weights = (0.3 + _resonance(harmonics, f1) + 0.5 * _resonance(harmonics, f2)) * f0 / harmonics
            voiced = np.sin(2 * np.pi * np.outer(t, harmonics)) @ weights
            voiced /= np.max(np.abs(voiced)) or 1.0
            pieces.append((voiced + breathiness * 0.3 * rng.standard_normal(n)) * envelope)
        elif ch.isalnum():
            carrier = np.sin(2 * np.pi * (1200.0 + 150.0 * (ord(ch) % 24)) * t[: n // 2])
            pieces.append(0.5 * rng.standard_normal(n // 2) * carrier * np.hanning(n // 2))
        else:
            pieces.append(np.zeros(n // 2 if ch.isspace() else n))
    samples = np.concatenate(pieces) if pieces else np.zeros(n)
    words, pos = [], 0
    for word in text.lower().split(" "):
        sounding = [pos + i for i, ch in enumerate(word) if ch.isalnum() or ch in model.vowels]
        if word:
            letters = sounding or [pos, pos + len(word) - 1]  # punctuation is silence: not the word's span
            first, last = spans[letters[0]][0], spans[letters[-1]][1]
            words.append(polyvox.WordTime(word, first / SAMPLE_RATE, last / SAMPLE_RATE, "engine"))
        pos += len(word) + 1
    return (0.8 * samples / (np.max(np.abs(samples)) or 1.0)).astype(np.float32), words


def _resonance(freqs: np.ndarray, formant: float, bandwidth: float = 120.0) -> np.ndarray:
    return 1.0 / (1.0 + ((freqs - formant) / bandwidth) ** 2)


plugin = Template()
