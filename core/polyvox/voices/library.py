"""The voice library: characters' voices from folders in TTS Audio Suite's layout.

    voices/
      Alice.wav                 reference audio; the file's stem is the character
      Alice.reference.txt       what Alice.wav says (or Alice.txt, also when this one is empty)
      Dave.aac, Eve.m4a         AAC, MP4 and WebM references are read through PyAV (`polyvox.decoding`)
      en/Bob.flac               sub-folders are fine
      Carol.onnx, Carol.onnx.json   a voice that is an engine's model (Piper); found by the
                                    engines' `find_voices` hook, never by name here
      #character_alias_map.txt  Alias = Target[, language][ | key:value ...]
                                ``Narrator = X`` gives the narrator (untagged lines) X's voice

Targets of an alias: a voice in the library, a voice an engine has built in
(``Dave = en_US-joe-medium``), or a file relative to the folder. Later folders override
earlier ones; inside one folder an alias overrides a file of the same name. No name and no
file may reach outside the folders: ``../``, absolute paths and symlinks that escape are
refused with a `VoiceError`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from polyvox.errors import VoiceError
from polyvox.text import languages
from polyvox.text.encoding import decode_text
from polyvox.text.tags import parameter_value
from polyvox.voices.blending import model_id
from polyvox.voices.voice import Voice

#: TAS documents the first six; inside ComfyUI it keeps any file whose MIME type is audio or
#: video, so its voice folders may also hold Opus, AIFF, WebM and MP4 references.
AUDIO_EXTENSIONS = (".wav", ".mp3", ".flac", ".ogg", ".m4a", ".aac",
                    ".opus", ".aif", ".aiff", ".webm", ".mp4")
ALIAS_FILE = "#character_alias_map.txt"
#: The older JSON form, read when the text file is absent.
LEGACY_ALIAS_FILE = "character_alias_map.json"
#: How deep an alias may point at another alias.
_MAX_ALIAS_DEPTH = 8

FindVoices = Callable[[str], Iterable[Voice]]


@attrs.frozen
class _Alias:
    name: str
    target: str
    language: str | None
    params: Mapping[str, Any]
    folder: int
    root: Path
    where: str


class VoiceLibrary(Mapping[str, Voice]):
    """Character name -> `Voice`, case-insensitive. Build one with `VoiceLibrary.scan`."""

    def __init__(self, voices: Mapping[str, Voice] | None = None, *, folders: Sequence[Path] = (),
                 warnings: Sequence[str] = (), refused: Mapping[str, str] | None = None):
        self._voices = {k.lower(): v for k, v in (voices or {}).items()}
        self.folders = tuple(folders)
        #: Problems met while scanning (bad alias lines, unknown targets), one line each.
        self.warnings = tuple(warnings)
        self._refused = {k.lower(): v for k, v in (refused or {}).items()}
        #: Names the folders name but could not give a voice (lower case), and why, one line each.
        self.refused: Mapping[str, str] = dict(self._refused)

    # -- Mapping ----------------------------------------------------------------------------
    def __getitem__(self, name: str) -> Voice:
        check_name(name)
        key = name.lower()
        if key in self._refused:
            raise VoiceError(self._refused[key])
        return self._voices[key]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._voices and "/" not in name and "\\" not in name

    def __iter__(self) -> Iterator[str]:
        return iter(v.name for v in self._voices.values())

    def __len__(self) -> int:
        return len(self._voices)

    def __repr__(self) -> str:
        return f"VoiceLibrary({sorted(self)!r})"

    @property
    def narrator(self) -> Voice | None:
        """The narrator's voice when the folders give one (``Narrator = X`` in the alias map,
        or a ``Narrator.wav``): it speaks untagged lines and ``[Narrator]``, as in TTS Audio
        Suite. None: the caller's default voice narrates."""
        if "narrator" in self._refused:
            raise VoiceError(self._refused["narrator"])
        return self._voices.get("narrator")

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def scan(cls, folders: Iterable[str | Path], *, find_voices: FindVoices | None = None,
             engine_voices: Mapping[str, str] | None = None, known_languages: Iterable[str] = ()) -> VoiceLibrary:
        """Read voices folders (later ones override earlier ones).

        `find_voices(directory)` asks the engines for their model voices in a directory;
        `engine_voices` maps an engine's built-in voice id to the engine, for alias targets.
        """
        codes = tuple(known_languages)
        roots = [_root(f) for f in folders]
        ranked: dict[str, tuple[int, int, Voice]] = {}  # name -> (folder, 0 file / 1 alias, voice)
        refused: dict[str, str] = {}
        warnings: list[str] = []
        aliases: list[_Alias] = []
        for index, root in enumerate(roots):
            found, bad = _scan_folder(root, find_voices, warnings)
            for name, voice in found.items():
                ranked[name] = (index, 0, voice)
                refused.pop(name, None)
            for name, message in bad.items():
                if name not in ranked or ranked[name][0] < index:
                    ranked.pop(name, None)
                    refused[name] = message
            aliases += _read_aliases(root, index, codes, warnings)
        library = {name: voice for name, (_, _, voice) in ranked.items()}
        files = dict(library)  # what alias targets name first, whatever order the lines come in
        by_name = {a.name.lower(): a for a in aliases}
        for alias in aliases:
            key = alias.name.lower()
            held = ranked.get(key)
            if held is not None and held[:2] > (alias.folder, 0):
                continue
            try:
                voice = _resolve_alias(alias, files, by_name, engine_voices or {}, find_voices)
            except VoiceError as exc:
                refused[key] = str(exc)
                continue
            if voice is None:
                warnings.append(f"{alias.where}: {alias.name} = {alias.target}: no voice {alias.target!r} in the "
                                "voices folders or among the engines' voices; the narrator speaks for "
                                f"{alias.name}")
                continue
            ranked[key] = (alias.folder, 1, voice)
            library[key] = voice
            refused.pop(key, None)
        return cls(library, folders=roots, warnings=warnings, refused=refused)


def check_name(name: str) -> None:
    """Refuse a character name that could name a path outside the voices folders."""
    if not isinstance(name, str) or "/" in name or "\\" in name or name.strip() in ("", ".", "..") \
            or os.path.isabs(name) or "\x00" in name:
        raise VoiceError(f"voice name {name!r} is not allowed: a character name may not be empty or "
                         "contain '/', '\\' or '..'")


def _root(folder: str | Path) -> Path:
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise VoiceError(f"voices folder {str(path)!r} is not a directory")
    return path.resolve()


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def _escape_message(path: Path, root: Path) -> str:
    return (f"voice file {str(path)!r} is refused: it resolves outside the voices folder {str(root)!r} "
            "(a symlink or path that escapes)")


def _scan_folder(root: Path, find_voices: FindVoices | None,
                 warnings: list[str]) -> tuple[dict[str, Voice], dict[str, str]]:
    voices: dict[str, Voice] = {}
    refused: dict[str, str] = {}
    seen_dirs: set[Path] = set()
    for directory, dirnames, filenames in os.walk(root, followlinks=True):
        here = Path(directory)
        real = here.resolve()
        if not _inside(here, root) or real in seen_dirs:
            dirnames[:] = []
            if real not in seen_dirs:
                warnings.append(f"voices sub-folder {str(here)!r} is skipped: it resolves outside {str(root)!r}")
            continue
        seen_dirs.add(real)
        dirnames.sort()
        for filename in sorted(filenames):
            path = here / filename
            if path.suffix.lower() not in AUDIO_EXTENSIONS or filename.startswith("."):
                continue
            name = path.stem
            if not _inside(path, root):
                refused[name.lower()] = _escape_message(path, root)
                continue
            if name.lower() in voices:
                warnings.append(f"voice {name!r} is in {str(root)!r} twice; using "
                                f"{str(voices[name.lower()].audio)!r}, not {str(path)!r}")
                continue
            try:
                voices[name.lower()] = Voice(name=name, audio=path, reference_text=_transcript(path, root))
            except (VoiceError, FileNotFoundError):  # deleted since the folder was listed: no voice
                continue
        for model_voice in _model_voices(here, find_voices, warnings):
            key = model_voice.name.lower()
            model = Path(model_voice.model) if model_voice.model else None
            if model is not None and model.exists() and not _inside(model, root):
                refused[key] = _escape_message(model, root)
                continue
            if key in voices and voices[key].model is None:  # Alice.wav and Alice.onnx: one voice
                voices[key] = attrs.evolve(voices[key], model=model_voice.model, engine=model_voice.engine,
                                           language=model_voice.language or voices[key].language)
            elif key not in voices:
                voices[key] = model_voice
    return voices, refused


def _model_voices(directory: Path, find_voices: FindVoices | None, warnings: list[str]) -> list[Voice]:
    if find_voices is None:
        return []
    try:
        return [v for v in find_voices(str(directory)) if isinstance(v, Voice)]
    except Exception as exc:  # a plugin's bug must not hide the other voices
        warnings.append(f"an engine failed to list the voices in {str(directory)!r}: {type(exc).__name__}: {exc}")
        return []


def _transcript(audio: Path, root: Path) -> str | None:
    """``X.reference.txt``, else ``X.txt`` (also when the first is empty, as TAS does)."""
    for candidate in (audio.with_name(f"{audio.stem}.reference.txt"), audio.with_suffix(".txt")):
        if candidate.is_file() and _inside(candidate, root):
            text = " ".join(decode_text(candidate.read_bytes()).split())
            if text:
                return text
    return None


def _read_aliases(root: Path, folder: int, codes: tuple[str, ...], warnings: list[str]) -> list[_Alias]:
    path = root / ALIAS_FILE
    if not path.is_file():
        return _read_json_aliases(root, folder, warnings)
    if not _inside(path, root):
        warnings.append(_escape_message(path, root))
        return []
    out = []
    text = decode_text(path.read_bytes())
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{path}:{number}"
        alias = _alias_line(stripped, where, folder, root, codes, warnings)
        if alias is not None:
            out.append(alias)
    return out


def _read_json_aliases(root: Path, folder: int, warnings: list[str]) -> list[_Alias]:
    """TTS Audio Suite's older ``character_alias_map.json``: {"Alias": "Target", ...}."""
    import json

    path = root / LEGACY_ALIAS_FILE
    if not path.is_file() or not _inside(path, root):
        return []
    try:
        data = json.loads(decode_text(path.read_bytes()))
    except (ValueError, OSError) as exc:
        warnings.append(f"{path}: not readable JSON ({exc}); skipped")
        return []
    if not isinstance(data, dict):
        warnings.append(f"{path}: expected an object of alias -> target; skipped")
        return []
    return [_Alias(str(k).strip(), str(v).strip(), None, {}, folder, root, str(path))
            for k, v in data.items() if isinstance(v, str) and str(k).strip() and v.strip()]


def _alias_line(line: str, where: str, folder: int, root: Path, codes: tuple[str, ...],
                warnings: list[str]) -> _Alias | None:
    head, *pairs = line.split("|")
    if "=" in head:
        name, _, rest = head.partition("=")
        target, _, lang_text = rest.partition(",")
    elif "\t" in head:  # Alias<TAB>Target[<TAB>language]
        columns = [c for c in head.split("\t") if c.strip()] + ["", ""]
        name, target, lang_text = columns[0], columns[1], columns[2]
    else:
        warnings.append(f"{where}: {line!r} is not 'Alias = Target' or 'Alias = Target, language'; skipped")
        return None
    name, target, lang_text = name.strip(), target.strip(), lang_text.strip()
    if not name or not target:
        warnings.append(f"{where}: {line!r} needs a name on each side of '='; skipped")
        return None
    language = None
    if lang_text:
        language = languages.normalize(lang_text, codes)
        if language is None:
            warnings.append(f"{where}: unknown language {lang_text!r} for {name}; ignored")
    params: dict[str, Any] = {}
    for pair in pairs:
        key, ok, value = pair.partition(":")
        key = key.strip().lower()
        if not ok or not key or not value.strip():
            warnings.append(f"{where}: parameter {pair.strip()!r} is not key:value; ignored")
            continue
        params[key] = parameter_value(value.strip())
    return _Alias(name, target, language, params, folder, root, where)


def _resolve_alias(alias: _Alias, files: Mapping[str, Voice], aliases: Mapping[str, _Alias],
                   engine_voices: Mapping[str, str], find_voices: FindVoices | None) -> Voice | None:
    """The voice an alias names. As in TAS, a target is first the voice *file* of that name,
    even the alias's own (``Alice = Alice, de`` gives Alice.wav a language) and even when
    another line re-points that name; only a target without a file follows that alias."""
    check_name(alias.name)
    chain = [alias]  # this line, then each alias line it points through
    while chain[-1].target.lower() not in files and chain[-1].target.lower() in aliases \
            and chain[-1].target.lower() != chain[-1].name.lower() and len(chain) <= _MAX_ALIAS_DEPTH:
        chain.append(aliases[chain[-1].target.lower()])
    base = _target_voice(chain[-1], files, engine_voices, find_voices)
    if base is None:
        return None
    # the nearest line says: its own parameters over its target's, and so on down to the voice's
    own_language = next((link.language for link in chain if link.language), None)
    params = dict(base.params)
    for link in reversed(chain):
        params.update(link.params)
    return attrs.evolve(base, name=alias.name, language=own_language or base.language,
                        language_wins=own_language is not None or base.language_wins, params=params)


def _target_voice(alias: _Alias, files: Mapping[str, Voice], engine_voices: Mapping[str, str],
                  find_voices: FindVoices | None) -> Voice | None:
    name = alias.target
    if name.lower() in files:
        return files[name.lower()]
    if name in engine_voices:  # an engine's voice, or a blend of them (a bad blend raises here)
        return Voice(name=name, model=model_id(name), engine=engine_voices[name])
    looks_like_path = "/" in name or "\\" in name or Path(name).suffix.lower() in (*AUDIO_EXTENSIONS, ".onnx")
    if not looks_like_path:
        return None
    if os.path.isabs(name) or ".." in Path(name).parts:
        raise VoiceError(f"{alias.where}: alias target {name!r} is refused: it must be a file inside "
                         f"the voices folder {str(alias.root)!r}")
    path = alias.root / name
    if not path.is_file():
        return None
    if not _inside(path, alias.root):
        raise VoiceError(f"{alias.where}: {_escape_message(path, alias.root)}")
    if path.suffix.lower() in AUDIO_EXTENSIONS:
        return Voice(name=path.stem, audio=path, reference_text=_transcript(path, alias.root))
    for voice in _model_voices(path.parent, find_voices, []):
        if voice.model and Path(voice.model).resolve() == path.resolve():
            return voice
    return None
