"""Built-in samples for `polyvox demo`: a script with several characters and pauses, and a
subtitle file. Kept as Python strings so they ship with the package without package data.

    from polyvox.samples import DEMO_SCRIPT
    kernel.render(DEMO_SCRIPT, voices=demo_voices(kernel), output="demo.wav")

`write_samples(directory, kernel)` writes the files the documentation's examples read
(`polyvox demo --write-samples DIR`; a checkout has them in docs/examples/).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Several characters, a language tag, per-segment parameters and pauses of every spelling.
DEMO_SCRIPT = """\
Welcome to polyvox. This is the narrator, reading a short play in three voices.
[pause:0.6s]
[Alice] Hello Bob! [pause:300ms] Did you hear? One cache serves every engine now.
[Bob] Then a second run should cost nothing at all. [pause:0.4] Shall we try it?
[Alice|seed:7] Quickly, before the narrator notices!
[wait:0.5s]
The narrator noticed, of course. [pause:0.3s] And wrote every word to disk, once.
"""

#: A small subtitle file: two speakers, a long cue that needs fitting, a short gap.
DEMO_SRT = """\
1
00:00:00,500 --> 00:00:02,500
Subtitles keep their timing.

2
00:00:03,000 --> 00:00:05,000
[Alice] Every line starts when its cue appears.

3
00:00:05,200 --> 00:00:06,400
[Bob] Even a long line in a short cue like this one.

4
00:00:07,500 --> 00:00:09,000
And the timing report says what was done.
"""

#: The short story of the README and docs/markup.md (story.txt).
STORY = """\
Once upon a time, said the narrator.
[Alice] Hello Bob! [pause:0.5s] How are you?
[Bob] Fine, thank you.
[Alice|seed:42|temperature:0.6] A segment with its own parameters.
"""

#: Two cues, the second spoken by Alice (film.srt in docs/subtitles.md).
FILM_SRT = """\
1
00:00:00,000 --> 00:00:01,500
Hello there.

2
00:00:02,000 --> 00:00:03,500
[Alice] How are you?
"""

#: The characters of the voices folder: what each reference says, Piper's pace for it, and the
#: pitch it is moved by (semitones) so that an engine that clones hears two people.
_REFERENCES = {
    "Alice": ("Hello, I am Alice. I speak a little faster than Bob does.", 0.9, 3.0),
    "Bob": ("And I am Bob. I like to take my time when I speak.", 1.15, -3.0),
}

#: What `write_samples` writes: file name -> text (the voices folder is made by synthesis).
SAMPLE_FILES = {"story.txt": STORY, "script.txt": DEMO_SCRIPT, "talk.srt": DEMO_SRT, "film.srt": FILM_SRT}


def write_samples(directory: str | Path, kernel: Any) -> tuple[list[Path], list[Path]]:
    """Write the sample inputs the docs use into `directory`: story.txt, script.txt, talk.srt,
    film.srt and voices/ (Alice and Bob: reference audio spoken by Piper's bundled voice at two
    paces and pitches, with transcripts, in TTS Audio Suite's layout). Files that exist are
    kept as they are. Returns (written, kept)."""
    import pedalboard

    from polyvox.audio import Audio

    root = Path(directory).expanduser()
    (root / "voices").mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    kept: list[Path] = []

    def make(path: Path, write: Any) -> None:
        if path.exists():
            kept.append(path)
            return
        write(path)
        written.append(path)

    for name, text in SAMPLE_FILES.items():
        make(root / name, lambda path, text=text: path.write_text(text, encoding="utf-8"))
    for name, (text, pace, semitones) in _REFERENCES.items():
        def speak(path: Path, text: str = text, pace: float = pace, semitones: float = semitones) -> None:
            audio = kernel.synthesize(text, engine="piper", voice=_PIPER_VOICE, length_scale=pace,
                                      noise_scale=0.5, noise_w_scale=0.6)
            moved = pedalboard.PitchShift(semitones=semitones)(audio.samples[None, :], float(audio.sample_rate))[0]
            peak = float(abs(moved).max()) or 1.0
            Audio(moved * min(1.0, 0.9 / peak), audio.sample_rate).write(path)  # no clipping

        make(root / "voices" / f"{name}.wav", speak)
        make(root / "voices" / f"{name}.reference.txt",
             lambda path, text=text: path.write_text(text + "\n", encoding="utf-8"))
    return written, kept


#: Piper's bundled voice (a man) and hibari's (a woman), both in the default install. Without
#: hibari, the characters differ by Piper's pace and expressiveness alone.
_PIPER_VOICE = "en_US-joe-medium"
_HIBARI_VOICE = "heart"
_PIPER_CHARACTERS = {
    "Alice": {"length_scale": 0.85, "noise_scale": 0.8, "noise_w_scale": 1.0},
    "Bob": {"length_scale": 1.2, "noise_scale": 0.5, "noise_w_scale": 0.4},
}


def demo_voices(kernel: Any) -> dict[str, Any] | None:
    """Voices for the demo's characters from the default install: Alice speaks with hibari's
    ``heart``, Bob with Piper's ``joe`` at his own pace (the narrator keeps ``joe``'s own). With
    only Piper, both are ``joe`` with per-character parameters. None when Piper is not installed
    (the kernel then picks, and says when characters will sound the same)."""
    from polyvox.voices.voice import Voice

    owners = {voice: spec.name for spec in kernel.engines() for voice in spec.voices}
    if _PIPER_VOICE not in owners:
        return None
    cast = {name: Voice(name=name, model=_PIPER_VOICE, engine=owners[_PIPER_VOICE], params=params)
            for name, params in _PIPER_CHARACTERS.items()}
    if _HIBARI_VOICE in owners:
        cast["Alice"] = Voice(name="Alice", model=_HIBARI_VOICE, engine=owners[_HIBARI_VOICE])
    return cast


__all__ = ["DEMO_SCRIPT", "DEMO_SRT", "FILM_SRT", "SAMPLE_FILES", "STORY", "demo_voices", "write_samples"]
