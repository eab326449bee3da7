"""`ListenerContract`: the checks every listener plugin runs against itself.

    class TestMyListenerContract(ListenerContract):
        listener = "mylistener"          # or "mylistener:model"

The kit hears real speech: Piper's bundled voice (built into the kernel, no download) saying
known sentences, with its noise off so every run hears the same audio. The checks catch
listeners that lie: one that returns the same words whatever it is given, times that do not
follow the audio, words heard in silence, or a language it claims to tell but does not.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from polyvox.audio import Audio
from polyvox.kernel import Kernel
from polyvox.listen.heard import Heard, ListenerSpec
from polyvox.listen.words import compare

#: Piper with its noise off: the same audio on every run.
_QUIET = {"noise_scale": 0.0, "noise_w_scale": 0.0}


class ListenerContract:
    """The contract checks; pytest collects them from a ``Test...`` subclass."""

    #: ``NAME`` or ``NAME:MODEL`` of the listener under test.
    listener: ClassVar[str] = ""
    #: The language the kit speaks (Piper's bundled voice speaks English).
    language: ClassVar[str] = "en"
    #: Two known sentences, and the word error rate the listener must hear them within.
    text: ClassVar[str] = "The quick brown fox jumps over the lazy dog."
    other_text: ClassVar[str] = "She sold seven green apples at the market on Monday."
    max_wer: ClassVar[float] = 0.25
    #: Seconds of silence put before the speech in the timing check.
    lead_in: ClassVar[float] = 1.0

    # -- fixtures ---------------------------------------------------------------------------
    @pytest.fixture(scope="class")
    @classmethod
    def kernel(cls) -> Kernel:
        return Kernel(cache=False)

    @pytest.fixture(scope="class")
    @classmethod
    def spec(cls, kernel: Kernel) -> tuple[ListenerSpec, str]:
        return kernel.hearing.resolve(cls.listener or None)

    @pytest.fixture(scope="class")
    @classmethod
    def recording(cls, kernel: Kernel) -> Audio:
        return kernel.synthesize(cls.text, engine="piper", language=cls.language, **_QUIET)

    @pytest.fixture(scope="class")
    @classmethod
    def heard(cls, kernel: Kernel, recording: Audio) -> Heard:
        return cls.hear(kernel, recording)

    @classmethod
    def hear(cls, kernel: Kernel, audio: Audio, language: str | None = None) -> Heard:
        return kernel.listen(audio, language=language, listener=cls.listener or None)

    # -- checks -----------------------------------------------------------------------------
    def test_is_declared_with_its_models(self, kernel: Kernel, spec: tuple[ListenerSpec, str]) -> None:
        listener, model = spec
        assert listener.name in {s.name for s in kernel.listeners()}
        assert listener.sample_rate > 0
        assert listener.default_model in dict(listener.models)
        assert not listener.languages(model) or listener.hears(model, self.language), (
            f"{listener.name}:{model} declares {listener.languages(model)}, not the kit's {self.language!r}")

    def test_hears_the_words_of_real_speech(self, heard: Heard) -> None:
        result = compare(self.text, heard.text, self.language)
        assert result.wer <= self.max_wer, f"heard {heard.text!r} for {self.text!r} (WER {result.wer:.2f})"
        words = compare(self.text, " ".join(w.text for w in heard.words), self.language)
        assert words.wer <= self.max_wer, f"the words {[w.text for w in heard.words]} do not say {heard.text!r}"

    def test_hears_what_it_is_given_each_time(self, kernel: Kernel, heard: Heard) -> None:
        other = self.hear(kernel, kernel.synthesize(self.other_text, engine="piper", language=self.language,
                                                    **_QUIET))
        assert compare(self.other_text, other.text, self.language).wer <= self.max_wer, other.text
        assert compare(self.text, other.text, self.language).wer > 0.5, "the second recording was heard as the first"

    def test_word_times_increase_and_lie_within_the_audio(self, heard: Heard, recording: Audio) -> None:
        assert heard.words, "no words heard in speech"
        starts = [w.start for w in heard.words]
        assert starts == sorted(starts), f"word starts go backwards: {starts}"
        for word in heard.words:
            assert 0.0 <= word.start <= word.end <= recording.duration + 0.05, (word, recording.duration)
        assert heard.words[-1].end > 0.5 * recording.duration, "the words end long before the speech does"

    def test_times_count_from_the_start_of_the_audio(self, kernel: Kernel, recording: Audio) -> None:
        silence = np.zeros(round(self.lead_in * recording.sample_rate), dtype=np.float32)
        later = Audio(np.concatenate([silence, recording.samples]), recording.sample_rate)
        heard = self.hear(kernel, later)
        assert heard.words and heard.words[0].start >= 0.5 * self.lead_in, (
            f"the first word starts at {heard.words[0].start if heard.words else None} s, in the "
            f"{self.lead_in} s of silence before the speech")

    def test_silence_gives_no_words(self, kernel: Kernel) -> None:
        heard = self.hear(kernel, Audio(np.zeros(32000, dtype=np.float32), 16000))
        assert heard.words == () and not heard.text.strip(), f"heard {heard.text!r} in silence"

    def test_language_is_reported_where_claimed(self, heard: Heard, spec: tuple[ListenerSpec, str]) -> None:
        listener, model = spec
        if listener.multilingual(model):
            assert heard.language is not None and heard.language.split("-")[0] == self.language, heard.language
        elif heard.language is not None:
            assert listener.hears(model, heard.language), f"reports {heard.language!r}, which it does not hear"
        probability = heard.language_probability
        assert probability is None or 0.0 <= probability <= 1.0, probability

    def test_word_probabilities_are_probabilities(self, heard: Heard) -> None:
        for word in heard.words:
            assert word.probability is None or 0.0 <= word.probability <= 1.0, word


