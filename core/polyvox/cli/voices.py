"""`polyvox voices`: the characters a voices folder gives, and what is wrong with any of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from polyvox.cli.options import emit_json, escape, output_options, settings, state, stdout_console, table
from polyvox.errors import PolyvoxError


def _reference_info(path: Path | None) -> tuple[float | None, int | None, str | None]:
    """Duration, sample rate and the problem (unreadable file) of a reference recording."""
    if path is None:
        return None, None, None
    import soundfile as sf

    from polyvox import decoding

    if decoding.needs_av(path):
        try:
            duration, rate = decoding.info(path)
        except PolyvoxError as exc:
            return None, None, f"unreadable audio ({exc})"
        return round(duration, 3), rate, None
    try:
        info = sf.info(str(path))
    except Exception as exc:  # noqa: BLE001 (soundfile raises several types for unreadable files)
        reason = str(exc).splitlines()[0].rsplit(": ", 1)[-1].rstrip(".") if str(exc) else type(exc).__name__
        return None, None, f"unreadable audio ({reason})"
    return round(float(info.duration), 3), int(info.samplerate), None


def _alias_of(voice: Any) -> str | None:
    """The file or engine voice a character borrows, when its name differs from it."""
    if voice.audio is not None and voice.audio.stem.lower() != voice.name.lower():
        return voice.audio.stem
    if voice.audio is None and voice.model:
        # a model file by its name (en_US-joe-medium.onnx); an engine voice or a blend as it is
        # (jf_alpha:0.5+jm_kumo:0.5 has no file ending to lose)
        shown = Path(voice.model).stem if voice.model.lower().endswith(".onnx") else voice.model
        return shown if shown.lower() != voice.name.lower() else None
    return None


def describe(kernel: Any, library: Any) -> list[dict[str, Any]]:
    """One record per character: where its voice comes from and any problem with it."""
    needs_text = sorted(s.name for s in kernel.engines() if s.capabilities.needs_reference_text)
    rows = []
    for name in sorted(library, key=str.lower):
        voice = library[name]
        duration, rate, problem = _reference_info(voice.audio)
        problems = [problem] if problem else []
        if voice.audio is not None and not voice.reference_text and needs_text:
            problems.append(f"no transcript ({voice.audio.stem}.reference.txt); needed by {', '.join(needs_text)}")
        rows.append({
            "character": voice.name,
            "alias_of": _alias_of(voice),
            "reference_audio": str(voice.audio) if voice.audio else None,
            "reference_text": voice.reference_text is not None,
            "duration": duration,
            "sample_rate": rate,
            "model": voice.model,
            "engine": voice.engine,
            "language": voice.language,
            "params": dict(voice.params),
            "problems": problems,
        })
    for name, message in sorted(getattr(library, "refused", {}).items()):
        rows.append({"character": name, "alias_of": None, "reference_audio": None, "reference_text": False,
                     "duration": None, "sample_rate": None, "model": None, "engine": None, "language": None,
                     "params": {}, "problems": [message]})
    return rows


def engine_voices(kernel: Any) -> list[dict[str, Any]]:
    """The voices installed engines speak with built in (Piper's voice files), and each engine
    that clones a voice from reference audio instead."""
    from polyvox import voice_language

    rows = []
    for spec in kernel.engines():
        clones = spec.capabilities.uses_reference_audio
        single = spec.languages[0] if len(spec.languages) == 1 else None
        for voice in spec.voices:
            language = spec.voice_language(voice) or voice_language(voice) or single
            rows.append({"voice": voice, "engine": spec.name, "language": language,
                         "clones": clones})
        if clones:
            rows.append({"voice": None, "engine": spec.name, "language": ", ".join(spec.languages),
                         "clones": True})
    return rows


@click.command(short_help="Installed engines' voices, and the characters of a voices folder.")
@click.option("--voices", metavar="DIR", help="Voices folder [env POLYVOX_VOICES].")
@output_options
def voices(voices: str | None) -> None:
    """The voices installed engines speak with, and (with --voices DIR or POLYVOX_VOICES) the
    characters of a voices folder: aliases, references, transcripts and problems."""
    conf = settings(voices=voices)
    folder = conf.value("voices")
    kernel = conf.kernel(cache=False)
    builtin = engine_voices(kernel)
    library = kernel.voice_library(folder) if folder else None
    rows = describe(kernel, library) if library is not None else []
    st = state()
    if st.json:
        emit_json({"engine_voices": builtin, "folders": [str(f) for f in library.folders] if library else [],
                   "voices": rows, "warnings": list(library.warnings) if library else []})
        return
    if st.quiet:
        return
    console = stdout_console()
    own = table("voice", "engine", "language", "clones", title="Engine voices")
    for row in builtin:
        own.add_row(escape(row["voice"] or "(any reference audio)"), escape(row["engine"]),
                    escape(row["language"] or "–"), "yes" if row["clones"] else "no")
    console.print(own if builtin else "[yellow]no engine installed[/]")
    if library is None:
        console.print("[dim]give --voices DIR (or set POLYVOX_VOICES) to list a voices folder's characters[/]")
        return
    listing = table("character", "voice", "transcript", "duration", "rate", "language", "status",
                    title=f"Voices in {folder}")
    for row in rows:
        if row["alias_of"]:
            source = escape(f"→ {row['alias_of']}")
        else:
            source = escape(Path(row["reference_audio"]).name if row["reference_audio"] else row["model"] or "–")
        if row["params"]:
            source += " " + escape(" ".join(f"{k}:{v}" for k, v in row["params"].items()))
        transcript = ("yes" if row["reference_text"] else "[yellow]missing[/]") if row["reference_audio"] else "–"
        status = "[red]problem[/]" if row["problems"] else "[green]ok[/]"
        listing.add_row(escape(row["character"]), source, transcript,
                      f"{row['duration']:.1f} s" if row["duration"] is not None else "–",
                      f"{row['sample_rate']} Hz" if row["sample_rate"] else "–", row["language"] or "–", status)
    console.print(listing if rows else f"[yellow]no voices found in {escape(str(folder))}[/]")
    for row in rows:
        for problem in row["problems"]:
            console.print(f"[red]{escape(row['character'])}: {escape(problem)}[/]")
    for warning in library.warnings:
        console.print(f"[yellow]warning: {escape(warning)}[/]")
