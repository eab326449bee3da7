"""Built-in samples for `polyvox demo`: a script with several characters and pauses, and a
subtitle file. Kept as Python strings so they ship with the package without package data.

    from polyvox.samples import DEMO_SCRIPT
    kernel.render(DEMO_SCRIPT, output="demo.wav")
"""

from __future__ import annotations

#: Several characters, a language tag, per-segment parameters and pauses of every spelling.
DEMO_SCRIPT = """\
Welcome to polyvox. This is the narrator, reading a short play in three voices.
[pause:0.6s]
[Alice] Hello Bob! [pause:300ms] Did you hear? One cache serves every engine now.
[Bob] Then a second run should cost nothing at all. [pause:0.4] Shall we try it?
[Alice|length_scale:0.9] Quickly, before the narrator notices!
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

__all__ = ["DEMO_SCRIPT", "DEMO_SRT"]
