"""Planning a render: each segment resolved to (engine, model, voice, language, params, seed)
and its content key, before anything is loaded or synthesized."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from polyvox.cache.keys import Fingerprints, digest, normalize_text, segment_key
from polyvox.decoding import check_readable
from polyvox.errors import (
    ParameterError,
    PluginError,
    PolyvoxError,
    UnsupportedLanguageError,
    UnsupportedScriptError,
)
from polyvox.plugin.registry import Plugins
from polyvox.plugin.spec import EngineSpec
from polyvox.render.unspoken import no_engine_message
from polyvox.text import languages, scripts
from polyvox.text.segment import Request, Segment
from polyvox.voices.blending import resolve_voice, tag_blend
from polyvox.voices.voice import DEFAULT_VOICE, Voice

#: The seed every segment uses unless the script, the call or the kernel says otherwise,
#: so the same script renders the same audio and hits the cache.
DEFAULT_SEED = 42


@attrs.frozen
class Job:
    """One segment, resolved. Pause segments have no engine, request or key."""

    index: int
    segment: Segment
    device: str
    engine: str | None = None
    model: str | None = None
    request: Request | None = None
    key: str | None = None
    #: Identifies the voice conditioning: voice content plus parameters that affect it.
    voice_key: str | None = None
    #: The content of the model's files as this render planned them: a loaded model made from
    #: other content is loaded again before it synthesizes under this job's key.
    model_fingerprint: str | None = None

    @property
    def model_key(self) -> tuple[str, str, str]:
        assert self.engine and self.model
        return (self.engine, self.model, self.device)


@attrs.define
class Planner:
    plugins: Plugins
    fingerprints: Fingerprints
    #: Reports a warning once per key and render: (kind, message, key).
    warn: Callable[..., None]
    _engine_for_language: dict[str, str] = attrs.field(factory=dict)
    _cloner_for: dict[tuple[str, bool], str | None] = attrs.field(factory=dict)
    _model_fp: dict[tuple[str, str], str] = attrs.field(factory=dict)
    _models: dict[tuple[str, str], str | None] = attrs.field(factory=dict)  # model_for's answers, per render

    # -- engines and languages -------------------------------------------------------------
    def spec(self, engine: str) -> EngineSpec:
        try:
            return self.plugins.specs[engine]
        except KeyError:
            raise self.plugins.unknown_engine(engine) from None

    def all_language_codes(self) -> set[str]:
        return {code for spec in self.plugins.specs.values() for code in spec.languages}

    def language(self, language: str) -> str:
        return languages.require(language, self.all_language_codes())

    def model_for(self, engine: str, language: str) -> str | None:
        if (engine, language) not in self._models:  # asked for every segment: the plugins' hook once a render
            found = (self._map(engine, code) for code in languages.candidates(language))
            self._models[(engine, language)] = next(filter(None, found), None)
        return self._models[(engine, language)]

    def _map(self, engine: str, code: str) -> str | None:
        """`map_language`, where a plugin that raises (a broken language pack) is dropped with a
        warning naming it and the others answer; a raise no single plugin explains is an error."""
        for _ in range(len(self.plugins.pm.get_plugins())):
            try:
                return self.plugins.hook.map_language(engine=engine, language=code)
            except PolyvoxError:
                raise
            except Exception as exc:
                culprit = self.plugins.drop_failing("map_language", exc, engine=engine, language=code)
                if culprit is None:
                    raise PluginError(f"a plugin failed mapping {code!r} for engine {engine!r}: "
                                      f"{type(exc).__name__}: {exc}") from exc
                self._engine_for_language.clear()
                self._cloner_for.clear()
                self.warn("plugin", f"plugin {culprit!r} failed mapping {code!r} ({type(exc).__name__}: {exc}) "
                          "and is left out; `polyvox plugins` lists it")
        return None

    def best_engine(self, language: str) -> str:
        """The installed engine of highest priority that speaks `language`."""
        if language not in self._engine_for_language:
            for spec in self.plugins.ranked():
                if self.model_for(spec.name, language):
                    self._engine_for_language[language] = spec.name
                    break
            else:
                raise UnsupportedLanguageError(no_engine_message(language, self.plugins.specs, self.model_for)
                                               + "".join(f"; {f.error}" for f in self.plugins.failures
                                                         if f.kind == "unknown"))
        return self._engine_for_language[language]

    def cloning_engine(self, language: str, transcript: bool) -> str | None:
        """The installed engine of highest priority that speaks `language` and clones a voice
        from its reference audio (where the voice has no `transcript`, one that does without),
        or None: a voice given as a clip speaks as the clip where an installed engine can. An engine
        of negative priority (a demonstration, such as the template) is never preferred so."""
        key = (language, transcript)
        if key not in self._cloner_for:
            takes = [s for s in self.plugins.ranked() if s.capabilities.uses_reference_audio and s.priority >= 0
                     and (transcript or not s.capabilities.needs_reference_text)]
            self._cloner_for[key] = next((s.name for s in takes if self.model_for(s.name, language)), None)
        return self._cloner_for[key]

    def model_fingerprint(self, engine: str, model: str) -> str:
        if (engine, model) not in self._model_fp:
            try:
                files = self.plugins.hook.model_files(engine=engine, model=model) or []
            except PolyvoxError:
                raise
            except Exception as exc:
                raise PluginError(f"engine {engine!r} failed listing the files of model {model!r}: "
                                  f"{type(exc).__name__}: {exc}") from exc
            self._model_fp[(engine, model)] = self.fingerprints.model(model, list(files))
        return self._model_fp[(engine, model)]

    # -- planning --------------------------------------------------------------------------
    def plan(
        self,
        segments: Iterable[Segment],
        *,
        device: str,
        engine: str | None = None,
        model: str | None = None,
        narrator: Voice = DEFAULT_VOICE,
        voices: Mapping[str, Voice] | None = None,
        language: str | None = None,
        params: Mapping[str, Any] | None = None,
        seed: int = DEFAULT_SEED,
        strict: bool = False,
        first_index: int = 0,
        where: str | None = None,
        strict_markup: bool = False,
    ) -> list[Job]:
        """Resolve every segment. `params` (from the caller) are checked strictly when
        `strict`; a segment's or voice's own unknown parameters, and values out of range,
        are dropped with a warning unless `strict_markup` (TTS Audio Suite's leniency).
        Jobs are numbered from `first_index`; `where` (e.g. "subtitle 3 at 00:00:04,000")
        prefixes error messages."""
        jobs = []
        seed = check_seed(seed)
        segments = list(segments)
        voice_keys: dict[Any, Any] = {}  # per plan: each voice's keys are made once, not per segment
        for index, seg in enumerate(segments, first_index):
            if seg.is_pause or not normalize_text(seg.text if seg.spoken is None else seg.spoken):
                jobs.append(Job(index, seg, device))
                continue
            try:
                jobs.append(self._resolve(index, seg, device, engine, model, narrator, voices or {}, language,
                                          params or {}, seed, strict, strict_markup, voice_keys, where))
            except PolyvoxError as exc:
                if where and not getattr(exc, "of_the_call", False):  # --set x=abc: the command line's
                    raise type(exc)(f"{where}: {exc}") from exc
                if getattr(exc, "of_the_call", False) or len(segments) == 1 and not (seg.line and seg.params):
                    raise  # the caller's own (--set), or a one-segment text: there is no place to name
                column = f", column {seg.column}" if seg.column else ""
                line = f" (line {seg.line}{column})" if seg.line else ""
                raise type(exc)(f"segment {index}{line}: {exc}") from exc
        return jobs

    def forget_fingerprints(self) -> None:
        """Per render: weights replaced while a host app runs are noticed by the next render."""
        self._model_fp.clear()
        self._models.clear()

    def engine_for(self, seg: Segment, voice: Voice, engine: str | None, language: str | None) -> tuple[str, str]:
        """The one engine resolution, used by chunking and planning alike: (engine, language).

        Language: the segment's tag, else an alias line's language (it wins over the call's
        default, as in TTS Audio Suite), else the call's, else the voice's, else English (for text
        mostly in another script than Latin, and no voice model chosen: a language written in that
        script that the engine, or an installed one, speaks). Engine: the segment's, else the call's,
        else the voice's, else for a voice that is reference audio the best installed engine that
        clones it (`cloning_engine`), else the best installed for the language.
        """
        own = voice.language if voice.language_wins else None
        named = seg.language or own or language or voice.language
        chosen = seg.engine or engine or voice.engine
        if named is None:  # the voice's own where its script is the text's, else English or the script's
            named = self._voice_language(seg.text, voice, chosen) or self._language_for_script(seg.text, chosen)
        lang = self.language(named)
        if chosen is None and voice.audio is not None and voice.model is None:
            chosen = self.cloning_engine(lang, voice.reference_text is not None)
        try:
            return chosen or self.best_engine(lang), lang
        except UnsupportedLanguageError as exc:
            if seg.language or not own:
                raise
            # The script never named this language: say where it came from.
            raise UnsupportedLanguageError(f"{seg.character}'s language {own!r} comes from the alias map of "
                                           f"the voices folder; {exc}") from None

    def _voice_language(self, text: str, voice: Voice, engine: str | None) -> str | None:
        """For a voice model its engine declares a language for (Kokoro's jf_alpha: Japanese),
        that language where the text is in its script; English for other Latin text (a
        Japanese voice reads English, accented), else None (the text's script decides)."""
        if not voice.model:
            return None
        owner = engine or voice.engine
        declared = self.spec(owner).voice_language(voice.model) if owner in self.plugins.specs else None
        script = scripts.main_script(text)
        if declared and scripts.writes(declared, script):
            return declared
        return "en" if scripts.writes("en", script) else None

    def _language_for_script(self, text: str, engine: str | None) -> str:
        """English for text in Latin script (or with no letters); for text mostly in another
        script, the first language written in it that `engine` (or, with none chosen, the
        installed engines in order of priority) speaks; English if none does (refused later,
        naming the script)."""
        script = scripts.main_script(text)
        if scripts.writes("en", script):
            return "en"
        for name in [engine] if engine else [spec.name for spec in self.plugins.ranked()]:
            code = self._speaks_script(name, script)
            if code is not None:
                if script == "Han" and code != "zh":  # 你好 read in Japanese readings: say so
                    self.warn("script-language", f"text in Chinese characters without kana is read as "
                              f"{languages.name(code)} ({code}) by {name!r}: no installed engine speaks Chinese "
                              "(zh)", key=f"han-as:{code}")
                return code
        return "en"

    def _speaks_script(self, engine: str, script: str | None) -> str | None:
        """A language written in `script` that `engine` speaks (its own or a language pack's)."""
        codes = dict.fromkeys((*self.spec(engine).languages, *languages.known_codes()))
        return next((c for c in codes if script in scripts.written_in(c) and self.model_for(engine, c)), None)

    def _check_script(self, text: str, engine: str, language: str) -> None:
        script = scripts.main_script(text)
        if scripts.writes(language, script):
            for run in ([] if text.isascii() else _FOREIGN_RUN.findall(text)):  # "Welcome to 東京"
                other = scripts.main_script(run)
                if other and not scripts.writes(language, other):
                    self.warn("script-run", f"{run!r} is in {other} script inside a {language} line: engine {engine!r} "
                              "spells it out or skips it; give it a line of its own with its language's tag to have "
                              "it spoken", key=f"script-run:{other}:{language}")
            return
        spec = self.spec(engine)
        others = [(s.name, code) for s in self.plugins.ranked() if (code := self._speaks_script(s.name, script))]
        hint = (f"engine {others[0][0]!r} speaks {languages.name(others[0][1])} ({others[0][1]}): ask for that "
                f"engine, or for language {others[0][1]!r}" if others else
                f"no installed engine speaks a language written in {script} (`polyvox engines` lists what each speaks)")
        raise UnsupportedScriptError(
            f"the text is in {script} script (most of its letters), and {languages.name(language)} ({language}) is "
            f"written in {' or '.join(scripts.written_in(language))}: engine {engine!r} speaks "
            f"{', '.join(spec.languages)}; {hint}")

    def voice_for(self, seg: Segment, narrator: Voice, voices: Mapping[str, Voice]) -> Voice:
        if seg.character is None:
            return narrator
        voice = voices.get(seg.character) or voices.get(seg.character.lower())
        if voice is None and tag_blend(seg.character):  # [jf_alpha:0.7+jm_kumo:0.3]: the tag names its voice
            found = resolve_voice(seg.character, self.plugins.ranked())
            if found is not None:
                return Voice(name=seg.character, model=found[1], engine=found[0])
        if voice is None:
            self.warn("unknown-character", f"unknown character {seg.character!r}: using the narrator's voice",
                           key=f"unknown-character:{seg.character.lower()}")
            return narrator
        return voice

    def _resolve(self, index: int, seg: Segment, device: str, engine: str | None, model: str | None,
                 narrator: Voice, voices: Mapping[str, Voice], language: str | None,
                 params: Mapping[str, Any], seed: int, strict: bool, strict_markup: bool,
                 voice_keys: dict[Any, Any], label: str | None = None) -> Job:
        voice = self.voice_for(seg, narrator, voices)
        name, lang = self.engine_for(seg, voice, engine, language)
        self._check_script(seg.text, name, lang)
        spec = self.spec(name)
        chosen = seg.model or model
        if chosen is None and voice.model and voice.engine in (None, name):
            chosen = voice.model
            if self.model_for(name, lang) is None:  # [de:Alice] with Alice = heart: never English-accented German
                who = seg.character or "the narrator"
                raise UnsupportedLanguageError(f"{who}'s voice {voice.model!r} (engine {name!r}) does not speak "
                                               f"{lang!r}; {name} speaks: {', '.join(spec.languages)} (give {who} "
                                               f"a voice that speaks {lang!r})")
        elif chosen is None and voice.model and voice.engine is not None:  # --engine piper --narrator heart
            who = f"{seg.character}'s voice" if seg.character else "the narrator's voice"
            self.warn("voice-engine", f"{who} {voice.model!r} belongs to engine {voice.engine!r}, and this speaks "
                                      f"with engine {name!r}, whose default voice speaks instead (drop --engine, "
                                      f"or pick a voice of {name!r})", key=f"voice-engine:{voice.model}:{name}")
            voice = DEFAULT_VOICE  # what speaks: the result names it, not the voice asked for
        if chosen is None:
            chosen = self.model_for(name, lang)
            if chosen is None:
                raise UnsupportedLanguageError(
                    f"engine {name!r} does not speak {lang!r}; it speaks: {', '.join(spec.languages)}"
                )
        # Parameters: the voice's defaults, then the caller's, then the segment's own.
        combined: dict[str, Any] = {}
        seed_value = seed
        for layer, layer_strict in ((voice.params, strict_markup), (params, strict), (seg.params, strict_markup)):
            for key, value in layer.items():
                hint = key == "speed" and layer is seg.params  # SSML's rate, TAS's speed: never an error
                try:
                    if key == "seed":
                        seed_value = check_seed(value)
                        continue
                    p = spec.param(key)
                    if p is None and hint and (scale := spec.param("length_scale")) is not None:
                        p, value = scale, 1.0 / float(value)  # Piper's: its inverse, near enough for a hint
                    if p is None:
                        allowed = ", ".join(q.name for q in spec.params) or "none"
                        raise ParameterError(f"engine {name!r} has no parameter {key!r}; its parameters: {allowed}")
                    combined[p.name] = p.coerce(value)
                except ParameterError as exc:
                    at = f"line {seg.line}, column {seg.column}: " if layer is seg.params and seg.line \
                        and seg.column else ""
                    if layer_strict and not hint:  # the caller's own (--set) has no place in the script to name
                        exc.of_the_call = layer is params  # type: ignore[attr-defined]
                        raise
                    self.warn("dropped-parameter", f"{label + ': ' if label else ''}{at}{exc} (dropped)")
        final, _ = spec.resolve_params(combined)
        emotion = self._emotion(seg, spec, voices)
        vector = seg.emotion_vector if seg.emotion_vector and spec.capabilities.emotion_vector else {}
        if seg.emotion_vector and not vector:
            self.warn("emotion", f"engine {name!r} takes no emotion weights: {dict(seg.emotion_vector)} ignored",
                      key=f"emotion-vector:{name}")
        sent = seg.text if seg.spoken is None else seg.spoken  # after the lexicon and normalization
        request = Request(text=normalize_text(sent), language=lang, model=chosen, voice=voice,
                          params=final, seed=seed_value, emotion=emotion, emotion_vector=vector)
        if voice.audio is not None and spec.capabilities.uses_reference_audio:  # broken: said now, not mid-render
            _memo(voice_keys, ("readable", str(voice.audio)), None, lambda: check_readable(voice.audio) or "")
        voice_fp = _memo(voice_keys, id(voice), voice, lambda: self.fingerprints.voice(voice))
        model_fp = self.model_fingerprint(name, chosen)
        key = segment_key(engine=name, engine_version=self.plugins.version_of(name),
                          model_fingerprint=model_fp, voice_fingerprint=voice_fp,
                          request=request,
                          emotion_fingerprint=self.fingerprints.voice(emotion) if emotion is not None else None)
        affecting = {p.name: final[p.name] for p in spec.params if p.affects_voice}
        voice_key = _memo(voice_keys, (voice_fp, repr(affecting)), None,
                          lambda: digest({"voice": voice_fp, "params": affecting}))
        return Job(index, seg, device, name, chosen, request, key, voice_key, model_fp)

    def _emotion(self, seg: Segment, spec: EngineSpec, voices: Mapping[str, Voice]) -> Voice | None:
        """The voice an emotion reference (``[Alice:happy_sarah]``) names, for engines that take one."""
        if not seg.emotion:
            return None
        if not spec.capabilities.emotion_reference:
            self.warn("emotion", f"engine {spec.name!r} takes no emotion reference: {seg.emotion!r} and any "
                      "other emotion references are ignored", key=f"emotion:{spec.name}")
            return None
        voice = voices.get(seg.emotion) or voices.get(seg.emotion.lower())
        if voice is None or voice.audio is None:
            self.warn("emotion", f"emotion reference {seg.emotion!r} is no voice with reference audio: ignored",
                      key=f"emotion-missing:{seg.emotion.lower()}")
        return voice if voice is not None and voice.audio is not None else None


#: Two letters or more in a row that are not Latin (with the marks and joiners between them).
_FOREIGN_RUN = re.compile(r"(?:(?![A-Za-z\u00C0-\u024F])[^\W\d_][\u0300-\u036F\u200c\u200d]*){2,}")


def _memo(memo: dict[Any, Any], key: Any, holds: Any, make: Callable[[], str]) -> str:
    """`make()` once per `key` in `memo`; `holds` kept beside it (an ``id()`` in a key stays its own)."""
    if key not in memo:
        memo[key] = (holds, make())
    return memo[key][1]


def check_seed(value: Any) -> int:
    try:
        as_float = float(value) if not isinstance(value, bool) else math.nan  # seed=True is no number
        if as_float.is_integer() and 0 <= as_float < 2**32:
            return int(as_float)
    except (TypeError, ValueError):
        pass
    raise ParameterError(f"seed {value!r} is not valid: expected an integer in 0..4294967295")
