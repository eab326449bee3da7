"""Voice blends (`jf_alpha:0.7+jm_kumo:0.3`) for engines whose voices are vectors that mix:
accepted wherever a voice name is, one cache entry however written, refused in one line when
they cannot be made. Spoken here by an engine whose voices are pitches (Kokoro's real blends
are tested in plugins/kokoro)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import polyvox
from polyvox import Audio, Capabilities, EngineSpec, Request
from polyvox.errors import VoiceError
from polyvox.serve.config import ServeConfig
from polyvox.serve.errors import ApiError
from polyvox.serve.speech import SpeechService
from polyvox.testing.measures import median_pitch

PITCHES = {"low": 120.0, "high": 240.0, "mid": 180.0}


class Mixer(polyvox.Engine):
    """Voices are pitches; a blend speaks at the weighted mean of its parts' pitches."""

    name = "mixer"

    def spec(self) -> EngineSpec:
        return EngineSpec(name=self.name, sample_rate=16000, languages=("en",), default_model="low",
                          models=tuple(PITCHES), voices=tuple(PITCHES), capabilities=Capabilities(blends=True))

    def load(self, model: str, device: str) -> Any:
        parts = polyvox.parse_blend(model)
        total = sum(parts.values())
        return sum(PITCHES[v] * w / total for v, w in parts.items())

    def synthesize(self, model: Any, request: Request, conditioning: Any) -> Audio:
        t = np.arange(8000) / 16000
        return Audio((0.3 * np.sin(2 * np.pi * model * t)).astype(np.float32), 16000)


@pytest.fixture
def kernel(tmp_path) -> polyvox.Kernel:
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", load_entry_points=False)
    kernel.register(Mixer())
    return kernel


def test_a_blend_speaks_between_its_parts_and_is_one_cache_entry_however_written(kernel):
    blend = kernel.render("Hello.", voice="low:0.5+high:0.5")
    assert median_pitch(blend.audio) == pytest.approx(180, rel=0.03)
    assert blend.segments[0].model == "high:0.5+low:0.5"  # canonical: sorted, weights adding up to 1
    again = kernel.render("Hello.", voice=" high:1 + low:1 ")
    assert again.segments[0].cached and again.segments[0].model == "high:0.5+low:0.5"
    other = kernel.render("Hello.", voice="low:0.75+high:0.25")
    assert not other.segments[0].cached and median_pitch(other.audio) == pytest.approx(150, rel=0.03)
    assert kernel.render("Hello.", voice="low:1").segments[0].model == "low"  # one part: the voice itself


@pytest.mark.parametrize(("voice", "message"), [
    ("low:0.7+nobody:0.3", "'mixer' has no voice 'nobody'; its voices: low, high, mid"),
    ("low:0+high:0", "the weights add up to 0"),
    ("low:-1+high:2", "weight '-1' of 'low' is not allowed: weights are 0 or more"),
    ("low:lots+high:1", "weight 'lots' of 'low' is not a number"),
    ("low:0.5++high", "is not a blend: write parts as VOICE:WEIGHT joined by '+'"),
])
def test_a_bad_blend_is_one_line_naming_it(kernel, voice, message):
    with pytest.raises(VoiceError) as err:
        kernel.render("Hello.", voice=voice)
    assert message in str(err.value) and voice in str(err.value) and "\n" not in str(err.value)


def test_an_alias_line_gives_a_character_a_blend(kernel, tmp_path):
    folder = tmp_path / "voices"
    folder.mkdir()
    (folder / "#character_alias_map.txt").write_text("Mix = low:0.5+high:0.5\nBad = low:1+ghost:1\n")
    library = kernel.voice_library(folder)
    assert library["Mix"].model == "high:0.5+low:0.5" and library["Mix"].engine == "mixer"
    result = kernel.render("[Mix] Hello.", voices=library)
    assert median_pitch(result.audio) == pytest.approx(180, rel=0.03)
    with pytest.raises(VoiceError, match="has no voice 'ghost'"):
        kernel.render("[Bad] Hello.", voices=library)


def test_a_blend_in_a_tag_speaks_as_that_blend_in_the_middle_of_a_line(kernel):
    """[low:0.5+high:0.5] is a speaker like [Alice]: the blend's voice (one cache entry with the
    same blend named anywhere else), with the tag's language and parameters, until the next tag."""
    result = kernel.render("[low:1+high:1|speed:1.1] Hello there. [narrator] And back. [en:high:1 + low:3] Again.",
                           cast="auto")
    first, narrator, third = (s for s in result.segments if s.engine is not None)
    assert (first.segment.character, first.model) == ("low:1+high:1", "high:0.5+low:0.5")
    assert first.segment.params == {"speed": 1.1}
    assert (narrator.segment.character, narrator.model) == (None, "low")
    assert (third.segment.character, third.model, third.language) == ("high:1+low:3", "high:0.25+low:0.75", "en")
    # the tag's parameter reached the engine (which has none); no unknown character, nobody auto-cast
    assert result.warnings == ("line 1, column 1: engine 'mixer' has no parameter 'speed'; its parameters: none "
                               "(dropped)",)
    direct = kernel.render("Hello there.", voice="high:0.5+low:0.5")
    assert direct.segments[0].cached  # the tag's blend made this very entry
    middle = kernel.render("[high:0.5+low:0.5] Hello.")
    assert median_pitch(middle.audio) == pytest.approx(180, rel=0.03)
    # beside a key:text parameter, the blend is still the speaker (not a second parameter)
    styled = kernel.render("[style:calm|low:1+high:1] Hello.")
    assert styled.segments[0].model == "high:0.5+low:0.5" and styled.segments[0].segment.params == {"style": "calm"}


def test_a_bad_blend_in_a_tag_is_a_warning_or_with_strict_an_error(kernel):
    lenient = kernel.render("[low:lots+high:1] Hello.")
    assert lenient.segments[0].model == "low"  # the narrator speaks, as for any tag that means nothing
    assert any("weight 'lots' of 'low' is not a number" in w for w in lenient.warnings)
    with pytest.raises(polyvox.ScriptError, match=r"weight 'lots' of 'low' is not a number"):
        kernel.render("[low:lots+high:1] Hello.", strict=True)
    with pytest.raises(VoiceError, match="has no voice 'ghost'"):
        kernel.render("[low:1+ghost:1] Hello.")
    # no weight written: a TAS character with a plus in its name, as it always was
    named = kernel.render("[Tom+Jerry] Hello.")
    assert named.segments[0].segment.character == "Tom+Jerry" and named.segments[0].model == "low"
    assert named.warnings == ("unknown character 'Tom+Jerry': using the narrator's voice",)


def test_the_server_accepts_a_blend_as_its_voice(kernel):
    service = SpeechService(kernel, ServeConfig(), None)
    voice = service.resolve_voice("low:0.5+high:0.5", None)
    assert (voice.model, voice.engine) == ("high:0.5+low:0.5", "mixer")
    with pytest.raises(ApiError) as err:
        service.resolve_voice("low:0.5+ghost:0.5", None)
    assert err.value.status == 400 and err.value.param == "voice" and "has no voice 'ghost'" in err.value.message


def test_engines_that_do_not_blend_refuse_a_blend_on_the_command_line(monkeypatch, tmp_path):
    from polyvox.cli import cli

    monkeypatch.setenv("POLYVOX_PLUGINS", "piper")
    monkeypatch.setenv("POLYVOX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["say", "Hi", "--narrator", "a:0.5+b:0.5", "-o", "x.wav"])
    assert result.exit_code != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("Error: voice 'a:0.5+b:0.5' is a blend, and no installed engine blends voices "
                                     "(Kokoro does: `polyvox install kokoro`)")
