"""Giving characters voices the engine can actually use.

A character whose voice is reference audio (``Alice.wav``) sounds like the narrator when the
engine that speaks it does not clone voices (Piper). When that engine has built-in voices to
spare in the character's language, the character gets one of them instead, so a script with
several characters sounds like several voices wherever the installed engines can offer them.
Voices a script already uses are never handed out twice. A voice's language is read from its
id when the id starts with a language tag (``en_GB-alan-medium``); others are not guessed at.
After planning, `check_jobs` refuses a voice its engine cannot use (no reference audio, no
transcript) and says once when characters that should differ will sound the same.

A character no voice names speaks with the narrator's voice, unless the render asks for
``cast="auto"``: then `cast_auto` gives each one a distinct installed voice of its language,
the same on every run (SHA-256 hashes of its name and each voice rank the voices it may have).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from polyvox.errors import VoiceError
from polyvox.text import languages
from polyvox.voices.blending import resolve_voice, tag_blend
from polyvox.voices.library import AUDIO_EXTENSIONS
from polyvox.voices.voice import DEFAULT_VOICE, Voice


class Overlay(Mapping[str, Voice]):
    """`extra` voices (by lower-case name) in front of a base mapping."""

    def __init__(self, base: Mapping[str, Voice] | None, extra: Mapping[str, Voice]):
        self.base = base or {}
        self.extra = {k.lower(): v for k, v in extra.items()}
        self.warnings = ()  # the base's warnings were given already

    def __getitem__(self, name: str) -> Voice:
        if isinstance(name, str) and name.lower() in self.extra:
            return self.extra[name.lower()]
        return self.base[name]

    def __contains__(self, name: object) -> bool:
        return (isinstance(name, str) and name.lower() in self.extra) or name in self.base

    def __iter__(self) -> Iterator[str]:
        yield from (v.name for v in self.extra.values())
        yield from (k for k in self.base if k.lower() not in self.extra)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def narrator_voice(voice: str | Voice | None, voices: Mapping[str, Voice] | None, specs: Sequence[Any]) -> Voice:
    """The narrator: a Voice, a character of `voices`, an .onnx or audio file, or a voice of one of
    the engines `specs` (in rank order) or a blend of them, spoken by the engine that has it
    unless the render names another."""
    if isinstance(voice, Voice):
        return voice
    if voice is None:  # the voices folder's `Narrator = X` line, else the engine's own voice
        return getattr(voices, "narrator", None) or DEFAULT_VOICE
    if voices and voice in voices:
        return voices[voice]
    path = Path(voice)
    if path.suffix.lower() == ".onnx":
        return Voice(name=path.stem, model=str(path))
    if path.is_file():
        return Voice(name=path.stem, audio=path)
    if path.suffix.lower() in AUDIO_EXTENSIONS:  # meant as a reference recording
        what = "is a directory" if path.is_dir() else "does not exist"
        raise VoiceError(f"narrator {voice!r}: the audio file {what}; give an audio file, a character of the "
                         "voices folder or an engine voice id")
    found = resolve_voice(voice, specs)  # an engine voice, or a blend of them
    if found is None:  # a model an engine declares but has not here (Kokoro's af_heart): that engine says so
        owner = next((spec.name for spec in specs if voice in spec.models), None)
        return Voice(name=voice, model=voice, engine=owner)
    return Voice(name=voice, model=found[1], engine=found[0])


def recast(jobs: Sequence[Any], specs: Mapping[str, Any], warn: Callable[[str, str], None]) -> dict[str, Voice]:
    """Character -> a built-in voice of its engine, for characters whose reference audio
    that engine cannot use. Empty when nothing needs (or can get) another voice."""
    in_use = {job.model for job in jobs if job.request is not None}
    waiting: dict[str, Any] = {}
    for job in jobs:
        if job.request is None or not job.segment.character:
            continue
        voice = job.request.voice
        if voice.audio is not None and not voice.model and not specs[job.engine].capabilities.uses_reference_audio:
            waiting.setdefault(job.segment.character.lower(), job)
    out: dict[str, Voice] = {}
    for key, job in waiting.items():
        spare = [v for v in specs[job.engine].voices if v not in in_use and _speaks(v, job.request.language)]
        if spare:
            in_use.add(spare[0])
            out[key] = attrs.evolve(job.request.voice, model=spare[0], engine=job.engine)
    if out:
        given = ", ".join(f"{waiting[k].segment.character} -> {v.model}" for k, v in out.items())
        warn("auto-voice", f"these characters have reference audio that engine "
             f"{waiting[next(iter(out))].engine!r} cannot clone, so they speak with its own voices: {given}")
    return out


#: What a character the voices do not name speaks with: the narrator's voice (one warning per
#: character, TTS Audio Suite's meaning), or a distinct installed voice of its own.
CAST_MODES = ("narrator", "auto")


def check_cast(value: str | None) -> str:
    """`value` as a casting mode (None: "narrator"); else a one-line `VoiceError`."""
    mode = "narrator" if value is None else str(value).strip().lower()
    if mode not in CAST_MODES:
        raise VoiceError(f"cast {value!r} is not allowed: expected one of {', '.join(CAST_MODES)}")
    return mode


def unvoiced(characters: Iterable[str | None], voices: Mapping[str, Voice]) -> list[str]:
    """The characters `voices` has no voice for, once each, in order of first appearance."""
    out: dict[str, str] = {}
    for name in characters:
        if name and name.lower() not in out and name not in voices and name.lower() not in voices \
                and not tag_blend(name):  # a blend in a tag is its own voice
            out[name.lower()] = name
    return list(out.values())


def cast_auto(jobs: Sequence[Any], names: Sequence[str], specs: Sequence[Any], engine: str | None,
              warn: Callable[[str, str], None]) -> dict[str, Voice]:
    """Character -> a distinct built-in voice, for each of `names` (characters with no voice).

    Jobs come from a plan where those characters spoke with the narrator's voice; the voices
    that plan uses for anyone else are taken. A character may have any installed voice (`specs`
    in rank order; only `engine`'s when the render names one) of the language it speaks first,
    whose engine also speaks every other language it speaks. Each character ranks those voices
    by a stable hash of its name and the voice and takes the first one free, in order of first
    appearance: the same names and installed voices give the same voices on every run, a
    character added at the end moves no one, and one added earlier moves another only where it
    takes that one's choice. When the voices run out, characters share them, and a warning says so."""
    wanted = {n.lower() for n in names}
    taken: set[tuple[str, str]] = set()
    spoken: dict[str, list[str]] = {}  # character -> its languages (bases), the first first
    for job in jobs:
        if job.request is None:
            continue
        who = (job.segment.character or "").lower()
        if who in wanted:
            bases = spoken.setdefault(who, [])
            if job.request.language.split("-")[0] not in bases:
                bases.append(job.request.language.split("-")[0])
        else:
            taken.add((job.engine, job.model))
    first_language = {job.segment.character.lower(): job.request.language for job in reversed(jobs)
                      if job.request is not None and (job.segment.character or "").lower() in wanted}
    offered = [(spec.name, v, (spec.voice_language(v) or voice_language(v) or "").split("-")[0],
                {lang.split("-")[0] for lang in spec.languages})
               for spec in specs if engine in (None, spec.name) for v in spec.voices]
    out: dict[str, Voice] = {}
    short: list[str] = []
    for name in names:
        bases = spoken.get(name.lower())
        if bases is None:  # spoke no words
            continue
        fits = [(e, v) for e, v, tag, speaks in offered if tag == bases[0] and speaks.issuperset(bases)]
        if not fits:  # no installed voice speaks its languages: the narrator's
            short.append(name)
            continue
        free = [pick for pick in fits if pick not in taken]
        if not free:  # all taken: share one
            short.append(name)
            free = fits
        owner, voice = max(free, key=lambda pick: _stable_hash(f"{name}\0{pick[0]}/{pick[1]}"))
        taken.add((owner, voice))
        out[name.lower()] = Voice(name=name, model=voice, engine=owner, language=first_language[name.lower()])
    if short:
        warn("cast", f"not enough installed voices for every character to sound different: "
             f"{_listing(short)} {'shares' if len(short) == 1 else 'share'} a voice with another character (or "
             "keeps the narrator's, where no installed voice speaks its languages); install more voices, or name "
             "them in a voices folder")
    return out


def _stable_hash(name: str) -> int:
    """The same number for the same name in every process (Python's hash() is salted)."""
    return int.from_bytes(hashlib.sha256(name.lower().encode("utf-8")).digest()[:8], "big")


def voice_language(voice_id: str) -> str | None:
    """The language a voice id starts with (``en_GB-alan-medium`` -> ``en-gb``), else None."""
    return languages.normalize(re.split(r"-(?=[a-z])", voice_id, maxsplit=1)[0].replace("_", "-"))


def _speaks(voice_id: str, language: str) -> bool:
    tag = voice_language(voice_id)
    return tag is not None and tag.split("-")[0] == language.split("-")[0]


def check_jobs(jobs: Sequence[Any], specs: Mapping[str, Any], warn: Callable[[str, str], None]) -> None:
    """After planning: refuse voices an engine cannot use, and say once when characters
    that should sound different will sound the same."""
    said: set[str] = set()

    def once(kind: str, message: str) -> None:
        if message not in said:
            said.add(message)
            warn(kind, message)

    sounds: dict[tuple[Any, ...], list[str]] = {}
    for job in jobs:
        if job.request is None:
            continue
        spec = specs[job.engine]
        voice: Voice = job.request.voice
        who = job.segment.character or "the narrator"
        caps = spec.capabilities
        if caps.needs_reference_audio and voice.audio is None:
            raise VoiceError(f"engine {job.engine!r} needs reference audio, but the voice of {who} "
                             f"({voice.name!r}) has none: put {voice.name}.wav in a voices folder and "
                             "name it (--voices DIR or POLYVOX_VOICES; voices= in Python)")
        if caps.needs_reference_text and voice.audio is not None and not voice.reference_text:
            raise VoiceError(f"engine {job.engine!r} needs the transcript of {str(voice.audio)!r} ({who}): "
                             f"write it to {voice.audio.stem}.reference.txt or {voice.audio.stem}.txt beside it")
        clones = caps.needs_reference_audio or (voice.audio is not None and not voice.model)
        if voice.audio is not None and not caps.uses_reference_audio and not voice.model \
                and voice.engine in (None, job.engine):
            once("voice-not-cloned", f"engine {job.engine!r} does not clone voices: {who}'s reference audio "
                 f"{voice.audio.name!r} is not used; give {who} one of the engine's own voices instead")
            clones = False
        identity = (job.engine, job.model, str(voice.audio) if clones else None,
                    tuple(sorted((k, str(v)) for k, v in job.request.params.items())))
        names = sounds.setdefault(identity, [])
        character = job.segment.character or "narrator"
        if character not in names:
            names.append(character)
    shared = [(identity, names) for identity, names in sounds.items() if len(names) > 1]
    if shared:
        groups = "; ".join(_listing(names) for _, names in shared)
        engine = shared[0][0][0]
        offered = ", ".join(specs[engine].voices) or "none"
        once("same-voice", f"{groups} will sound the same: give each character its own voice (a voice file in "
             f"the voices folder, or an alias line naming an engine voice; {engine!r} offers: {offered})")


def _listing(names: list[str]) -> str:
    shown = [n if n != "narrator" else "the narrator" for n in sorted(names, key=lambda n: n == "narrator")]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
