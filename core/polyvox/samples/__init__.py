"""Built-in samples for `polyvox demo`: a script with several characters and pauses, and a
subtitle file. Kept as Python strings so they ship with the package without package data.

    from polyvox.samples import DEMO_SCRIPT
    kernel.render(DEMO_SCRIPT, voices=demo_voices(kernel), output="demo.wav")
"""

from __future__ import annotations

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


__all__ = ["DEMO_SCRIPT", "DEMO_SRT", "demo_voices"]
