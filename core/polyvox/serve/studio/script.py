"""What the studio reads from a script before anything is spoken: its characters, its segments
and the markup's warnings (each with its line), the voices a cast may pick from, and a cast the
kernel chooses itself (``cast="auto"``). Synchronous: called in worker threads."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import polyvox
from polyvox import Voice
from polyvox.errors import PolyvoxError
from polyvox.events import Warning as RenderWarning
from polyvox.serve.errors import bad_request, from_polyvox
from polyvox.serve.speech import SpeechService

#: The cast's name for whoever speaks outside any tag.
NARRATOR = "narrator"

_LINE = re.compile(r"\bline (\d+)")
_CHAPTER = re.compile(r"^chapter (\d+) ")
#: A chapter's place and the line in it that a warning opens with.
_PLACE = re.compile(r"^chapter \d+ \(.*?\): line \d+")


def source_of(text: str) -> str:
    """The text to render (a script, or SRT text), refused when there is nothing in it."""
    if not text.strip():
        raise bad_request("the script is empty: write or open one", "script", "empty_input")
    return text


def read(service: SpeechService, text: Any, cast: Mapping[str, str] | None = None,
         offsets: list[int] | None = None) -> dict[str, Any]:
    """The script (text, or a `Book` read from it) as the kernel plans it: characters, segments
    and warnings (nothing spoken); a book's warnings are placed on the script's lines by each
    chapter's line `offsets`."""
    voice, voices = resolve_cast(service, cast or {})
    warnings: list[dict[str, Any]] = []

    def note(event: Any) -> None:
        if isinstance(event, RenderWarning):
            message = event.message
            found = _LINE.search(message)
            line = int(found.group(1)) if found else None
            chapter = _CHAPTER.match(message)
            if line is not None and offsets and chapter and int(chapter.group(1)) <= len(offsets):
                line += offsets[int(chapter.group(1)) - 1]
                # "chapter 2 (The End): line 1, column 9: …" as the script's own line: "line 8, column 9: …"
                message = _PLACE.sub(f"line {line}", message, count=1)
            warnings.append({"message": message, "kind": event.kind, "line": line})

    try:
        stream = service.kernel.stream(text, voice=voice, voices=voices, on_event=note)
    except PolyvoxError as exc:
        raise from_polyvox(exc) from None
    try:
        jobs = stream.jobs
    finally:
        stream.close()
    characters: list[str] = []
    for job in jobs:
        name = job.segment.character or NARRATOR
        if job.request is not None and name not in characters:
            characters.append(name)
    segments = [{"index": j.index, "text": j.segment.written, "character": j.segment.character or NARRATOR,
                 "line": j.segment.line, "pause": j.segment.pause if j.request is None else 0.0,
                 "engine": j.engine, "voice": j.request.voice.name if j.request is not None else None}
                for j in jobs]
    return {"characters": characters, "segments": segments, "warnings": warnings,
            "subtitles": polyvox.is_subtitles(text)}


def auto_cast(service: SpeechService, text: str) -> dict[str, str]:
    """Each character with a distinct installed voice, as the kernel casts them (the same on every run)."""
    try:
        jobs = service.kernel.plan(text, voices=service.server_voices(), cast="auto")
    except PolyvoxError as exc:
        raise from_polyvox(exc) from None
    cast: dict[str, str] = {}
    for job in jobs:
        voice = job.request.voice if job.request is not None else None
        if voice is None or not job.segment.character:
            continue  # the narrator keeps the voice the page shows
        if voice.audio is None and voice.model:  # an engine's own voice, named as the voice menus name it
            cast.setdefault(job.segment.character, voice.model)
        elif voice.audio is not None:  # an uploaded or folder voice, by its name
            cast.setdefault(job.segment.character, voice.name)
    return cast


def resolve_cast(service: SpeechService, cast: Mapping[str, str]) -> tuple[Voice | None, dict[str, Voice]]:
    """(the narrator's voice, character -> voice) for a cast of voice names; a name the server
    does not know is a 404 naming it."""
    voices: dict[str, Voice] = dict(service.server_voices())
    narrator = None
    for character, name in cast.items():
        if not name:
            continue
        voice = service.resolve_voice(name, None)
        if voice is None:  # an OpenAI name with no mapping: the default voice
            continue
        if character == NARRATOR:
            narrator = voice
        else:
            voices[character] = voice
            voices[character.lower()] = voice
    return narrator, voices


def voice_list(service: SpeechService) -> dict[str, Any]:
    """What a cast may pick: uploads and the voices folder, every engine's voices, and the
    engines (with their models, and whether they blend voices)."""
    voices: list[dict[str, Any]] = []
    seen: set[str] = set()
    for voice_id, voice in service.store.all():
        voices.append({"id": voice.name, "label": f"{voice.name} (uploaded)", "engine": None, "kind": "upload",
                       "upload_id": voice_id})
        seen.update((voice.name.lower(), voice_id.lower()))  # the folder holds it under its id too
    for name in service.kernel.voice_library(service.store.folder):
        if name.lower() not in seen:
            seen.add(name.lower())
            voices.append({"id": name, "label": f"{name} (voices folder)", "engine": None, "kind": "folder"})
    engines = []
    for spec in service.kernel.engines():
        engines.append({"name": spec.name, "models": list(spec.models), "voices": list(spec.voices),
                        "languages": list(spec.languages), "blends": bool(spec.capabilities.blends),
                        "description": spec.description})
        for name in spec.voices:
            if name.lower() not in seen:
                seen.add(name.lower())
                voices.append({"id": name, "label": f"{name} ({spec.name})", "engine": spec.name, "kind": "engine"})
    return {"voices": voices, "engines": engines}
