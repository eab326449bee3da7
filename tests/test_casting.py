"""`cast="auto"`: each character the voices do not name gets a distinct installed voice, the same
one on every run for the same name and installed voices; by default (`narrator`) such a
character keeps the narrator's voice with one warning, as in TTS Audio Suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import polyvox
from polyvox import Audio, Capabilities, EngineSpec, ParamSpec, Request
from polyvox.errors import VoiceError
from polyvox.testing.measures import median_pitch

VOICES = tuple(f"v{n}" for n in range(1, 7))
SCRIPT = """\
Once upon a time.
[Alice] Hello.
[Bob] Good day.
[Carol] Hi there.
[Alice] Bye now.
[Dave] Farewell.
"""
CHARACTERS = ("Alice", "Bob", "Carol", "Dave")


class Chorus(polyvox.Engine):
    """Six built-in voices, each a tone of its own pitch (100 Hz .. 350 Hz)."""

    name = "chorus"

    def spec(self) -> EngineSpec:
        return EngineSpec(name=self.name, sample_rate=16000, languages=("en",), default_model="v1", models=VOICES,
                          voices=VOICES, voice_languages={v: "en" for v in VOICES},
                          capabilities=Capabilities(seeded=True))

    def language_model(self, language: str) -> str | None:
        return "v1" if language == "en" else None

    def load(self, model: str, device: str) -> Any:
        return 50.0 + 50.0 * int(model[1:])

    def synthesize(self, model: Any, request: Request, conditioning: Any) -> Audio:
        t = np.arange(int(16000 * (0.3 + 0.05 * len(request.text)))) / 16000
        return Audio((0.3 * np.sin(2 * np.pi * model * t)).astype(np.float32), 16000)


def chorus_kernel(tmp_path) -> polyvox.Kernel:
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", load_entry_points=False)
    kernel.register(Chorus())
    return kernel


def cast_of(jobs) -> dict[str, tuple[str, str]]:
    return {j.segment.character or "narrator": (j.engine, j.model) for j in jobs if j.engine}


def test_auto_gives_each_character_a_voice_of_its_own(tmp_path):
    kernel = chorus_kernel(tmp_path)
    result = kernel.render(SCRIPT, cast="auto")
    cast = cast_of(kernel.plan(SCRIPT, cast="auto"))
    assert cast["narrator"] == ("chorus", "v1")
    assert len({cast[c] for c in (*CHARACTERS, "narrator")}) == 5  # four characters, four new voices
    assert not any("unknown character" in w for w in result.warnings)
    # and they sound different: each character's first line has the pitch of its own voice
    pitches = {}
    for seg in result.segments:
        who = seg.segment.character or "narrator"
        if seg.engine and who not in pitches:
            start = int(seg.start * result.audio.sample_rate)
            clip = result.audio.samples[start:start + int(seg.duration * result.audio.sample_rate)]
            pitches[who] = median_pitch(Audio(clip, result.audio.sample_rate))
    assert len({round(p, -1) for p in pitches.values()}) == 5


def test_the_cast_is_the_same_on_every_run_and_in_every_process(tmp_path):
    first = cast_of(chorus_kernel(tmp_path / "a").plan(SCRIPT, cast="auto"))
    assert cast_of(chorus_kernel(tmp_path / "b").plan(SCRIPT, cast="auto")) == first
    # a character who first speaks later does not move the ones before
    later = cast_of(chorus_kernel(tmp_path / "c").plan(SCRIPT + "[Erin] Me too.\n", cast="auto"))
    assert {k: later[k] for k in first} == first and later["Erin"] not in first.values()
    # the pick is a hash of the name, not Python's salted hash(): another process agrees
    code = ("import sys, json; sys.path.insert(0, 'tests'); from test_casting import *; "
            "print(json.dumps(cast_of(chorus_kernel(__import__('pathlib').Path(sys.argv[1])).plan(SCRIPT, "
            "cast='auto'))))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "d")], env=env, capture_output=True,
                         text=True, timeout=120, check=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert {k: tuple(v) for k, v in json.loads(out.stdout).items()} == first


def test_by_default_a_character_with_no_voice_keeps_the_narrators(tmp_path):
    kernel = chorus_kernel(tmp_path)
    result = kernel.render(SCRIPT)
    assert {s.model for s in result.segments if s.engine} == {"v1"}
    unknown = [w for w in result.warnings if "unknown character" in w]
    assert len(unknown) == 4  # one each, Alice's twice-spoken lines warned once
    assert cast_of(kernel.plan(SCRIPT, cast="narrator")) == cast_of(kernel.plan(SCRIPT))


def test_voices_the_folder_gives_are_kept_and_never_handed_out_again(tmp_path):
    kernel = chorus_kernel(tmp_path)
    voices = {"Alice": polyvox.Voice(name="Alice", model="v4", engine="chorus")}
    for _ in range(3):  # whatever the hash would pick for the others
        cast = cast_of(kernel.plan(SCRIPT, cast="auto", voices=voices))
        assert cast["Alice"] == ("chorus", "v4")
        assert ("chorus", "v4") not in {cast[c] for c in ("Bob", "Carol", "Dave", "narrator")}
        assert len({cast[c] for c in ("Bob", "Carol", "Dave")}) == 3
        voices = {**voices, "Bob": polyvox.Voice(name="Bob", model=cast["Bob"][1], engine="chorus")}


def test_too_few_voices_share_with_a_warning(tmp_path):
    kernel = chorus_kernel(tmp_path)
    crowd = "".join(f"[C{n}] Line {n}.\n" for n in range(8))  # eight characters, five free voices
    result = kernel.render(crowd, cast="auto", voice="v1")
    cast = cast_of(kernel.plan(crowd, cast="auto", voice="v1"))
    assert {m for _, m in cast.values()} == set(VOICES)
    assert any("not enough installed voices" in w for w in result.warnings)


def test_a_named_engine_casts_from_its_own_voices_only(tmp_path):
    kernel = chorus_kernel(tmp_path)
    cast = cast_of(kernel.plan(SCRIPT, cast="auto", engine="chorus"))
    assert {e for e, _ in cast.values()} == {"chorus"}


def test_a_bad_cast_is_one_line_naming_what_is_allowed(tmp_path):
    with pytest.raises(VoiceError, match=r"cast 'random' is not allowed: expected one of narrator, auto") as err:
        chorus_kernel(tmp_path).render(SCRIPT, cast="random")
    assert "\n" not in str(err.value)


def test_real_voices_are_cast_from_the_default_install(tmp_path):
    """Piper and hibari: the narrator keeps joe, the one character gets heart, and the CLI's
    summary and --json say so (cast = "auto" in the config file)."""
    (tmp_path / "config.toml").write_text('cast = "auto"\n')
    (tmp_path / "play.txt").write_text("The play begins.\n[Alice] Hello, I am Alice.\n")
    env = {**os.environ, "POLYVOX_CONFIG": str(tmp_path / "config.toml"), "POLYVOX_PLUGINS": "piper,hibari",
           "POLYVOX_CACHE_DIR": str(tmp_path / "cache")}
    polyvox_bin = os.path.join(os.path.dirname(sys.executable), "polyvox")
    out = subprocess.run([polyvox_bin, "render", "play.txt", "-o", "play.wav", "--json"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    cast = json.loads(out.stdout)["cast"]
    assert cast["narrator"]["model"] == "en_US-joe-medium" and cast["Alice"] == {
        "model": "heart", "voice": "Alice", "engine": "hibari"}
    table = subprocess.run([polyvox_bin, "render", "play.txt", "-o", "play.wav"], env={**env, "COLUMNS": "200"},
                           cwd=tmp_path, capture_output=True, text=True, timeout=300)  # from the cache
    assert "Alice → heart (hibari)" in table.stderr


def test_a_voice_of_another_engine_than_the_one_asked_for_is_named_in_a_warning(tmp_path):
    """--engine piper --narrator heart: Piper cannot speak with hibari's heart, and says so."""
    warnings: list[str] = []
    kernel = polyvox.Kernel(cache=False, on_event=lambda e: warnings.append(getattr(e, "message", "")))
    jobs = kernel.plan("Testing the heart voice.", engine="piper",
                       voice=polyvox.Voice(name="heart", model="heart", engine="hibari"))
    assert jobs[0].engine == "piper" and jobs[0].model != "heart"
    assert any("'heart' belongs to engine 'hibari'" in w and "'piper'" in w for w in warnings), warnings


class Duo(Chorus):
    """Two voices that speak English and German, and a speed of their own (Chorus has none)."""

    name = "duo"

    def spec(self) -> EngineSpec:
        return EngineSpec(name=self.name, sample_rate=16000, languages=("en", "de"), default_model="d1",
                          models=("d1", "d2"), voices=("d1", "d2"), voice_languages={"d1": "en", "d2": "en"},
                          params=(ParamSpec(name="speed", default=1.0, min=0.5, max=2.0),),
                          capabilities=Capabilities(seeded=True))

    def language_model(self, language: str) -> str | None:
        return "d1" if language in ("en", "de") else None

    def load(self, model: str, device: str) -> Any:
        return 400.0 + 50.0 * int(model[1:])


def test_a_character_of_two_languages_gets_a_voice_that_speaks_both(tmp_path):
    kernel = chorus_kernel(tmp_path)
    kernel.register(Duo())
    script = "[Kenji] Hello, I am Kenji.\n[de:Kenji] Guten Tag.\n[Alice] Hi.\n"
    cast = cast_of(kernel.plan(script, cast="auto"))
    assert cast["Kenji"][0] == "duo"  # chorus speaks no German
    assert cast["Alice"][0] in ("chorus", "duo") and cast["Alice"] != cast["Kenji"]


def test_a_character_put_in_early_moves_at_most_the_one_whose_voice_it_takes(tmp_path):
    first = cast_of(chorus_kernel(tmp_path / "a").plan(SCRIPT, cast="auto"))
    inserted = cast_of(chorus_kernel(tmp_path / "b").plan("[Erin] Me first.\n" + SCRIPT, cast="auto"))
    moved = [who for who in CHARACTERS if inserted[who] != first[who]]
    assert len(moved) <= 1 and inserted["Erin"] not in {first[who] for who in CHARACTERS if who not in moved}


def test_a_cast_voice_s_parameters_are_not_said_to_be_dropped(tmp_path):
    kernel = chorus_kernel(tmp_path)
    kernel.register(Duo())
    result = kernel.render("Once.\n[Kenji|speed:1.5] Hallo.\n[de:Kenji] Guten Tag.\n", cast="auto")
    assert not [w for w in result.warnings if "speed" in w], result.warnings
    assert any(s.segment.character == "Kenji" and s.engine == "duo" for s in result.segments)
