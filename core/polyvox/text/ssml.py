"""SSML input: a ``<speak>`` document to the same segments and pauses script markup makes.

    <speak xml:lang="en">Hello <break time="500ms"/>
      <voice name="Alice"><prosody rate="slow">Take it slow.</prosody></voice>
      <say-as interpret-as="characters">SSML</say-as> <sub alias="World Wide Web">WWW</sub>
      <lang xml:lang="de">Guten Tag.</lang> <phoneme ph="ʃɪˈvɔːn">Siobhan</phoneme>
    </speak>

Parsed with defusedxml: entity declarations (billion laughs) and external entities are
refused. Malformed SSML is a one-line `ScriptError` with line and column. Elements polyvox
does not implement keep their text, with one warning per element name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from polyvox.errors import ScriptError
from polyvox.text.markup import MAX_PAUSE
from polyvox.text.normalize import Normalizers
from polyvox.text.segment import MARKS, PHONEME, SUBSTITUTE, Segment, as_written, said, speakable

__all__ = ["MARKS", "PHONEME", "SUBSTITUTE", "as_written", "is_ssml", "parse", "phoneme_text", "said"]

Warn = Callable[[str, str], None]

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _dated(content: str, layout: str, months: tuple[str, ...] = ()) -> str:
    """A <say-as interpret-as="date"> in the order its `format` names (mdy, dmy, ymd) as an ISO
    date, which every language reads the same way; a date of two parts (md, dm, my, ym) or a
    month alone in the language's month names; as written where the format does not fit."""
    parts = re.findall(r"\d+", content)
    layout = layout.lower()
    if len(parts) == 1 and len(parts[0]) == 8 and layout in ("", "ymd", "yyyymmdd"):  # 20240315
        parts, layout = [parts[0][:4], parts[0][4:6], parts[0][6:]], "ymd"
    named = dict(zip(layout, (int(p) for p in parts), strict=False)) if len(parts) == len(layout) else {}
    month = named.get("m", 0)
    if months and 1 <= month <= 12 and sorted(layout) in (["d", "m"], ["m", "y"], ["m"]):
        said = months[month - 1]  # 03/15: 15 March; 03/2024: March 2024; 3: March
        return f"{named['d']} {said}" if "d" in named else f"{said} {named['y']}" if "y" in named else said
    if len(parts) != 3 or sorted(layout) != ["d", "m", "y"]:
        return content
    day, month, year = (int(parts[layout.index(c)]) for c in "dmy")
    if year < 100:
        year += 2000 if year < 50 else 1900
    return f"{year:04d}-{month:02d}-{day:02d}" if 1 <= month <= 12 and 1 <= day <= 31 else content



_STRENGTH = {"none": 0.0, "x-weak": 0.1, "weak": 0.25, "medium": 0.4, "strong": 0.7, "x-strong": 1.2}
_RATES = {"x-slow": 0.6, "slow": 0.8, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.5}
_TIME = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s)\s*$")
_COMMENTS = r"(?:<!--.*?-->\s*)*"
_HEAD = re.compile(rf"\ufeff?\s*(?:<\?xml[^>]*\?>\s*)?{_COMMENTS}(?:<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>\s*)?{_COMMENTS}"
                   r"<speak\b", re.DOTALL)
_SUPPORTED = ("speak", "break", "prosody", "say-as", "sub", "phoneme", "lang", "voice", "p", "s")


def is_ssml(text: str) -> bool:
    """True for a document whose first element is ``<speak>`` (after an XML declaration,
    comments, or a DOCTYPE, which `parse` then refuses if it declares entities)."""
    return _HEAD.match(text) is not None


def phoneme_text(text: str, template: str) -> str:
    """``<phoneme>`` marks as the engine takes them: `template` (``[[ {} ]]``) around the
    phonemes, or the written word for an engine that takes no phonemes."""
    return PHONEME.sub(lambda m: template.format(m.group(1)) if template else m.group(2), text)


def parse(text: str, *, warn: Warn | None = None, normalizers: Normalizers | None = None,
          language: str | None = None) -> list[Segment]:
    """The segments of an SSML document; see the module docstring. `language`: the render's,
    for the `<say-as>` of a document that names none (``xml:lang``); English without either."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    text = _declared(text.lstrip("\ufeff \t\r\n"))  # (a blank line before the XML declaration is no XML)
    try:
        root = fromstring(text, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        reason = str(exc).split(":")[0]
        raise ScriptError(f"malformed SSML at line {line}, column {column + 1}: {reason}") from None
    except DefusedXmlException as exc:
        raise ScriptError(f"SSML refused: {type(exc).__name__} ({exc}); entity declarations and external "
                          "references are not allowed") from None
    if _name(root) != "speak":
        raise ScriptError(f"SSML must be one <speak> element, not <{_name(root)}>")
    reader = _Reader(warn, normalizers or Normalizers(), language)
    reader.walk(root, {"language": root.get(_XML_LANG), "character": None, "params": {}})
    reader.flush()
    return reader.out


#: A namespace prefix on an element (<amazon:effect>, <mstts:express-as>), and its declaration.
_PREFIXED = re.compile(r"</?([A-Za-z_][\w.-]*):[A-Za-z_]")
_SPEAK_OPEN = re.compile(r"<speak\b")


def _declared(text: str) -> str:
    """`text` with every namespace prefix its elements use declared: Amazon Polly's documents
    use <amazon:effect> and <amazon:domain> without declaring amazon:, which XML refuses
    ("unbound prefix"); each undeclared one is declared on <speak> (its elements are then
    unsupported ones: their text is spoken, with a warning)."""
    missing = {p for p in _PREFIXED.findall(text) if p != "xml" and f"xmlns:{p}" not in text}
    if not missing:
        return text
    names = "".join(f' xmlns:{p}="urn:polyvox:undeclared:{p}"' for p in sorted(missing))
    return _SPEAK_OPEN.sub(lambda m: m.group() + names, text, count=1)


def _name(element: Element) -> str:
    return str(element.tag).rsplit("}", 1)[-1]


class _Reader:
    def __init__(self, warn: Warn | None, normalizers: Normalizers, language: str | None = None):
        self.warn = warn
        self.normalizers = normalizers
        self.language = language
        self.out: list[Segment] = []
        self.buffer: list[str] = []
        self.state: dict[str, Any] = {}
        self.warned: set[str] = set()

    def problem(self, key: str, message: str) -> None:
        if key in self.warned:
            return
        self.warned.add(key)
        if self.warn is not None:
            self.warn("markup-ssml", message)
        else:
            import warnings

            warnings.warn(message, stacklevel=4)

    def flush(self) -> None:
        spoken = " ".join(speakable("".join(self.buffer)).split())
        self.buffer.clear()
        if spoken:
            self.out.append(Segment(text=spoken, language=self.state.get("language"),
                                    character=self.state.get("character"), params=self.state.get("params", {})))

    def enter(self, state: dict[str, Any]) -> None:
        if state != self.state:
            self.flush()
            self.state = state

    def text(self, value: str | None, state: dict[str, Any]) -> None:
        if value and value.strip():
            self.enter(state)
        if value:
            self.buffer.append(value)

    def walk(self, element: Element, state: dict[str, Any]) -> None:
        name = _name(element)
        inner = dict(state)
        if name == "lang" or (name != "speak" and element.get(_XML_LANG)):
            inner["language"] = element.get(_XML_LANG) or state["language"]
        if name == "voice":
            inner["character"] = element.get("name") or state["character"]
        if name == "prosody" and element.get("rate"):
            inner["params"] = {**state["params"], "speed": self.rate(element.get("rate", ""))}
        if name == "break":
            self.pause(element, state)
        elif name == "say-as" and (element.get("interpret-as") or "").lower() in ("expletive", "bleep"):
            self.problem("say-as:expletive", "SSML say-as expletive: the word is left out (a short silence), "
                                             "not spoken")
            self.flush()
            self.out.append(Segment(pause=0.5, language=inner["language"], character=inner["character"]))
        elif name in ("say-as", "sub", "phoneme"):
            self.text(self.substitution(name, element, inner), inner)
        else:
            if name not in _SUPPORTED:
                self.problem(f"tag:{name}", f"SSML <{name}> is not supported: its text is spoken as it is")
            if name in ("p", "s"):
                self.flush()
            self.text(element.text, inner)
            for child in element:
                self.walk(child, inner)
                self.text(child.tail, inner)
            if name in ("p", "s"):
                self.flush()

    def pause(self, element: Element, state: dict[str, Any]) -> None:
        self.flush()
        given = element.get("time")
        if given is not None:
            match = _TIME.match(given)
            if not match:
                self.problem(f"break:{given}", f"SSML <break time={given!r}> is no duration (write 500ms or 1.5s): "
                                               "skipped")
                return
            seconds = float(match.group(1)) / (1000.0 if match.group(2) == "ms" else 1.0)
        else:
            seconds = _STRENGTH.get(element.get("strength", "medium"), 0.4)
        if seconds > MAX_PAUSE:
            self.problem(f"break-long:{given}", f"SSML <break time={given!r}> is longer than {MAX_PAUSE:g} s: "
                                                f"cut to {MAX_PAUSE:g} s")
            seconds = MAX_PAUSE
        if seconds > 0:
            self.out.append(Segment(pause=seconds, language=state["language"], character=state["character"]))

    def rate(self, value: str) -> float:
        value = value.strip().lower()
        if value in _RATES:
            return _RATES[value]
        try:
            if value.endswith("%"):  # 80%: of the normal rate; +20% / -20%: faster or slower by that (SSML 1.1)
                number = float(value[:-1])
                return 1.0 + number / 100.0 if value[:1] in "+-" else number / 100.0
            return float(value)
        except ValueError:
            self.problem(f"rate:{value}", f"SSML prosody rate={value!r} is not valid (x-slow..x-fast, 80% or "
                                          "0.8): speaking at the normal rate")
            return 1.0

    def substitution(self, name: str, element: Element, state: dict[str, Any]) -> str:
        """What a <sub>, <say-as> or <phoneme> puts in the segment: for a <sub> or <say-as>
        whose words differ from those written, both (`SUBSTITUTE`: the engine gets the words,
        word times and captions the writing)."""
        content = "".join(element.itertext())
        said = self.replacement(name, element, state)
        if name == "phoneme" or " ".join(said.split()) == " ".join(content.split()) or not content.strip():
            return said
        return f"\ue005{said}\ue006{' '.join(content.split())}\ue007"

    def replacement(self, name: str, element: Element, state: dict[str, Any]) -> str:
        content = "".join(element.itertext())
        if name == "sub":
            return element.get("alias", content)
        if name == "phoneme":
            return f"\ue002{element.get('ph', '')}\ue003{content}\ue004" if element.get("ph") else content
        kind = (element.get("interpret-as") or "").lower()
        language = state["language"] or self.language or "en"
        from polyvox.text.normalize import numbers, rules_for

        rules = rules_for(language)
        if rules is None:  # a language without a table (Japanese): as written, which its engine reads
            return " ".join(content) if kind in ("characters", "spell-out", "verbatim", "digits") else content
        if kind in ("characters", "spell-out", "verbatim", "digits"):  # digits: Polly's, for PINs and codes
            # each character as the word it is, so normalization after cannot read "10.5" again
            names = {".": rules.word("dot"), "-": rules.word("dash"), "/": rules.word("slash"), **rules.symbols}
            return " ".join(numbers.digits(c, rules) if c.isdigit() else names.get(c, c)
                            for c in content if not c.isspace())
        digits = content.strip()
        if kind in ("cardinal", "number") and re.fullmatch(r"-?\d+", digits):
            return numbers.cardinal(int(digits), rules)
        if kind in ("cardinal", "number") and re.fullmatch(r"-?[\d.,\s\u202f]*\d", digits):
            return self.normalizers(digits, language)  # 1,234 and 1.234,5 as the language writes them
        if kind == "ordinal" and digits.isdigit():
            return numbers.ordinal(int(digits), rules)
        if kind == "telephone":  # +1-800-…: the plus is said, as plain text's numbers say it
            plus = f"{rules.word('plus')} " if content.strip().startswith("+") else ""
            return plus + ", ".join(numbers.digits(g, rules) for g in re.split(r"[^\d]+", content) if g)
        if kind == "date":
            return self.normalizers(_dated(content, element.get("format") or "", rules.months), language)
        if kind in ("time", "currency", "measure", "fraction"):
            return self.normalizers(content, language)
        self.problem(f"say-as:{kind}", f"SSML say-as interpret-as={kind!r} is not supported: spoken as written")
        return content
