"""`EngineContract`: the checks every engine plugin runs against itself.

Subclass it in a test module and name the engine; that is the whole test for most engines:

    class TestMyEngineContract(EngineContract):
        engine = "myengine"

The kit speaks with two reference voices of its own (tones at 110 and 220 Hz, with a
transcript). Set `params` (fast settings passed to every check) or `deterministic_params`
(added where a check needs repeatable audio), and override the class-scoped `voices` fixture
when the engine needs real recordings or names its voices another way (Piper: models).

The checks are written to catch engines that lie: one that ignores the text, the language or
the seed, or that keeps a request's seed or voice on the shared model while it works, fails.
Every check calls the engine for real (the cache is bypassed). Engines that declare
``Capabilities(seeded=True)`` must give the same samples for the same seed; an engine that is
only deterministic with some settings (Piper with its noise off) names them in
`deterministic_params`, one that always is (hibari) sets `deterministic`; an engine with none of
these skips the checks that compare two renders.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import numpy as np
import pytest

from polyvox.audio import Audio
from polyvox.errors import ParameterError, PolyvoxError, UnsupportedLanguageError
from polyvox.kernel import Kernel
from polyvox.plugin.spec import EngineSpec
from polyvox.render.planner import Job
from polyvox.testing.calls import (
    assert_same_audio,
    bad_values,
    call_engine,
    differ,
    other_value,
    plan_requests,
    reference_voice,
    refuses,
)
from polyvox.text import languages
from polyvox.text.segment import Segment
from polyvox.voices.voice import Voice

_TAG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")


class EngineContract:
    """The contract checks; pytest collects them from a ``Test...`` subclass."""

    #: The engine name under test.
    engine: ClassVar[str] = ""
    #: Extra parameters every check passes (fast settings, a small step count).
    params: ClassVar[dict[str, Any]] = {}
    #: Parameters added for checks that compare two renders (for engines that are not seeded).
    deterministic_params: ClassVar[dict[str, Any]] = {}
    #: True for an engine that is not seeded (its seed gives no other take) yet gives the same
    #: samples for the same request at every setting: the comparing checks run as they are.
    deterministic: ClassVar[bool] = False
    #: Language the checks speak (None: English if the engine speaks it, else its first language).
    language: ClassVar[str | None] = None
    #: A sentence to speak, and a few of different lengths for batch and thread checks.
    text: ClassVar[str] = "The quick brown fox jumps over the lazy dog."
    texts: ClassVar[tuple[str, ...]] = ("Hello there.", "This sentence is a little longer than that one.",
                                        "A third, mid-sized line.")
    #: Largest sample difference two renders that must be equal may show (0: bit-exact).
    tolerance: ClassVar[float] = 0.0
    #: How far apart (a fraction of the louder clip's RMS) the audio of two texts of one length
    #: must be. 1 % for an engine with real weights; a test model with random weights hears its
    #: text faintly and may set less (never 0: an engine that reads only the length still fails).
    text_difference: ClassVar[float] = 0.01
    #: The same, for batch against single synthesis (padding may change the numerics).
    batch_tolerance: ClassVar[float | None] = None
    #: Threads the concurrency check runs at once.
    threads: ClassVar[int] = 3
    #: Synthesize at every declared parameter bound (2 calls per bounded parameter).
    check_parameter_bounds: ClassVar[bool] = True
    #: A text about three times as long must give audio at least this many times as long. Set to
    #: 0 only when `params` cap the length (a token limit that random test weights always reach).
    longer_text_factor: ClassVar[float] = 1.8
    #: The parameter the batch check varies between items (None: the first one with another valid
    #: value that does not change the voice conditioning).
    varied_param: ClassVar[str | None] = None
    #: A listener (``"whisper:tiny.en"``) that must hear the engine say `text` within
    #: `heard_max_wer` (None: not checked; a formant synthesizer says no words to hear).
    listener: ClassVar[str | None] = None
    heard_max_wer: ClassVar[float] = 0.25

    # -- fixtures a subclass may override -------------------------------------------------
    @pytest.fixture(scope="class")
    @classmethod
    def kernel(cls, tmp_path_factory: pytest.TempPathFactory) -> Kernel:
        """A kernel with every installed plugin and its cache in a temporary directory."""
        return Kernel(cache_dir=tmp_path_factory.mktemp("polyvox-cache"))

    @pytest.fixture(scope="class")
    @classmethod
    def voices(cls, tmp_path_factory: pytest.TempPathFactory) -> list[Voice]:
        """Two reference voices: harmonic tones at 110 and 220 Hz, each with a transcript."""
        folder = tmp_path_factory.mktemp("contract-voices")
        return [reference_voice(folder, "low", 110.0, reference_text="This is how the low voice sounds."),
                reference_voice(folder, "high", 220.0, reference_text="And this one is the high voice.")]

    @pytest.fixture(scope="class")
    @classmethod
    def spec(cls, kernel: Kernel) -> EngineSpec:
        assert cls.engine, "set `engine = \"name\"` on the contract subclass"
        return kernel.engine(cls.engine)

    @pytest.fixture(scope="class")
    @classmethod
    def speak_language(cls, kernel: Kernel, spec: EngineSpec) -> str:
        if cls.language:
            return cls.language
        return "en" if kernel.planner.model_for(spec.name, "en") else spec.languages[0]

    # -- helpers ----------------------------------------------------------------------------
    def repeatable(self, spec: EngineSpec) -> dict[str, Any]:
        """Params under which two renders must be equal; skips the check if there are none."""
        if not spec.capabilities.seeded and not self.deterministic_params and not self.deterministic:
            pytest.skip(f"engine {spec.name!r} is not seeded and the test names no deterministic_params")
        return {**self.params, **self.deterministic_params}

    def same(self, a: Audio, b: Audio, what: str, *, batch: bool = False) -> None:
        """Override to compare audio another way (a perceptual distance, say)."""
        atol = self.batch_tolerance if batch and self.batch_tolerance is not None else self.tolerance
        assert_same_audio(a, b, what, atol)

    def jobs(self, kernel: Kernel, language: str, texts: Sequence[str], voice: Voice | None = None,
             seed: int = 1234, params: Mapping[str, Any] | None = None) -> list[Job]:
        return plan_requests(kernel, self.engine, texts, voice=voice, language=language, seed=seed,
                             params=self.params if params is None else params)

    def job(self, kernel: Kernel, language: str, text: str, voice: Voice, seed: int,
            params: Mapping[str, Any]) -> Job:
        (only,) = plan_requests(kernel, self.engine, [text], voice=voice, language=language, seed=seed, params=params)
        return only

    def check_audio(self, audio: Any, spec: EngineSpec, what: str) -> Audio:
        assert isinstance(audio, Audio), f"{what}: returned {type(audio).__name__}, not polyvox.Audio"
        assert audio.sample_rate == spec.sample_rate, (
            f"{what}: audio at {audio.sample_rate} Hz, the engine declares {spec.sample_rate} Hz")
        assert np.all(np.isfinite(audio.samples)), f"{what}: NaN or infinite samples"
        assert 0.2 <= audio.duration <= 60.0, f"{what}: {audio.duration:.2f} s of audio for one sentence"
        assert audio.rms > 1e-4, f"{what}: the audio is silent"
        assert audio.peak <= 1.0, f"{what}: samples outside [-1, 1] (peak {audio.peak:.3f})"
        return audio

    # -- the declaration --------------------------------------------------------------------
    def test_declaration_is_valid(self, kernel: Kernel, spec: EngineSpec, voices: list[Voice]) -> None:
        owner = kernel.plugin_of(spec.name)
        failed = [f.error for f in kernel.failures if f.name == owner]
        assert not failed, f"plugin {owner!r} failed: {failed}"
        assert spec.name == self.engine
        assert 8000 <= spec.sample_rate <= 192000, f"implausible sample rate {spec.sample_rate}"
        for code in spec.languages:
            assert _TAG.match(code), f"language {code!r} is not a lower-case tag such as 'en' or 'pt-br'"
        if spec.models:
            assert spec.default_model in spec.models, f"default model {spec.default_model!r} is not in models"
        if spec.capabilities.needs_reference_text:
            assert spec.capabilities.needs_reference_audio, "needs_reference_text without needs_reference_audio"
        for p in spec.params:
            if p.min is not None and p.max is not None:
                assert p.min <= p.max, f"parameter {p.name}: min {p.min} > max {p.max}"
            assert p.help, f"parameter {p.name} has no help text"
        assert len(voices) == 2 and all(isinstance(v, Voice) for v in voices), "`voices` must be two Voices"
        assert voices[0] != voices[1], "the two voices are the same"

    def test_every_language_maps_to_a_model(self, kernel: Kernel, spec: EngineSpec) -> None:
        for code in spec.languages:
            model = kernel.planner.model_for(spec.name, code)
            assert model, f"declared language {code!r} maps to no model"
            files = kernel.plugins.hook.model_files(engine=spec.name, model=model)
            assert isinstance(files, list), f"model_files for {model!r} ({code}) answered {files!r}, not a list"
        assert kernel.planner.model_for(spec.name, "xx-unknown") is None

    # -- synthesis --------------------------------------------------------------------------
    def test_synthesize_returns_finite_audio_at_declared_rate(self, kernel: Kernel, spec: EngineSpec,
                                                              voices: list[Voice], speak_language: str) -> None:
        for voice in voices:
            (audio,) = call_engine(kernel, self.jobs(kernel, speak_language, [self.text], voice))
            self.check_audio(audio, spec, f"synthesize_segment ({voice.name})")
        through_kernel = kernel.synthesize(self.text, engine=spec.name, voice=voices[0], language=speak_language,
                                           use_cache=False, **self.params)
        self.check_audio(through_kernel, spec, "Kernel.synthesize")

    def test_parameter_ranges_are_enforced(self, kernel: Kernel, spec: EngineSpec, speak_language: str,
                                           voices: list[Voice]) -> None:
        def refused(name: str, value: Any) -> None:
            with pytest.raises(ParameterError):
                kernel.plan([Segment(text=self.text)], engine=spec.name, voice=voices[0], language=speak_language,
                            params={**self.params, name: value})

        refused("no_such_parameter_xyz", 1)
        for p in spec.params:
            for bad in bad_values(p):
                refused(p.name, bad)

    def test_parameter_bounds_synthesize(self, kernel: Kernel, spec: EngineSpec, speak_language: str,
                                         voices: list[Voice]) -> None:
        """At each declared bound the engine returns finite audio at its rate, or refuses with a PolyvoxError."""
        bounded = [p for p in spec.params if p.type in ("int", "float") and (p.min is not None or p.max is not None)]
        if not self.check_parameter_bounds or not bounded:
            pytest.skip("no bounded parameters to try")
        for p in bounded:
            for value in (p.min, p.max):
                if value is None or p.name in self.params:
                    continue
                jobs = self.jobs(kernel, speak_language, [self.text], voices[0], params={**self.params, p.name: value})
                try:
                    (audio,) = call_engine(kernel, jobs)
                except PolyvoxError:  # a bound this model cannot take (a speaker id past its count) may be refused
                    continue
                assert isinstance(audio, Audio) and np.all(np.isfinite(audio.samples)), f"{p.name}={value}"
                assert audio.sample_rate == spec.sample_rate, f"{p.name}={value}: wrong sample rate"

    def test_same_seed_same_audio(self, kernel: Kernel, spec: EngineSpec, voices: list[Voice],
                                  speak_language: str) -> None:
        params = self.repeatable(spec)
        first, second = (kernel.synthesize(self.text, engine=spec.name, voice=voices[0], language=speak_language,
                                           seed=7, use_cache=False, **params) for _ in range(2))
        self.same(first, second, "two renders with seed 7")
        jobs = self.jobs(kernel, speak_language, [self.text, self.text], voices[0], seed=7, params=params)
        a, b = call_engine(kernel, jobs)
        self.same(a, b, "two synthesize_segment calls with seed 7")
        if spec.capabilities.seeded:
            (other,) = call_engine(kernel, self.jobs(kernel, speak_language, [self.text], voices[0], seed=8,
                                                     params=params))
            assert differ(a, other, self.tolerance), (
                "seeds 7 and 8 give the same audio: an engine that declares seeded=True must use request.seed")

    def test_is_heard_saying_what_it_was_given(self, kernel: Kernel, spec: EngineSpec, voices: list[Voice],
                                               speak_language: str) -> None:
        """A listener (`listener`, e.g. ``"whisper:tiny.en"``) hears `text` in the engine's speech."""
        if self.listener is None:
            pytest.skip("no `listener` named: engines that speak real words set one (docs/listening.md)")
        from polyvox.listen.words import compare

        (audio,) = call_engine(kernel, self.jobs(kernel, speak_language, [self.text], voices[0],
                                                 params={**self.params, **self.deterministic_params}))
        heard = kernel.listen(audio, language=speak_language, listener=self.listener)
        wer = compare(self.text, heard.text, speak_language).wer
        assert wer <= self.heard_max_wer, f"{self.listener} heard {heard.text!r} for {self.text!r} (WER {wer:.2f})"

    def test_text_changes_audio(self, kernel: Kernel, spec: EngineSpec, voices: list[Voice],
                                speak_language: str) -> None:
        """Other words of the same length, other audio (so an engine that reads only the text's
        length fails); three times the words, clearly longer audio."""
        params = self.repeatable(spec)
        other = _reordered(self.text)
        longer = " ".join([self.text] * 3)
        one, b, three = call_engine(kernel, self.jobs(kernel, speak_language, [self.text, other, longer],
                                                      voices[0], params=params))
        assert differ(one, b, self.tolerance, self.text_difference), (
            f"{self.text!r} and {other!r} (as long) give the same audio: is the text ignored, or only its length read?")
        if self.longer_text_factor:
            assert three.duration >= self.longer_text_factor * one.duration, (
                f"a text three times as long gave {three.duration:.2f} s against {one.duration:.2f} s "
                f"(at least {self.longer_text_factor}x expected)")

    def test_languages_change_speech(self, kernel: Kernel, spec: EngineSpec, voices: list[Voice],
                                     speak_language: str) -> None:
        """An engine that declares several languages speaks a sentence differently in another one
        (tried first where another model speaks it; models that are not installed are passed over).
        Regional variants of one language (en, en-us) may sound the same."""
        base = speak_language.split("-")[0]
        others = [c for c in spec.languages if c.split("-")[0] != base]
        if not others:
            pytest.skip(f"engine {spec.name!r} declares one language ({', '.join(spec.languages)})")
        params = self.repeatable(spec)
        home = kernel.planner.model_for(spec.name, speak_language)
        others.sort(key=lambda c: kernel.planner.model_for(spec.name, c) == home)
        (base,) = call_engine(kernel, self.jobs(kernel, speak_language, [self.text], voices[0], params=params))
        spoken = []
        for code in others[:3]:
            try:
                (audio,) = call_engine(kernel, self.jobs(kernel, code, [self.text], voices[0], params=params))
            except PolyvoxError:  # a model of this language that is not installed here
                continue
            if differ(base, audio, self.tolerance):
                return
            spoken.append(code)
        if not spoken:
            pytest.skip(f"no model for another language than {speak_language!r} is installed")
        pytest.fail(f"{self.text!r} sounds the same in {speak_language!r} and {', '.join(spoken)}: "
                    "is the language ignored?")

    def test_two_voices_interleaved_equal_each_alone(self, kernel: Kernel, spec: EngineSpec,
                                                     voices: list[Voice], speak_language: str) -> None:
        params = self.repeatable(spec)
        one, two = voices

        def say(voice: Voice) -> Audio:
            return kernel.synthesize(self.text, engine=spec.name, voice=voice, language=speak_language, seed=3,
                                     use_cache=False, **params)

        alone_one = say(one)
        alone_one_again = say(one)
        self.same(alone_one, alone_one_again, f"voice {one.name!r} twice in a row")
        alone_two = say(two)
        assert differ(alone_one, alone_two), "the two voices give identical audio: use two different voices"
        for round_no in range(2):
            self.same(say(one), alone_one, f"voice {one.name!r} after {two.name!r} (round {round_no})")
            self.same(say(two), alone_two, f"voice {two.name!r} after {one.name!r} (round {round_no})")

    def test_thread_safety_as_declared(self, kernel: Kernel, spec: EngineSpec, voices: list[Voice],
                                       speak_language: str) -> None:
        if not spec.capabilities.thread_safe:
            pytest.skip(f"engine {spec.name!r} declares thread_safe=False: the kernel serializes its calls")
        params = self.repeatable(spec)
        # every job differs from the others in text, seed or voice: state an engine keeps on the
        # shared model while it works (the seed, the voice) then leaks into another thread's job
        mixed = [self.job(kernel, speak_language, text, voices[(n // 2) % 2], 1000 + n % 3, params)
                 for n, text in enumerate(list(self.texts) * 2)]
        alone = [call_engine(kernel, [job])[0] for job in mixed]
        for attempt in range(2):
            with ThreadPoolExecutor(self.threads) as pool:
                together = list(pool.map(lambda job: call_engine(kernel, [job])[0], mixed))
            for n, (a, b) in enumerate(zip(alone, together, strict=True)):
                self.same(b, a, f"job {n} (seed {mixed[n].request.seed}, voice {mixed[n].request.voice.name!r}) "
                          f"synthesized concurrently vs alone (round {attempt})")
        texts = list(self.texts) * max(1, self.threads // len(self.texts) + 1)
        rendered = kernel.render([Segment(text=t) for t in texts], engine=spec.name, voice=voices[0],
                                 language=speak_language, params=params, workers=self.threads, use_cache=False)
        # a text repeated within one render is synthesized once and served to every repeat
        assert rendered.audio is not None and rendered.stats.speech_segments == len(texts)
        assert rendered.stats.synthesized == len(set(texts))

    def test_batch_as_declared(self, kernel: Kernel, spec: EngineSpec, voices: list[Voice],
                               speak_language: str) -> None:
        if not spec.capabilities.batch:
            pytest.skip(f"engine {spec.name!r} declares batch=False")
        params = self.repeatable(spec)
        # the scheduler batches one voice's segments; the items mix lengths, seeds and a parameter
        varied = self.varied_param or next(
            (p.name for p in spec.params if not p.affects_voice and p.name not in params
             and other_value(p) is not None), None)
        settings: list[dict[str, Any]] = [dict(params)]
        if varied is not None:
            (p,) = [p for p in spec.params if p.name == varied]
            settings.append({**params, varied: other_value(p)})
        jobs = [self.job(kernel, speak_language, text, voices[0], 500 + n, settings[n % len(settings)])
                for n, text in enumerate([*self.texts, self.texts[0]])]
        single = [call_engine(kernel, [job])[0] for job in jobs]
        batched = call_engine(kernel, jobs, batch=True)
        assert len(batched) == len(jobs), f"synthesize_batch returned {len(batched)} clips for {len(jobs)} requests"
        for n, (a, b) in enumerate(zip(single, batched, strict=True)):
            self.check_audio(b, spec, f"batch item {n}")
            self.same(b, a, f"batch item {n} vs single synthesis", batch=True)

    # -- errors -----------------------------------------------------------------------------
    def test_errors_are_polyvox_errors(self, kernel: Kernel, spec: EngineSpec, voices: list[Voice],
                                       speak_language: str) -> None:
        refuses(lambda: kernel.plugins.hook.load_model(engine=spec.name, model="no-such-model-xyz", device="cpu",
                                                        files=None),
                 "load_model of an unknown model")
        unspoken = next((c for c in languages.known_codes() if not kernel.planner.model_for(spec.name, c)), None)
        if unspoken:
            with pytest.raises(UnsupportedLanguageError):
                kernel.plan([Segment(text=self.text)], engine=spec.name, language=unspoken)
        if spec.capabilities.needs_reference_audio:
            refuses(lambda: call_engine(kernel, self.jobs(kernel, speak_language, [self.text], Voice(name="nobody"))),
                     "a voice without reference audio")
        if spec.capabilities.needs_reference_text:
            with_audio = next((v for v in voices if v.audio is not None), None)
            if with_audio is not None:
                bare = Voice(name="untranscribed", audio=with_audio.audio)
                refuses(lambda: call_engine(kernel, self.jobs(kernel, speak_language, [self.text], bare)),
                         "a voice without reference text")



def _reordered(text: str) -> str:
    """`text` with its first word moved to the end (its first half, when it is one word): other
    words in another order, of exactly the same length."""
    words = text.split()
    other = " ".join([*words[1:], words[0]]) if len(words) > 1 else text[len(text) // 2:] + text[: len(text) // 2]
    if other == text or len(other) != len(text):
        raise ValueError(f"the contract's text {text!r} cannot be reordered into another of its length: "
                         "give it two words or more")
    return other
