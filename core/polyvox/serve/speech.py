"""From an OpenAI speech request to a running `RenderStream`: the model and voice names
resolved to engines and `Voice` records the server vouches for, speed mapped to the engine's
rate parameter (or time-stretched), and nothing a client sends ever read as a file path.

Everything here is synchronous and runs in a worker thread: the kernel is synchronous, and one
kernel per server process serves every request (one cache, one model pool, one scheduler).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

import attrs

import polyvox
from polyvox import Audio, CancelToken, Kernel, RenderStream, Segment, Voice, says_nothing, sentences, speakable
from polyvox.errors import PolyvoxError
from polyvox.events import SegmentFinished, WordsTimed
from polyvox.events import Warning as RenderWarning
from polyvox.serve.config import OPENAI_MODELS, OPENAI_VOICES, ServeConfig
from polyvox.serve.errors import ApiError, bad_request, from_polyvox, not_found, too_large
from polyvox.serve.schemas import SpeechRequest
from polyvox.serve.voices import VoiceStore

#: A pause in plain text as ElevenLabs' clients write it, without SSML's <speak>.
_BREAK = re.compile(r"(<break\s+time\s*=\s*[\"'][^\"'<>]{1,20}[\"']\s*/?>)", re.IGNORECASE)

#: Render warnings that mean what is spoken is not what the request asked for (its voice; Chinese
#: characters read as Japanese).
_VOICE_NOT_USED = frozenset({"voice-not-cloned", "auto-voice", "script-language"})


@attrs.frozen
class Speech:
    """A planned speech response: its audio stream, how to post-process it, and headers."""

    stream: RenderStream
    cancel: CancelToken
    stretch: float  # time-stretch factor applied to each chunk (1.0: none)
    headers: Mapping[str, str]
    #: Each segment's words as it is placed (`WordsTimed`), for the SSE stream to send on.
    words: list[Any] = attrs.field(factory=list)
    #: Whether each segment finished so far came from the cache.
    cached: list[bool] = attrs.field(factory=list)

    def cache_state(self) -> str:
        """``hit`` when every segment made so far came from the cache (the first, when the
        headers go out), else ``miss``: the X-Polyvox-Cache header."""
        return "hit" if self.cached and all(self.cached) else "miss"

    def next_chunk(self) -> Audio | None:
        chunk = next(self.stream, None)
        if chunk is None or self.stretch == 1.0:
            return chunk
        from pedalboard import time_stretch

        out = time_stretch(chunk.samples, chunk.sample_rate, stretch_factor=self.stretch)
        return Audio(out[0] if out.ndim == 2 else out, chunk.sample_rate)


class SpeechService:
    def __init__(self, kernel: Kernel, config: ServeConfig, store: VoiceStore):
        self.kernel = kernel
        self.config = config
        self.store = store

    # -- names ---------------------------------------------------------------------------------
    def engine_names(self) -> dict[str, polyvox.EngineSpec]:
        return {spec.name: spec for spec in self.kernel.engines()}

    def resolve_model(self, name: str, engine: str | None) -> tuple[str | None, str | None]:
        """(engine, model) for an OpenAI `model` and the `engine` extension; 404 if unknown."""
        specs = self.engine_names()
        target = self.config.model_target(name)
        if target is None:
            target = name
        chosen_engine, _, chosen_model = target.partition(":")
        if engine:
            if engine not in specs:
                raise not_found(f"unknown engine {engine!r}; installed: {', '.join(specs)}", "engine",
                                "model_not_found")
            if chosen_engine and chosen_engine != engine:
                chosen_model = ""
            chosen_engine = engine
        if not chosen_engine:
            return None, None
        if chosen_engine not in specs:
            raise not_found(f"unknown model {name!r}: use an engine ({', '.join(specs)}), ENGINE:MODEL, or one of "
                            f"the aliases {', '.join(self.config_aliases())}", "model", "model_not_found")
        spec = specs[chosen_engine]
        if chosen_model and chosen_model not in spec.models and chosen_model not in spec.voices:
            raise not_found(f"engine {chosen_engine!r} has no model {chosen_model!r}; it has: "
                            f"{', '.join(spec.models) or 'none listed'}", "model", "model_not_found")
        return chosen_engine, chosen_model or None

    def config_aliases(self) -> list[str]:
        return sorted(set(OPENAI_MODELS) | set(self.config.model_aliases))

    def server_voices(self) -> dict[str, Voice]:
        """The voices folder's voices and the uploads, by name (and uploads also by id)."""
        voices: dict[str, Voice] = {}
        if self.store is not None:
            for name, voice in self.kernel.voice_library(self.store.folder).items():
                voices[name.lower()] = voice
            for voice_id, voice in self.store.all():
                voices[voice_id] = voice
                voices[voice.name.lower()] = voice
        return voices

    def reserved_voice_names(self) -> dict[str, str]:
        """Names an upload may not take, lower-cased, each with what it names: every client
        asks for these and expects that voice, so an upload must not shadow one."""
        reserved = {name: "one of OpenAI's voice names" for name in OPENAI_VOICES}
        reserved.update({name.lower(): "a name given by --voice-map" for name in self.config.voice_map})
        uploaded = set(self.store.names()) if self.store is not None else set()
        if self.store is not None:
            reserved.update({name.lower(): "a voice in the server's voices folder"
                             for name in self.kernel.voice_library(self.store.folder) if name.lower() not in uploaded})
        for spec in self.kernel.engines():
            reserved.update({voice.lower(): f"a voice of the engine {spec.name!r}" for voice in spec.voices})
        return reserved

    def resolve_voice(self, name: str, engine: str | None, depth: int = 0) -> Voice | None:
        """A server voice, an engine's voice, or an OpenAI name (mapped, else the default voice)."""
        key = name.strip().lower()
        server = self.server_voices()
        if key in server:
            return server[key]
        specs = self.engine_names()
        owners = [engine] if engine else list(specs)
        if "+" in name or ":" in name:  # a blend of an engine's voices (jf_alpha:0.7+jm_kumo:0.3)
            try:
                found = polyvox.resolve_voice(name.strip(), [specs[o] for o in owners])
            except PolyvoxError as exc:
                raise bad_request(str(exc), "voice", "invalid_voice") from None
            if found is not None:
                return Voice(name=name.strip(), model=found[1], engine=found[0])
        for owner in owners:
            for voice in specs[owner].voices:
                if voice.lower() == key:
                    return Voice(name=voice, model=voice, engine=owner)
        for owner in owners:  # a voice its engine declares whose weights are not here (Kokoro's af_heart):
            for model in specs[owner].models:  # planned, it is the 503 that says how to pull them
                if model.lower() == key and key not in OPENAI_VOICES:
                    return Voice(name=model, model=model, engine=owner)
        if key in self.config.voice_map and depth < 4:
            target = self.config.voice_map[key]
            try:
                return self.resolve_voice(target, engine, depth + 1)
            except ApiError as exc:
                if exc.status != 404:
                    raise
                if key in OPENAI_VOICES:  # mapped for another engine: this one speaks with its default
                    return None
                raise not_found(f"voice {name[:100]!r} maps to {target!r} (--voice-map), which engine {engine!r} "
                                f"does not have: {exc.message}", "voice", "voice_not_found") from None
        if key in OPENAI_VOICES:
            return None  # the engine's default voice
        others = [e for e in specs if e != engine and any(v.lower() == key for v in specs[e].voices)]
        if engine and others:
            raise not_found(f"voice {name[:100]!r} is a voice of engine {others[0]!r}, and this request speaks with "
                            f"{engine!r}: ask for model {others[0]!r}, or a voice GET /v1/audio/voices lists for "
                            f"{engine!r}", "voice", "voice_not_found")
        raise not_found(f"unknown voice {name[:100]!r}: GET /v1/audio/voices lists the voices", "voice",
                        "voice_not_found")

    # -- the request ---------------------------------------------------------------------------
    def start(self, req: SpeechRequest) -> Speech:
        """Plan the request (every input error raises here, before any audio) and start it."""
        _refuse_lone_surrogates(req)
        req = req.model_copy(update={"input": speakable(req.input)})
        if not req.input.strip():
            raise bad_request("input is empty: give the text to speak", "input", "empty_input")
        if says_nothing(req.input):  # "👍" alone, as "?!" alone: a short silence, not an error for a chat UI
            req = req.model_copy(update={"input": "…"})
        if len(req.input) > self.config.max_input_chars:
            raise too_large(f"input is {len(req.input)} characters long: the limit is "
                            f"{self.config.max_input_chars}", "input")
        engine, model = self.resolve_model(req.model, req.engine)
        voice = self.resolve_voice(req.voice_name, engine)
        if (voice is not None and model and engine and model in self.engine_names()[engine].voices
                and req.voice_name.strip().lower() not in OPENAI_VOICES):
            model = None  # model kokoro:jm_kumo with voice jf_alpha: the voice asked for speaks (alloy: the model's)
        params = dict(req.params)
        if "seed" in params:
            raise bad_request("give the seed as the top-level field 'seed', not in params", "params")
        if not req.markup and not polyvox.is_ssml(req.input) and _BREAK.search(req.input):
            # ElevenLabs' <break time="1s" /> in plain text: the text as an SSML document around them
            req = req.model_copy(update={"input": "<speak>" + "".join(
                part if n % 2 else escape(part) for n, part in enumerate(_BREAK.split(req.input))) + "</speak>"})
        if req.markup or polyvox.is_ssml(req.input):  # a <speak> document is always read as SSML
            source: Any = req.input
            voices: Mapping[str, Voice] | None = self.server_voices()
        else:
            parts = sentences(req.input, req.language) or [req.input]
            source = [Segment(text=t, join="none" if n == 0 else "sentence") for n, t in enumerate(parts)]
            voices = None
        # markup from a client is read strictly: a tag the server cannot read is a 400 naming it,
        # never a guess (and no name is ever read as a path)
        options = dict(engine=engine, model=model, voice=voice, voices=voices, language=req.language,
                       seed=req.seed, strict=True)
        try:
            stretch = 1.0
            if req.speed != 1.0:  # which engines speak decides how: plan once to know them
                engines = {j.engine for j in self.kernel.plan(source, params=params, **options) if j.engine}
                specs = self.engine_names()
                mapped = speed_params(req.speed, [specs[e] for e in engines]) if len(engines) == 1 else None
                if mapped and not set(mapped) & set(params):
                    params.update(mapped)
                else:
                    stretch = req.speed
            cancel = CancelToken()
            words: list[Any] = []  # only an SSE stream that asked for timestamps sends them on the way
            listen = _words_into(words) if req.timestamps and req.stream_format == "sse" else None
            unusable: list[str] = []  # the voice asked for, which the engine cannot speak with

            cached: list[bool] = []

            def note(event: Any) -> None:
                if isinstance(event, SegmentFinished):
                    cached.append(event.cached)
                if isinstance(event, RenderWarning) and event.kind in _VOICE_NOT_USED and event.message not in unusable:
                    unusable.append(event.message)
                if listen is not None:
                    listen(event)

            # a segment that still fails is sent all the same, its verdict in the done event: the
            # server's strict (for a client's markup) is not verification's
            verify = attrs.evolve(self.config.verify, strict=False) if self.config.verify is not None else None
            # heard word times (--word-times heard) cost a listener: only for an answer that has words
            word_times = self.config.word_times if _wants_words(req) else None
            stream = self.kernel.stream(source, params=params, cancel=cancel, batch_size=self.config.batch_size,
                                        on_event=note, verify=verify, word_times=word_times, **options)
            engines = {j.engine for j in stream.jobs if j.engine}
            spoken = {j.request.language for j in stream.jobs if j.request is not None}
        except PolyvoxError as exc:
            raise from_polyvox(exc) from None
        # the language spoken says when text in another script went to an engine that speaks it
        headers = {"X-Sample-Rate": str(stream.sample_rate), "X-Polyvox-Engine": ",".join(sorted(engines)),
                   "X-Polyvox-Language": ",".join(sorted(spoken))}
        if unusable:  # spoken anyway, in the engine's voice: say so rather than pass it off as asked
            headers["X-Polyvox-Warning"] = "; ".join(unusable).encode("ascii", "replace").decode()
        if self.config.verify is not None:  # the verdicts come in the SSE done event
            headers["X-Polyvox-Verify"] = self.config.verify.listener or "default"
        if req.instructions:
            headers["X-Polyvox-Instructions"] = f"ignored: engine {', '.join(sorted(engines))} cannot follow " \
                                                "spoken instructions"
        return Speech(stream, cancel, stretch, headers, words, cached)


def _wants_words(req: SpeechRequest) -> bool:
    """Whether the answer carries word times: ``timestamps`` asked for, or Kokoro-FastAPI's
    captioned route (``return_timestamps``, true by default there)."""
    return bool(req.timestamps or getattr(req, "return_timestamps", False))


def _words_into(words: list[Any]) -> Any:
    def listen(event: Any) -> None:
        if isinstance(event, WordsTimed):
            words.append(event)  # list.append is atomic: the render's thread appends, the loop pops

    return listen


def _refuse_lone_surrogates(req: SpeechRequest) -> None:
    """JSON may escape half of a UTF-16 pair (a string cut inside an emoji); that is not text,
    and it can be neither hashed for the cache nor given to an engine: a 400 naming the field.
    (A whole pair arrives as one character, so every surrogate left in a string is alone.)"""
    for field, value in req.model_dump().items():
        text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
        at = next((n for n, c in enumerate(text) if "\ud800" <= c <= "\udfff"), None)
        if at is not None:
            where = f" at character {at}" if isinstance(value, str) else ""
            raise bad_request(f"{field} contains a lone UTF-16 surrogate ({text[at]!r}{where}): send whole "
                              "characters (was a string cut inside an emoji?)", field)


def speed_params(speed: float, specs: list[polyvox.EngineSpec]) -> dict[str, float] | None:
    """The parameters that make every engine in `specs` speak at `speed`, or None if one cannot.

    Only a parameter named `speed` counts: a client asking for 2.0 expects half the time.
    Piper's `length_scale` is not one: measured, 1/2 of it gives 0.62 of the time, 1/4 gives
    0.49 (each phoneme keeps at least one frame), so Piper's audio is time-stretched instead."""
    out: dict[str, float] = {}
    for spec in specs:
        rate = spec.param("speed")
        if rate is None or not _within(rate, speed):
            return None
        out[rate.name] = speed
    return out


def _within(param: Any, value: float) -> bool:
    return (param.min is None or value >= param.min) and (param.max is None or value <= param.max)
