"""After a render: the summary table (stderr) and the ``--json`` object (stdout).

Both are built from the kernel's `RenderResult`, for streamed renders too; nothing here
computes audio or timing.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from polyvox.cli.options import escape

if TYPE_CHECKING:
    from rich.table import Table

#: Bumped when a key of the --json object changes meaning or disappears.
JSON_SCHEMA_VERSION = 1


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 60:
        return f"{value:.2f} s"
    minutes, seconds = divmod(value, 60)
    return f"{int(minutes)} min {seconds:04.1f} s"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def rtf_text(rtf: float | None) -> str:
    if rtf is None:
        return "–"
    if rtf <= 0:
        return "0 (everything from the cache)"
    speed = 1 / rtf
    return f"{rtf:.3f} ({speed:.1f}× faster than real time)" if speed >= 1 else f"{rtf:.2f} (slower than real time)"


def timing_actions(timing: Any) -> dict[str, int]:
    """How many subtitle cues each fitting action touched (from the kernel's timing report)."""
    counts: Counter[str] = Counter()
    for cue in timing or ():
        action = cue.get("action") if isinstance(cue, dict) else getattr(cue, "action", None)
        if action:
            counts[str(action)] += 1
    return dict(counts)


def summary_table(summary: dict[str, Any]) -> Table:
    """The table printed after every render, from the `--json` object."""
    from rich.table import Table

    stats = summary["stats"]
    table = Table(title="Render summary", title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    pauses = stats["segments"] - stats["speech_segments"]
    table.add_row("Segments", f"{stats['speech_segments']} spoken: [green]{stats['synthesized']} synthesized[/], "
                  f"[blue]{stats['cached']} from cache[/]" + (f"; {_count(pauses, 'pause')}" if pauses else ""))
    table.add_row("Audio", _seconds(stats["audio_seconds"]))
    loading = stats.get("model_load_seconds") or 0.0
    if stats["model_loads"] and loading > 0:
        # A model loads once per process: counted apart, so the speed shown is the synthesis's.
        table.add_row("Wall time", f"{_seconds(stats['wall_seconds'])}: {_seconds(loading)} loading models, "
                                   f"{_seconds(max(0.0, stats['wall_seconds'] - loading))} synthesizing")
        table.add_row("Real-time factor", rtf_text(stats["synthesis_real_time_factor"]) + ", model loads not counted")
    else:
        table.add_row("Wall time", _seconds(stats["wall_seconds"]))
        table.add_row("Real-time factor", rtf_text(stats["real_time_factor"]))
    table.add_row("Model loads", str(stats["model_loads"]))
    chapters = summary.get("chapters") or []
    if chapters:
        table.add_row("Chapters", f"{len(chapters)}: " + escape(", ".join(c["title"] for c in chapters[:4]))
                      + (", ..." if len(chapters) > 4 else ""))
    cast = summary.get("cast") or {}
    if len(cast) > 1:  # who spoke with which voice, where there was more than one speaker
        table.add_row("Voices", escape(", ".join(f"{who} → {v['model']} ({v['engine']})" for who, v in cast.items())))
    heard = summary.get("verification")
    if heard:
        worst = "–" if heard["worst_wer"] is None else f"{heard['worst_wer']:.2f}"
        failing = heard["still_failing"]
        table.add_row("Heard", f"{heard['segments_heard']} takes by {escape(heard['listener'])}; "
                      f"{heard['retaken']} segments retaken; worst word error rate {worst}")
        table.add_row("Still failing", "[red]" + escape(_failing(heard)) + "[/]" if failing else "none")
    actions = summary.get("timing_actions") or {}
    if actions:
        table.add_row("Subtitle cues", ", ".join(f"{n} {action}" for action, n in sorted(actions.items())))
    warnings = summary["warnings"]
    table.add_row("Warnings", "[yellow]" + escape("\n".join(warnings)) + "[/]" if warnings else "none")
    return table


def _failing(heard: dict[str, Any]) -> str:
    lines = []
    for seg in heard["segments"]:
        if not seg["passed"]:
            verdict = seg["verdict"]
            lines.append(f"{seg['index']}: {', '.join(verdict['flags'])} (heard {verdict['heard'].strip()!r})")
    return "\n".join(lines[:5]) + (f"\n... {len(lines) - 5} more" if len(lines) > 5 else "")


def segment_dicts(result: Any) -> list[dict[str, Any]]:
    out = []
    for seg in result.segments:
        out.append({
            "index": seg.index, "character": seg.segment.character, "language": seg.language,
            "engine": seg.engine, "model": seg.model, "voice": seg.voice, "cached": seg.cached,
            "start": round(seg.start, 4), "duration": round(seg.duration or 0.0, 4),
            "pause": seg.engine is None, "text": seg.segment.written,
            "words": [w.to_dict() for w in seg.words],
        })
    return out


def cast_of(result: Any) -> dict[str, dict[str, str | None]]:
    """Speaker -> the model it spoke with (an engine's voice id; a model file by its name), its
    voice's name and its engine, from its first spoken segment, in order of first appearance;
    "narrator" for lines without a character."""
    from pathlib import PurePath

    out: dict[str, dict[str, str | None]] = {}
    for seg in result.segments:
        who = seg.segment.character or "narrator"
        if seg.engine and who not in out:
            model = PurePath(seg.model).stem if seg.model and seg.model.endswith(".onnx") else seg.model
            out[who] = {"model": model, "voice": seg.voice, "engine": seg.engine}
    return out


def from_result(result: Any, *, source: str, outputs: dict[str, str | None]) -> dict[str, Any]:
    """The `--json` object of a finished render (streamed or not)."""
    stats = result.stats.to_dict()
    heard = {"verification": result.verification.to_dict()} if getattr(result, "verification", None) else {}
    return {
        "schema": JSON_SCHEMA_VERSION, "input": source, "outputs": outputs, "sample_rate": result.sample_rate,
        "duration": round(result.stats.audio_seconds, 4), "cancelled": False, "stats": stats,
        "warnings": list(result.warnings), "timing_actions": timing_actions(result.timing),
        "cast": cast_of(result),
        "chapters": [c.to_dict() for c in getattr(result, "chapters", ())],
        "segments": segment_dicts(result), **heard,
        "words": [w.to_dict() for w in result.words],
    }
