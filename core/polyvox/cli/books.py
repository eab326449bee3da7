"""`render`'s options for books and mastering: --loudness, --acx and --split (docs/books.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

#: --acx: ACX's -3 dB peak ceiling, less half a dB the lossy encoders (AAC, MP3) add to peaks.
ACX_TRUE_PEAK = -3.5
#: --acx without --loudness: LUFS.
ACX_LOUDNESS = -18.0
#: --acx: each chapter's RMS in dB, the middle of ACX's -23 to -18 (room tone and pauses included).
ACX_RMS = -20.0
#: --acx: a room tone of this RMS in dB under every silence (ACX wants no digital zero; at most -60).
ACX_ROOM_TONE = -70.0


class _Loudness(click.FloatRange):
    """-70 to -5 LUFS; not NaN (a range lets it through: it compares false with both ends)."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        out = super().convert(value, param, ctx)
        if out != out:
            self.fail(f"{value} is not a loudness: give a number of LUFS from -70 to -5", param, ctx)
        return out


def book_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--split", type=click.Choice(("chapters",)), help="One file per chapter of a book, named "
                     "OUT-01-title.EXT, ..."),
        click.option("--acx", is_flag=True, help="ACX's rules: true peaks under -3.5 dBTP (-3 once encoded), "
                     "takes at -18 LUFS unless --loudness says otherwise, each chapter at -20 dB RMS, "
                     "a -70 dB room tone under the silences; check the file with `polyvox check --acx`."),
        click.option("--loudness", type=_Loudness(-70, -5), metavar="LUFS", help="Bring every take to this "
                     "loudness (ITU-R BS.1770) under a true-peak ceiling of -1 dBTP; audiobooks: -18 "
                     "(docs/books.md)."),
    ]
    for option in options:
        f = option(f)
    return f


def mastering_options(loudness: float | None, acx: bool, split: str | None, *, to_file: bool) -> dict[str, Any]:
    """The options as `run_render`'s `mastering` (kernel.render's loudness, true_peak, split)."""
    if split and not to_file:
        raise click.UsageError("--split chapters writes files: give -o FILE, without --stream")
    if not acx:
        return {"loudness": loudness, "true_peak": None, "split": split}
    import polyvox

    mastered = polyvox.Loudness(ACX_LOUDNESS if loudness is None else loudness, ACX_TRUE_PEAK, rms=ACX_RMS,
                                room_tone=ACX_ROOM_TONE, acx=True)
    return {"loudness": mastered, "true_peak": None, "split": split}
