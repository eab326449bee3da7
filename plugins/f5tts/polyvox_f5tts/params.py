"""The engine's parameters: upstream's defaults, with the ranges in which they make sense.

The seed is not among them: the kernel owns it (``seed=`` on a render or a segment) and hands
it to every call as `Request.seed`.
"""

from __future__ import annotations

from polyvox import ParamSpec

#: The kernel's chunk size for F5: upstream's chunk rule (`max_chars` in `infer_process`) on
#: upstream's own example reference, infer/examples/basic/basic_ref_en.wav: 4.96 s once clipped,
#: transcript "Some call me nature, others call me mother nature. " (52 bytes):
#: int(52 / 4.96 * (22 - 4.96)) = 175. A chunk that does not fit beside the actual reference is
#: split again by the engine with the same rule.
TYPICAL_MAX_CHARS = 175
#: Upstream's crossfade between the passes of one text; the engine asks the kernel to join its
#: chunks the same way.
CROSSFADE_SECONDS = 0.15

PARAMS = (
    ParamSpec("nfe_step", 32, type="int", min=4, max=128, aliases=("steps",),
              help="sampling steps (function evaluations): fewer is faster, 16-32 is upstream's range"),
    ParamSpec("cfg_strength", 2.0, min=0.0, max=10.0, aliases=("cfg", "cfg_weight"),
              help="classifier-free guidance: how closely speech follows the text and voice"),
    ParamSpec("sway_sampling_coef", -1.0, min=-1.0, max=1.0, aliases=("sway",),
              help="sway sampling: negative values spend more steps early in the flow"),
    ParamSpec("speed", 1.0, min=0.3, max=3.0,
              help="speaking rate relative to the reference voice (sets the generated length)"),
    ParamSpec("cross_fade_duration", CROSSFADE_SECONDS, min=0.0, max=1.0, aliases=("cross_fade",),
              help="seconds of crossfade where a segment too long for one pass is joined"),
    ParamSpec("target_rms", 0.1, min=0.01, max=1.0,
              help="loudness a quieter reference is raised to before conditioning", affects_voice=True),
    ParamSpec("fix_duration", None, min=0.1, max=30.0, required=False,
              help="seconds of speech to generate for the segment, instead of the estimate"),
)
