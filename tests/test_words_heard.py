"""Heard word times (docs/words.md): where the engine gives none, the listener (whisper tiny.en,
real) hears the take and its words are aligned back to the script's and settled on its pauses;
checked against Piper's own alignment of the same audio, cached with the audio, and taken from
verify's hearing."""

from __future__ import annotations

import numpy as np
import pytest

import polyvox
from polyvox.builtins import piper as piper_engine
from polyvox.errors import ParameterError

QUIET = {"noise_scale": 0.0, "noise_w_scale": 0.0}
SCRIPT = ("The old lighthouse keeper climbed the stairs every evening, lit the lamp, and watched the ships. "
          "It costs $42.50 on 3 March.")


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    """The script's words as Piper's own alignment times them (noise off: the same audio below)."""
    k = polyvox.Kernel(cache_dir=tmp_path_factory.mktemp("truth"))
    result = k.render(SCRIPT, engine="piper", params=QUIET)
    assert {w.source for w in result.words} == {"engine"}
    return result


@pytest.fixture
def unaligned(monkeypatch):
    """Piper as with a voice whose graph gives no durations: an engine with no word times."""
    monkeypatch.setattr(piper_engine, "aligns_words", lambda: False)


def test_heard_times_are_near_the_engines_and_cached(tmp_path, truth, unaligned):
    k = polyvox.Kernel(cache_dir=tmp_path / "c")
    result = k.render(SCRIPT, engine="piper", params=QUIET, word_times="heard")
    assert np.array_equal(result.audio.samples, truth.audio.samples)  # the same take, only untimed
    words = result.words
    assert [w.word for w in words] == SCRIPT.split() and {w.source for w in words} == {"heard"}
    spoken = len([s for s in result.segments if s.engine])
    assert k.hearing.calls == spoken  # each take heard once
    errors = np.array([abs(h.start - t.start) for h, t in zip(words, truth.words, strict=True)])
    # whisper tiny.en alone: median 68 ms, p90 176 ms here; settled on the pauses: 48 / 119 ms;
    # and inside runs of speech halfway to where their letters put them: 30 / 110 ms
    assert np.median(errors) < 0.04 and np.percentile(errors, 90) < 0.14, errors
    money = next(w for w in words if w.word == "$42.50")  # heard as "$42" ".50": still its span
    true_money = next(w for w in truth.words if w.word == "$42.50")
    assert abs(money.start - true_money.start) < 0.15 and abs(money.end - true_money.end) < 0.25
    assert all(a.start <= b.start for a, b in zip(words, words[1:], strict=False))

    again = k.render(SCRIPT, engine="piper", params=QUIET, word_times="heard")
    assert again.stats.cached == spoken  # the heard times came from the cache:
    assert again.words == words and k.hearing.calls == spoken  # nothing heard again


def test_heard_times_settle_on_the_pauses_and_keep_the_rest():
    """Three bursts of sound with 0.3 s pauses between them; a recognizer heard the words after
    the pauses 150 ms late and one inside the first burst: the late ones move to where the
    sound resumes, the first starts with the sound, and the one inside a burst moves halfway to
    where its letters put it in that burst (half of 0.1 .. 0.7: 0.4, heard at 0.35)."""
    from polyvox.words.energy import settled
    from polyvox.words.timing import WordTime

    rate = 16000
    rng = np.random.default_rng(1)
    audio = np.zeros(int(2.2 * rate), np.float32)
    for a, b in ((0.1, 0.7), (1.0, 1.4), (1.7, 2.1)):
        audio[int(a * rate):int(b * rate)] = 0.5 * rng.standard_normal(int(b * rate) - int(a * rate))
    heard = [WordTime("one", 0.0, 0.35, "heard"), WordTime("two", 0.35, 0.72, "heard"),
             WordTime("three", 1.15, 1.45, "heard"), WordTime("four", 1.85, 2.1, "heard")]
    out = settled(heard, audio, rate)
    assert [w.word for w in out] == ["one", "two", "three", "four"] and {w.source for w in out} == {"heard"}
    assert [w.start for w in out] == pytest.approx([0.1, 0.375, 1.0, 1.7])
    assert round(out[1].end, 2) == 0.7 and round(out[2].end, 2) == 1.4  # they end where the pauses start
    assert all(a.end <= b.start for a, b in zip(out, out[1:], strict=False))


def test_a_verified_render_keeps_what_it_heard_as_word_times(tmp_path, unaligned):
    k = polyvox.Kernel(cache_dir=tmp_path / "c")
    plain = k.render("Bananas are yellow, and cherries are red.", engine="piper", params=QUIET, use_cache=False)
    assert {w.source for w in plain.words} == {"estimated"}  # auto, not verifying: nothing is heard
    assert k.hearing.calls == 0
    verified = k.render("Bananas are yellow, and cherries are red.", engine="piper", params=QUIET, verify=True)
    assert {w.source for w in verified.words} == {"heard"} and k.hearing.calls == 1
    again = k.render("Bananas are yellow, and cherries are red.", engine="piper", params=QUIET)
    assert again.stats.cached == 1 and again.words == verified.words  # the entry was written with them


def test_engine_times_are_never_replaced_by_heard_ones(tmp_path, truth):
    k = polyvox.Kernel(cache_dir=tmp_path / "c")
    result = k.render(SCRIPT, engine="piper", params=QUIET, word_times="heard")
    assert result.words == truth.words and k.hearing.calls == 0


def test_word_times_must_be_auto_or_heard(tmp_path):
    k = polyvox.Kernel(cache_dir=tmp_path / "c", plugins=["template"])
    with pytest.raises(ParameterError, match="word_times='guessed' is not valid: expected auto or heard"):
        k.render("Hello.", engine="template", word_times="guessed")


def test_the_cli_hears_word_times_with_word_times_heard(tmp_path, monkeypatch, unaligned):
    import json

    from click.testing import CliRunner

    from polyvox.cli import cli

    monkeypatch.setenv("POLYVOX_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "config.toml").touch()
    monkeypatch.setenv("POLYVOX_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.chdir(tmp_path)
    args = ["say", "Bananas are yellow.", "--engine", "piper", "--set", "noise_scale=0", "--set", "noise_w_scale=0",
            "-o", "a.wav", "--json"]
    plain = CliRunner().invoke(cli, [*args, "--no-cache"])
    assert plain.exit_code == 0, plain.output
    assert {w["source"] for w in json.loads(plain.stdout)["words"]} == {"estimated"}
    heard = CliRunner().invoke(cli, [*args, "--word-times", "heard"])
    assert heard.exit_code == 0, heard.output
    words = json.loads(heard.stdout)["words"]
    assert [w["word"] for w in words] == ["Bananas", "are", "yellow."] and {w["source"] for w in words} == {"heard"}


def test_a_word_heard_with_no_length_shares_the_time_of_the_word_before():
    """whisper sometimes times "the ships" as one long "the" and a "ships" of no length at its
    end (seen on Piper's audio: 'ships.' then landed 0.53 s late); the two share the span by
    length, and a run of such words shares it with the one that took their time."""
    from polyvox.listen.heardwords import unfolded

    def heard(*words):
        return [polyvox.WordTime(w, a, b, "heard") for w, a, b in words]

    out = unfolded(heard(("watched", 0.4, 1.0), ("the", 1.0, 1.6), ("ships", 1.6, 1.6), ("Look", 1.75, 2.0)))
    assert [(w.word, round(w.start, 3), round(w.end, 3)) for w in out] == [
        ("watched", 0.4, 1.0), ("the", 1.0, 1.225), ("ships", 1.225, 1.6), ("Look", 1.75, 2.0)]
    run = unfolded(heard(("a", 0.0, 0.8), ("big", 0.8, 0.8), ("dog", 0.8, 0.81)))
    assert [round(w.start, 3) for w in run] == [0.0, round(0.81 / 7, 3), round(0.81 * 4 / 7, 3)]
    assert run[-1].end == pytest.approx(0.81)
    untouched = heard(("one", 0.0, 0.3), ("two", 0.3, 0.6))
    assert unfolded(untouched) == untouched
