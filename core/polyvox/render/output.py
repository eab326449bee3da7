"""Where a render's audio goes: `AudioWriter` takes `Audio` chunks at any rate and writes
them at one, to a file written atomically or to a binary stream (`polyvox.audiofile`)."""

from __future__ import annotations

from polyvox.audio import Audio
from polyvox.audiofile import SampleWriter


class AudioWriter(SampleWriter):
    """Write `Audio` chunks at one sample rate to a path or a binary stream.

        with AudioWriter("out/book.flac", 24000) as out:
            for chunk in kernel.stream(text):
                out.write(chunk)

    A path is written as ``.NAME.partial.EXT`` and renamed over NAME when the `with` block
    ends without an error; on an error the partial file is removed and NAME is untouched.
    """

    def write(self, audio: Audio) -> None:
        """Append `audio`, resampled to this writer's rate."""
        self.write_samples(audio.resample(self.sample_rate).samples)
