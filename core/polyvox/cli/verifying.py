"""`render`'s --verify options (docs/listening.md): the listener that hears the takes, how many
retakes, how wrong a take may be."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def verify_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--retake-failed", is_flag=True, help="With --verify: retake only the segments that still "
                     "failed in an earlier run (the others come from the cache, unheard)."),
        click.option("--max-wer", type=click.FloatRange(0.0, 1.0), help="With --verify: the word error rate a "
                     "take may have (a dropped or repeated word weighs 4 misheard ones) [default: 0.2]."),
        click.option("--retakes", type=click.IntRange(0, 100), help="With --verify: new takes, each with another "
                     "seed, a failing segment may get [default: 2]."),
        click.option("--listener", metavar="NAME[:MODEL]", help="With --verify: the listener that hears the takes "
                     "[default: the best installed, e.g. whisper:tiny.en]."),
        click.option("--verify", is_flag=True, help="Hear every take (a listener such as polyvox-whisper), retake "
                     "the ones whose words, language or audio are wrong, keep the best; with --strict a segment "
                     "that still fails is an error (docs/listening.md)."),
    ]
    for option in options:
        f = option(f)
    return f


def verify_settings(verify: bool, listener: str | None, retakes: int | None, max_wer: float | None,
                    retake_failed: bool) -> Any:
    """--verify and its options as `VerifyOptions` (None without --verify)."""
    if not verify:
        given = [name for name, value in (("--listener", listener), ("--retakes", retakes),
                                          ("--max-wer", max_wer), ("--retake-failed", retake_failed or None))
                 if value is not None]
        if given:
            raise click.UsageError(f"{', '.join(given)} only work with --verify")
        return None
    from polyvox import VerifyOptions

    fields: dict[str, Any] = {"listener": listener, "retake_failed": retake_failed}
    if retakes is not None:
        fields["retakes"] = retakes
    if max_wer is not None:
        fields["max_wer"] = max_wer
    return VerifyOptions(**fields)
