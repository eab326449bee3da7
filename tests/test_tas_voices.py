"""Voice folders in TTS Audio Suite's layout: the Narrator alias, AAC references, and the
``.txt`` transcript standing in for an empty ``.reference.txt``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import polyvox
from polyvox import Audio, VoiceError
from polyvox.voices.library import ALIAS_FILE, VoiceLibrary

av = pytest.importorskip("av", reason="PyAV decodes AAC; it is in the test extra")


def tone(seconds: float, freq: float, rate: int = 24000) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_aac(path: Path, seconds: float, freq: float, rate: int = 24000) -> Path:
    """A real AAC file (ADTS), encoded with FFmpeg's AAC encoder through PyAV."""
    with av.open(str(path), "w", format="adts") as container:
        stream = container.add_stream("aac", rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(tone(seconds, freq, rate)[None, :], format="flt", layout="mono")
        frame.rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path


def pitch(audio: Audio) -> float:
    """Fundamental frequency by autocorrelation (60..400 Hz)."""
    x = audio.samples[: 2 * audio.sample_rate].astype(np.float64)
    x -= x.mean()
    corr = np.fft.irfft(np.abs(np.fft.rfft(x, 2 * len(x))) ** 2)[: len(x)]
    lo, hi = audio.sample_rate // 400, audio.sample_rate // 60
    return audio.sample_rate / (lo + int(np.argmax(corr[lo:hi])))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "voices"
    (root / "narrators").mkdir(parents=True)
    sf.write(root / "narrators" / "david_attenborough cc3.wav", tone(1.0, 120.0), 24000)
    (root / "narrators" / "david_attenborough cc3.reference.txt").write_text("The natural world.", encoding="utf-8")
    write_aac(root / "Dave.aac", 1.0, 250.0)
    (root / "Dave.reference.txt").write_text("Dave's reference words.", encoding="utf-8")
    sf.write(root / "Eve.wav", tone(1.0, 200.0), 24000)
    (root / "Eve.reference.txt").write_text("  \n", encoding="utf-8")
    (root / "Eve.txt").write_text("Eve's own words.", encoding="utf-8")
    (root / ALIAS_FILE).write_text("Narrator = david_attenborough cc3\nBob = Dave, German\n", encoding="utf-8")
    return root


@pytest.fixture
def library(kernel: polyvox.Kernel, folder: Path) -> VoiceLibrary:
    return kernel.voice_library(folder)


def test_the_narrator_alias_gives_the_narrator_a_voice(library: VoiceLibrary) -> None:
    narrator = library.narrator
    assert narrator is not None and narrator.audio.name == "david_attenborough cc3.wav"
    assert narrator.reference_text == "The natural world."
    assert VoiceLibrary({}).narrator is None


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_transcripts_and_alias_maps_written_on_windows_read_as_written(kernel: polyvox.Kernel, tmp_path: Path,
                                                                       encoding: str) -> None:
    """Notepad on a European Windows saves Windows-1252 (or "Unicode", UTF-16): a name or a
    transcript with an accent must not become a replacement character."""
    root = tmp_path / "voices"
    root.mkdir()
    sf.write(root / "Zoë.wav", tone(1.0, 200.0), 24000)
    (root / "Zoë.reference.txt").write_bytes("Un café, s'il vous plaît.".encode(encoding))
    (root / ALIAS_FILE).write_bytes("Renée = Zoë\n".encode(encoding))
    library = kernel.voice_library(root)
    assert library["Zoë"].reference_text == "Un café, s'il vous plaît."
    assert library["Renée"].audio == library["Zoë"].audio and not library.warnings


def test_aac_references_are_found_and_decoded(library: VoiceLibrary) -> None:
    dave = library["Dave"]
    assert dave.audio.suffix == ".aac" and dave.reference_text == "Dave's reference words."
    audio = Audio.read(dave.audio)
    assert audio.sample_rate == 24000
    assert audio.duration == pytest.approx(1.0, abs=0.1)  # AAC adds a frame of priming
    assert pitch(audio) == pytest.approx(250.0, rel=0.03)
    # An alias of an AAC voice keeps it, with the alias's language winning over the call's.
    bob = library["Bob"]
    assert bob.audio == dave.audio and bob.language == "de" and bob.language_wins
    assert not dave.language_wins


def test_an_empty_reference_txt_falls_back_to_the_txt(library: VoiceLibrary) -> None:
    assert library["Eve"].reference_text == "Eve's own words."


def test_a_render_speaks_with_the_aac_voice(kernel: polyvox.Kernel, folder: Path) -> None:
    # The template engine takes its pitch from the reference audio: Dave's AAC tone is 250 Hz,
    # Eve's WAV 200 Hz, the narrator's 120 Hz.
    result = kernel.render("[Dave] Hello there.\n[Eve] Hello there.", engine="template", voices=folder,
                           voice=kernel.voice_library(folder).narrator)
    by_voice = {s.voice: s for s in result.segments if s.engine}
    assert set(by_voice) == {"Dave", "Eve"}
    rate = result.audio.sample_rate

    def heard(name: str) -> float:
        s = by_voice[name]
        return pitch(Audio(result.audio.samples[round(s.start * rate): round((s.start + s.duration) * rate)], rate))

    assert heard("Dave") == pytest.approx(250.0, rel=0.05)
    assert heard("Eve") == pytest.approx(200.0, rel=0.05)
    narrated = kernel.render("Once upon a time.", engine="template", voices=folder,
                             voice=kernel.voice_library(folder).narrator)
    assert pitch(narrated.audio) == pytest.approx(120.0, rel=0.05)


def write_av(path: Path, fmt: str, codec: str, freq: float, rate: int = 48000) -> Path:
    """A real compressed file (WebM/Opus, MP4/AAC) encoded by FFmpeg through PyAV."""
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(tone(1.0, freq, rate)[None, :], format="flt", layout="mono")
        frame.rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path


def test_references_in_the_other_formats_comfyui_lists_as_audio_or_video(kernel: polyvox.Kernel,
                                                                           tmp_path: Path) -> None:
    # Inside ComfyUI, TAS keeps every file whose MIME type is audio or video, so voice folders
    # there also hold Opus, AIFF, WebM and MP4 references; each is a character here too.
    root = tmp_path / "voices"
    root.mkdir()
    sf.write(root / "Olga.opus", tone(1.0, 150.0, 48000), 48000, format="OGG", subtype="OPUS")
    sf.write(root / "Ada.aiff", tone(1.0, 170.0), 24000)
    write_av(root / "Wes.webm", "webm", "libopus", 190.0)
    write_av(root / "Max.mp4", "mp4", "aac", 210.0)
    library = kernel.voice_library(root)
    assert sorted(library) == ["Ada", "Max", "Olga", "Wes"]
    for name, freq in (("Olga", 150.0), ("Ada", 170.0), ("Wes", 190.0), ("Max", 210.0)):
        assert pitch(Audio.read(library[name].audio)) == pytest.approx(freq, rel=0.03), name


def test_without_pyav_an_aac_reference_is_a_one_line_error(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(VoiceError, match=r"Dave.aac.*needs PyAV; install it with pip install 'polyvox\[aac\]'"):
        Audio.read(folder / "Dave.aac")


def test_a_broken_aac_file_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.aac"
    bad.write_bytes(b"not audio at all" * 10)
    with pytest.raises(VoiceError, match=r"cannot read audio .*bad.aac") as info:
        Audio.read(bad)
    assert "\n" not in str(info.value)


def test_emotion_references_and_weights_count_in_the_cache_key_only_when_set(library: VoiceLibrary) -> None:
    from polyvox.cache.keys import segment_key
    from polyvox.text.segment import Request

    def key(**extra: object) -> str:
        emotion_fp = extra.pop("emotion_fingerprint", None)
        request = Request(text="Hi.", language="en", model="m", voice=library["Eve"], **extra)
        return segment_key(engine="e", engine_version="1", model_fingerprint="m", voice_fingerprint="v",
                           request=request, emotion_fingerprint=emotion_fp)

    plain = key()
    assert plain == key(emotion_vector={})
    with_ref = key(emotion=library["Dave"], emotion_fingerprint="dave-audio")
    assert len({plain, with_ref, key(emotion=library["Dave"], emotion_fingerprint="other-audio"),
                key(emotion_vector={"sad": 0.7}), key(emotion_vector={"sad": 0.6})}) == 5
