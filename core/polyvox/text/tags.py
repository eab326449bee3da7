"""What one ``[...]`` tag of script markup means: who speaks, in which language, how.

A tag body is split at ``|`` into parts, in any order. A part is either the *name part*
(``Alice``, ``de:Alice``, ``Alice:happy_sarah``, ``de:Alice:angry_bob``, ``de``, ``1``,
``S1``) or a parameter (``seed:42``, ``temp:0.5``), or an emotion weight (``sad:0.7``).
The rules, TTS Audio Suite's (TAS) made deterministic:

1. a part without ``:`` is the name part;
2. ``<emotion>:<number>`` (one of `EMOTIONS`) and ``vector:<eight numbers>`` are emotion weights;
3. ``<language>:...`` and ``<known character>:...`` are the name part, and so is a blend of
   voices with its weights (``jf_alpha:0.7+jm_kumo:0.3``, ``ja:jf_alpha:1+jm_kumo:1``);
4. ``key:<number>`` and ``<known parameter>:...`` are parameters;
5. any other ``key:text`` is the name part when the tag has none, a parameter otherwise.

So ``[seed:42|Alice]`` and ``[Alice|seed:42]`` mean the same, ``[Alice|style:calm]`` passes
``style`` to the engine, and ``[Bob:angry_bob]`` is Bob speaking with the emotion reference
``angry_bob``. A tag with no name part (``[seed:4]``) switches to the narrator, as in TAS.
Problems are raised as `TagProblem` for the parser to turn into a warning or an error.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

import attrs

from polyvox.text import languages

#: Emotion names an inline weight may use, in the order of a ``vector:`` tag (IndexTTS-2's).
EMOTIONS = ("happy", "angry", "sad", "afraid", "disgusted", "melancholic", "surprised", "calm")

#: Parameter names TAS documents that take text (or that people write before the name), so
#: ``[instruction:Speak softly|Alice]`` is a parameter and not a character "instruction".
KNOWN_PARAMETERS = frozenset({
    "seed", "temperature", "temp", "cfg", "cfg_weight", "cfg_strength", "exaggeration", "exag", "speed",
    "top_p", "topp", "top-p", "top_k", "topk", "top-k", "steps", "inference_steps", "num_steps",
    "instruction", "quality", "sound_event", "ambient_sound", "negative_prompt", "negative", "neg",
    "emotion", "emotion_alpha", "duration", "duration_seconds", "seconds", "repetition_penalty",
    "rep_penalty", "max_new_tokens", "guidance_scale", "guidance",
})

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_PARAM_KEY = re.compile(r"^[a-z_][a-z0-9_-]*$")
_SPEAKER = re.compile(r"^(?:s|speaker\s*)?(\d+)$", re.IGNORECASE)
_FORBIDDEN_IN_NAME = set("/\\:|[]")
#: A ``+`` between two voices of a blend (``alpha:0.7+kumo``), not the sign of a weight (``sad:+0.3``).
_BLEND = re.compile(r"[^\s:,]\s*\+\s*[A-Za-z_]")


class TagProblem(ValueError):
    """A tag that cannot mean what it says; `kind` names the warning."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@attrs.frozen
class Tag:
    """The meaning of one tag. `character` None is the narrator."""

    character: str | None = None
    language: str | None = None
    emotion: str | None = None
    emotion_vector: dict[str, float] = attrs.field(factory=dict)
    params: dict[str, Any] = attrs.field(factory=dict)
    #: Problems that lose only a part of the tag (a bad value); the rest still applies.
    problems: tuple[TagProblem, ...] = ()


def speaker_name(number: str) -> str:
    """TAS's speaker numbering as a character name: ``1`` -> ``Speaker 1``."""
    return f"Speaker {int(number)}"


def read(body: str, codes: tuple[str, ...], characters: Collection[str], *, strict: bool) -> Tag:
    """The meaning of tag `body` (without brackets).

    `characters` are known character names (lower case), which win over a language of
    the same name. Raises `TagProblem` when the tag as a whole means nothing.
    """
    parts = [p.strip() for p in body.split("|")]
    if not any(parts):
        raise TagProblem("markup-tag", f"empty tag [{body}]: write [Name], [lang:Name], [lang] or [pause:1s]")
    names: list[str] = []
    pending: list[tuple[str, str]] = []  # key:text parts that are the name part only if nothing else is
    params: dict[str, Any] = {}
    vector: dict[str, float] = {}
    problems: list[TagProblem] = []
    for part in parts:
        if not part:
            continue
        key, sep, value = part.partition(":")
        key_l, value = key.strip().lower(), value.strip()
        if "=" not in part and _blend_of(part, codes) is not None:  # [jf_alpha:0.7+jm_kumo:0.3]
            names.append(part)
        elif not sep and "=" in part:  # [Bob|speed=1.2]
            key, _, value = part.partition("=")
            _parameter(key.strip().lower(), value.strip(), part, params, problems)
        elif not sep:
            names.append(part)
        elif key_l == "vector" or (key_l in EMOTIONS and _NUMBER.match(value)):
            _emotion_weights(key_l, value, vector, problems)
        elif languages.normalize(key_l, codes) is not None or key_l in characters:
            names.append(part)
        elif _NUMBER.match(value) or key_l in KNOWN_PARAMETERS:
            _parameter(key_l, value, part, params, problems)
        else:
            pending.append((part, key_l))
    if not names and len(pending) == 1:
        names.append(pending.pop()[0])
    for part, key_l in pending:
        _parameter(key_l, part.partition(":")[2].strip(), part, params, problems)
    if len(names) > 1:
        raise TagProblem("markup-tag", f"tag [{body}] names {len(names)} speakers ({', '.join(names)}): "
                         "write one name, e.g. [de:Alice|seed:4]")
    tag = _name_part(names[0], body, codes, characters, strict) if names else Tag()
    return attrs.evolve(tag, emotion_vector=vector, params=params, problems=(*tag.problems, *problems))


def _name_part(text: str, body: str, codes: tuple[str, ...], characters: Collection[str], strict: bool) -> Tag:
    blend = _blend_of(text, codes)
    if blend is not None:
        return _blend(*blend, body)
    pieces = [p.strip() for p in text.split(":")]
    if len(pieces) == 1:
        (name,) = pieces
        if name.lower() in characters:
            return Tag(character=_character(name, body))
        speaker = _SPEAKER.match(name)
        if speaker:
            return Tag(character=speaker_name(speaker.group(1)))
        language = languages.normalize_bare(name, codes)
        if language is not None:  # [de] Hallo: German narration
            return Tag(language=language)
        return Tag(character=_character(name, body))
    if len(pieces) == 2:
        first, second = pieces
        language = None if first.lower() in characters else languages.normalize(first, codes)
        if language is not None:
            return Tag(character=_character(second, body), language=language)
        if strict and first.lower() not in characters:
            raise TagProblem("markup-tag", f"unknown language {first!r} in tag [{body}]: use a code such as de "
                             "or pt-BR, a name such as German, or [Character:emotion] with a known character")
        # [Alice:happy_sarah]: Alice speaking with an emotion reference; [Alice:] is Alice.
        return Tag(character=_character(first, body), emotion=_emotion_ref(second, body))
    if len(pieces) == 3:
        first, second, third = pieces
        language = languages.normalize(first, codes)
        if language is None and strict:
            raise TagProblem("markup-tag", f"unknown language {first!r} in tag [{body}]: [language:Name:emotion] "
                             "starts with a language such as de or German")
        # Leniently, as in TAS, the character still speaks; only the unknown language is dropped.
        problems = () if language is not None else (
            TagProblem("markup-tag", f"unknown language {first!r}: expected a code such as de or pt-BR or a "
                       "name such as German"),)
        return Tag(character=_character(second, body), language=language, emotion=_emotion_ref(third, body),
                   problems=problems)
    raise TagProblem("markup-tag", f"tag [{body}] has {len(pieces) - 1} ':'; write [Name], [lang:Name] or "
                     "[lang:Name:emotion]")


def _blend_of(text: str, codes: tuple[str, ...]) -> tuple[str, str | None] | None:
    """(blend, language) when the name part `text` is a blend of voices with its weights written
    (``jf_alpha:0.7+jm_kumo:0.3``, ``ja:jf_alpha:1+jm_kumo:1``), else None: ``[Tom+Jerry]``
    stays a TAS character with a ``+`` in its name, and ``sad:+0.3`` an emotion weight."""
    if not _BLEND.search(text):
        return None
    first, sep, rest = text.partition(":")
    language = languages.normalize(first.strip(), codes) if sep and "+" not in first else None
    blend = "".join((rest if language is not None else text).split())
    return (blend, language) if ":" in blend else None


def _blend(blend: str, language: str | None, body: str) -> Tag:
    """The blend is the speaker, its spelling the character's name: the planner gives it the
    blend's voice (a ``:`` is in no character name of a tag, so it cannot be mistaken for one)."""
    from polyvox.errors import VoiceError
    from polyvox.voices.blending import parse_blend

    try:
        parse_blend(blend)
    except VoiceError as exc:
        raise TagProblem("markup-tag", f"tag [{body}]: {exc}") from None
    return Tag(character=blend, language=language)


def _character(name: str, body: str) -> str | None:
    """The character a name part names; narrator is None. As in TAS, commas and full-width
    colons are dropped wherever they are (``[Alice:]``, ``[Dr, Who]`` is "Dr Who")."""
    name = " ".join(re.sub("[,，：]", "", name).split())
    if not name or name.lower() == "narrator":
        return None
    bad = sorted(c for c in set(name) if c in _FORBIDDEN_IN_NAME or not c.isprintable())
    if bad or name in (".", ".."):
        raise TagProblem("markup-tag", f"character name {name!r} in tag [{body}] is not allowed: names may not "
                         "contain / \\ : | [ ] or control characters")
    return name


def _emotion_ref(name: str, body: str) -> str | None:
    return _character(name, body) if name else None


def _emotion_weights(key: str, value: str, vector: dict[str, float], problems: list[TagProblem]) -> None:
    if key == "vector":
        items = [v.strip() for v in value.split(",")]
        if len(items) != len(EMOTIONS) or not all(_NUMBER.match(v) for v in items):
            problems.append(TagProblem("markup-emotion", f"emotion vector {value!r} is not {len(EMOTIONS)} "
                                       f"numbers in the order {', '.join(EMOTIONS)}"))
            return
        pairs = list(zip(EMOTIONS, items, strict=True))
    else:
        pairs = [(key, value)]
    for name, text in pairs:
        if text[0] in "+-":
            problems.append(TagProblem("markup-emotion", f"emotion {name}:{text} is a relative adjustment, which "
                                       "polyvox does not support: write an absolute weight such as "
                                       f"{name}:{text.lstrip('+-')}"))
            continue
        weight = float(text)
        if not 0.0 <= weight <= 1.0:
            problems.append(TagProblem("markup-emotion", f"emotion weight {name}:{text} is out of range: "
                                       "expected 0..1"))
            continue
        vector[name] = weight


def _parameter(key: str, value: str, part: str, params: dict[str, Any], problems: list[TagProblem]) -> None:
    if not value or not _PARAM_KEY.match(key):
        problems.append(TagProblem("markup-parameter", f"parameter {part!r} is not key:value "
                                   "(e.g. seed:42 or temperature:0.6)"))
        return
    converted = parameter_value(value)
    if key == "seed" and isinstance(converted, float) and converted.is_integer():
        converted = int(converted)  # TAS reads seed:42.0 as 42, like every integer parameter
    if key == "seed" and not (isinstance(converted, int) and 0 <= converted < 2**32):
        problems.append(TagProblem("markup-parameter", f"seed {value!r} is not valid: expected an integer in "
                                   "0..4294967295"))
        return
    params[key] = converted


def parameter_value(text: str) -> Any:
    """A parameter's value as markup and alias maps write it: '42' -> 42, '0.6' -> 0.6, anything
    else stays text (the engine's spec validates it)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return number if number == number and abs(number) != float("inf") else text
