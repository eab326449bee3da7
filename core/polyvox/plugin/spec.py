"""What an engine declares about itself: parameters, languages, capabilities.

These are plain attrs records, validated on construction, so that a declaration that
would fail at synthesis time fails when the plugin registers instead.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import attrs

from polyvox.errors import ParameterError, PluginError
from polyvox.text.joins import JoinConfig

_TYPES = {"float": float, "int": int, "bool": bool, "str": str}

#: Short names people type (TTS Audio Suite's), for the parameter they mean on whichever
#: engine has it: ``temp`` is ``temperature`` on every engine that has a temperature. A name
#: that means different things per engine (``cfg``) is not here: each engine declares it
#: as an alias of its own parameter (ChatterBox ``cfg_weight``, F5-TTS ``cfg_strength``).
COMMON_ALIASES = {
    "temp": "temperature",
    "exag": "exaggeration",
    "top-p": "top_p",
    "topp": "top_p",
    "top-k": "top_k",
    "topk": "top_k",
    "steps": "inference_steps",
    "num_steps": "inference_steps",
    "rep_penalty": "repetition_penalty",
    "audio_temp": "audio_temperature",
    "negative": "negative_prompt",
    "neg": "negative_prompt",
    # The rest of TTS Audio Suite's short names, for engines that have what they stand for.
    "cfgweight": "cfg_weight",
    "num_step": "inference_steps",
    "guidance": "guidance_scale",
    "speaker_guidance": "speaker_scale",
    "cfg_text": "cfg_scale_text",
    "cfg_speaker": "cfg_scale_speaker",
    "truncation": "truncation_factor",
    "seq_len": "sequence_length",
    "audio_rep_penalty": "audio_repetition_penalty",
    "tokens": "duration_tokens",
    "max_audio_patches": "max_generate_length",
    "n_vq": "n_vq_for_inference",
    "seconds": "duration_seconds",
}


def _check_name(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if not value or not value.replace("_", "").replace("-", "").isalnum() or value != value.lower():
        raise PluginError(f"{attribute.name} {value!r} must be lower-case letters, digits, '_' or '-'")


@attrs.frozen
class ParamSpec:
    """One synthesis parameter with its default and the values it accepts."""

    name: str = attrs.field(validator=_check_name)
    default: Any
    type: str = attrs.field(default="float", validator=attrs.validators.in_(tuple(_TYPES)))
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = attrs.field(default=None, converter=attrs.converters.optional(tuple))
    aliases: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    help: str = ""
    #: True when the value changes the voice conditioning (ChatterBox's exaggeration).
    affects_voice: bool = False
    #: False for a parameter whose default is None ("not set"), such as F5's fix_duration.
    required: bool = True

    def __attrs_post_init__(self) -> None:
        if self.default is not None or self.required:
            object.__setattr__(self, "default", self.coerce(self.default))

    def describe(self) -> str:
        """The allowed values, in words: '0.0..2.0', 'one of a, b', 'an integer'."""
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        if self.min is not None or self.max is not None:
            lo = "" if self.min is None else self.min
            hi = "" if self.max is None else self.max
            return f"{self.type} in {lo}..{hi}"
        return {"float": "a number", "int": "an integer", "bool": "true or false", "str": "text"}[self.type]

    def coerce(self, value: Any) -> Any:
        """The value as this parameter's type, checked against its range; else `ParameterError`."""
        if value is None and not self.required:
            return None
        try:
            if self.type != "bool" and isinstance(value, bool):  # volume=True: no number (float(True) is 1.0)
                raise ValueError(value)
            if self.type == "bool":
                out: Any = _as_bool(value)
            elif self.type == "int":
                as_float = float(value)
                if not as_float.is_integer():
                    raise ValueError
                out = int(as_float)
            elif self.type == "float":
                out = float(value)
                if not math.isfinite(out):
                    raise ValueError
            else:
                out = str(value)
        except (TypeError, ValueError):
            raise ParameterError(f"parameter {self.name}={value!r} is not valid: expected {self.describe()}") from None
        if self.choices and out not in self.choices:
            raise ParameterError(f"parameter {self.name}={value!r} is not allowed: expected {self.describe()}")
        if (self.min is not None and out < self.min) or (self.max is not None and out > self.max):
            raise ParameterError(f"parameter {self.name}={value!r} is out of range: expected {self.describe()}")
        return out


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


def _non_negative(instance: Any, attribute: attrs.Attribute, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise PluginError(f"capability {attribute.name}={value!r} is not valid: expected a number of 0 or more")


#: Device kinds an engine may declare a batch size for; ``cuda:1`` counts as ``cuda``. ``auto``
#: is the kernel's default device, which only the engine resolves (the kernel never imports
#: torch): its entry is what the engine prefers when it does not know where it will run.
BATCH_DEVICES = ("auto", "cpu", "cuda", "mps")


def _batch_sizes(value: Any) -> tuple[tuple[str, int], ...]:
    """A mapping (or pairs, as it crosses the worker protocol) as sorted (device, size) pairs."""
    pairs = value.items() if isinstance(value, Mapping) else value
    try:
        return tuple(sorted((str(device), size) for device, size in pairs))
    except (TypeError, ValueError):
        raise PluginError(f"capability batch_sizes={value!r} is not valid: expected a mapping of device to size, "
                          f"e.g. {{'cpu': 2, 'cuda': 8}}") from None


def _check_batch_sizes(instance: Any, attribute: attrs.Attribute, value: tuple[tuple[str, int], ...]) -> None:
    for device, size in value:
        if device not in BATCH_DEVICES:
            raise PluginError(f"capability batch_sizes names device {device!r}: expected one of "
                              + ", ".join(BATCH_DEVICES))
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise PluginError(f"capability batch_sizes[{device!r}]={size!r} is not valid: expected an integer of "
                              "1 or more")


@attrs.frozen
class Capabilities:
    """What the kernel may assume about an engine."""

    needs_reference_audio: bool = False
    needs_reference_text: bool = False
    #: Speaks like a voice's reference audio when it has one (implied by needs_reference_audio).
    clones: bool = False
    #: Several threads may call synthesize on one loaded model at once.
    thread_safe: bool = False
    #: Implements `synthesize_batch` for several segments sharing a model and voice.
    batch: bool = False
    #: Output depends only on the seed passed in (same seed, same samples).
    seeded: bool = False
    #: Uses `Request.emotion`, a voice whose audio carries the emotion to speak with
    #: (``[Alice:happy_sarah]``); other engines get a one-time warning when a script asks.
    emotion_reference: bool = False
    #: Uses `Request.emotion_vector`, emotion weights by name (``[sad:0.7|calm:0.2]``).
    emotion_vector: bool = False
    #: Its voices are vectors that mix: a voice may be a weighted blend of them
    #: (``jf_alpha:0.7+jm_kumo:0.3``), which reaches the engine as a model id in its canonical
    #: spelling; `polyvox.parse_blend` reads the weights back (`polyvox.voices.blending`).
    blends: bool = False
    #: Resource hints for one loaded model, used where a cluster places replicas (Ray's
    #: `num_cpus` / `num_gpus`): CPU cores one synthesis call keeps busy, and GPUs (a
    #: fraction shares one) the model needs when it runs on a GPU device.
    cpus: float = attrs.field(default=1.0, validator=_non_negative)
    gpus: float = attrs.field(default=0.0, validator=_non_negative)
    #: Segments per `synthesize_batch` call that pay on each device kind (`BATCH_DEVICES`),
    #: e.g. ``{"cpu": 2, "cuda": 8}``: used when the caller sets no batch size; the caller's
    #: setting always wins. Plain data, stored as sorted (device, size) pairs.
    batch_sizes: tuple[tuple[str, int], ...] = attrs.field(default=(), converter=_batch_sizes,
                                                           validator=_check_batch_sizes)
    #: Languages the engine reads written numbers, dates and abbreviations in by itself
    #: (``("en",)``; ``("*",)``: every language): the kernel does not normalize text for them
    #: unless asked to (``normalize=True``). Empty: the kernel normalizes for the engine.
    normalizes: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    #: How the engine takes phonemes inline, as a template for `str.format` (Piper:
    #: ``"[[ {} ]]"``, espeak phonemes); lexicon entries ``word = /phonemes/`` reach it so.
    #: Empty: the engine takes no phonemes.
    phonemes: str = ""

    @property
    def uses_reference_audio(self) -> bool:
        return self.clones or self.needs_reference_audio

    def batch_size_for(self, device: str) -> int:
        """The declared batch size for a render on `device` (``cuda:1`` as ``cuda``); 1 when the
        engine does not batch or declares nothing for that device."""
        if not self.batch:
            return 1
        return dict(self.batch_sizes).get(device.split(":")[0], 1)


def _voice_languages(value: Any) -> tuple[tuple[str, str], ...]:
    """A mapping (or pairs, as it crosses the worker protocol) as sorted (voice, language) pairs."""
    pairs = value.items() if isinstance(value, Mapping) else value
    try:
        return tuple(sorted((str(voice), str(language).lower()) for voice, language in pairs))
    except (TypeError, ValueError):
        raise PluginError(f"voice_languages={value!r} is not valid: expected a mapping of voice to language tag, "
                          "e.g. {'heart': 'en-us'}") from None


def _check_join(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, JoinConfig):
        raise PluginError(f"engine {instance.name!r} declares join={value!r}: expected a polyvox.JoinConfig or None")


def _names(value: Any) -> tuple[str, ...]:
    """A tuple of names; a lone string is one name, not its letters (languages="en" was ("e", "n"))."""
    return (value,) if isinstance(value, str) else tuple(value)


def _whole(instance: Any, attribute: attrs.Attribute, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        raise PluginError(f"engine {getattr(instance, 'name', '?')!r} declares {attribute.name}={value!r}: "
                          f"expected a whole number from {low} to {high}")


def _text_field(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise PluginError(f"engine {instance.name!r} declares {attribute.name}={value!r}: expected a model's name")


def _of(instance: Any, attribute: attrs.Attribute, value: Any, kind: type) -> None:
    if not isinstance(value, kind):
        raise PluginError(f"engine {instance.name!r} declares {attribute.name}={value!r}: expected a "
                          f"polyvox.{kind.__name__}")


@attrs.frozen
class EngineSpec:
    """An engine's declaration, as `register_engines` hands it to the kernel."""

    name: str = attrs.field(validator=_check_name)
    sample_rate: int = attrs.field(validator=lambda i, a, v: _whole(i, a, v, 1000, 384_000))
    languages: tuple[str, ...] = attrs.field(converter=_names)
    default_model: str = attrs.field(validator=lambda i, a, v: _text_field(i, a, v))
    models: tuple[str, ...] = attrs.field(default=(), converter=_names)
    params: tuple[ParamSpec, ...] = attrs.field(default=(), converter=tuple)
    max_chars: int = attrs.field(default=400, validator=lambda i, a, v: _whole(i, a, v, 1, 100_000))
    capabilities: Capabilities = attrs.field(default=Capabilities(),
                                             validator=lambda i, a, v: _of(i, a, v, Capabilities))
    description: str = ""
    #: Higher wins when no engine is named and several speak the language. Negative: a
    #: demonstration engine, never preferred for cloning a voice given as reference audio.
    priority: int = attrs.field(default=0, validator=lambda i, a, v: _whole(i, a, v, -10_000, 10_000))
    #: Voices the engine speaks with built in (Piper's voice files), by name.
    voices: tuple[str, ...] = attrs.field(default=(), converter=_names)
    #: The language of built-in voices whose id does not start with a language tag
    #: (``{"heart": "en-us"}``), so casting and `polyvox voices` know what each speaks. Plain
    #: data, stored as sorted (voice, language) pairs.
    voice_languages: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_voice_languages)
    #: How this engine's chunks of one long text are best joined, where the caller gives no
    #: join of its own (F5-TTS: upstream's 0.15 s crossfade everywhere). None: the kernel's default.
    join: JoinConfig | None = attrs.field(default=None, validator=_check_join)

    def __attrs_post_init__(self) -> None:
        if not self.languages:
            raise PluginError(f"engine {self.name!r} declares no languages")
        seen: set[str] = set()
        for p in self.params:
            for n in (p.name, *p.aliases):
                if n in seen:
                    raise PluginError(f"engine {self.name!r} declares parameter {n!r} twice")
                seen.add(n)

    def param(self, name: str) -> ParamSpec | None:
        """The parameter called `name` or having it as an alias; failing that, the one a
        common short name (`COMMON_ALIASES`) stands for, if this engine has it."""
        for p in self.params:
            if name == p.name or name in p.aliases:
                return p
        common = COMMON_ALIASES.get(name)
        if common is not None and common != name:
            return self.param(common)
        return None

    def voice_language(self, voice: str) -> str | None:
        """The language tag `voice` speaks, as declared in `voice_languages` (None: not declared)."""
        return dict(self.voice_languages).get(voice)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def resolve_params(self, given: Mapping[str, Any], *, strict: bool = True) -> tuple[dict[str, Any], list[str]]:
        """Defaults overlaid with `given` (aliases accepted), each value validated.

        Returns the full parameter dict and the names that the engine does not have:
        with `strict` those raise `ParameterError`, otherwise the caller warns and drops them.
        """
        out = self.defaults()
        unknown: list[str] = []
        for key, value in given.items():
            p = self.param(key)
            if p is None:
                unknown.append(key)
                continue
            out[p.name] = p.coerce(value)
        if unknown and strict:
            allowed = ", ".join(p.name for p in self.params) or "none"
            raise ParameterError(
                f"engine {self.name!r} has no parameter {unknown[0]!r}; its parameters: {allowed}"
            )
        return out, unknown
