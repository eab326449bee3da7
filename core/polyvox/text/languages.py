"""Language names, codes and aliases, normalized to lower-case BCP 47 (``en``, ``pt-br``)."""

from __future__ import annotations

from collections.abc import Iterable

from polyvox.errors import UnsupportedLanguageError

# ISO 639-1 code -> English name and common aliases (native names, ISO 639-2/3 codes).
_LANGUAGES: dict[str, tuple[str, ...]] = {
    "ar": ("arabic", "ara", "العربية"),
    "bg": ("bulgarian", "bul"),
    "ca": ("catalan", "cat", "català"),
    "cs": ("czech", "ces", "cze", "čeština"),
    "cy": ("welsh", "cym", "cymraeg"),
    "da": ("danish", "dan", "dansk"),
    "de": ("german", "deu", "ger", "deutsch"),
    "el": ("greek", "ell", "gre", "ελληνικά"),
    "en": ("english", "eng"),
    "es": ("spanish", "spa", "español", "castellano"),
    "fa": ("persian", "farsi", "fas", "per"),
    "fi": ("finnish", "fin", "suomi"),
    "fr": ("french", "fra", "fre", "français"),
    "he": ("hebrew", "heb", "iw", "עברית"),
    "hi": ("hindi", "hin", "हिन्दी"),
    "hu": ("hungarian", "hun", "magyar"),
    "id": ("indonesian", "ind", "bahasa indonesia"),
    "is": ("icelandic", "isl", "ice", "íslenska"),
    "it": ("italian", "ita", "italiano"),
    "ja": ("japanese", "jpn", "日本語"),
    "ka": ("georgian", "kat", "geo"),
    "kk": ("kazakh", "kaz"),
    "ko": ("korean", "kor", "한국어"),
    "lb": ("luxembourgish", "ltz"),
    "lv": ("latvian", "lav"),
    "ms": ("malay", "msa", "may", "bahasa melayu"),
    "ne": ("nepali", "nep"),
    "nl": ("dutch", "nld", "dut", "nederlands", "flemish"),
    "no": ("norwegian", "nor", "norsk", "nb", "nob", "bokmål", "bokmal"),
    "pl": ("polish", "pol", "polski"),
    "pt": ("portuguese", "por", "português"),
    "ro": ("romanian", "ron", "rum", "română"),
    "ru": ("russian", "rus", "русский"),
    "sk": ("slovak", "slk", "slo"),
    "sl": ("slovenian", "slv", "slovene"),
    "sr": ("serbian", "srp"),
    "sv": ("swedish", "swe", "svenska"),
    "sw": ("swahili", "swa", "kiswahili"),
    "te": ("telugu", "tel"),
    "th": ("thai", "tha"),
    "tr": ("turkish", "tur", "türkçe"),
    "uk": ("ukrainian", "ukr", "українська"),
    "ur": ("urdu", "urd"),
    "vi": ("vietnamese", "vie", "tiếng việt"),
    "zh": ("chinese", "zho", "chi", "mandarin", "中文", "普通话"),
    # Further languages that multilingual engines (XTTS, ChatterBox 23L, MMS, Piper) declare.
    "af": ("afrikaans", "afr"),
    "am": ("amharic", "amh"),
    "az": ("azerbaijani", "aze"),
    "be": ("belarusian", "bel"),
    "bn": ("bengali", "ben", "bangla", "বাংলা"),
    "bs": ("bosnian", "bos"),
    "et": ("estonian", "est", "eesti"),
    "eu": ("basque", "eus", "baq", "euskara"),
    "ga": ("irish", "gle", "gaeilge"),
    "gl": ("galician", "glg", "galego"),
    "gu": ("gujarati", "guj"),
    "ha": ("hausa", "hau"),
    "hr": ("croatian", "hrv", "hrvatski"),
    "hy": ("armenian", "hye", "arm"),
    "km": ("khmer", "khm"),
    "kn": ("kannada", "kan"),
    "lt": ("lithuanian", "lit", "lietuvių"),
    "mk": ("macedonian", "mkd", "mac"),
    "ml": ("malayalam", "mal"),
    "mn": ("mongolian", "mon"),
    "mr": ("marathi", "mar"),
    "mt": ("maltese", "mlt"),
    "my": ("burmese", "mya", "bur", "myanmar"),
    "pa": ("punjabi", "pan", "panjabi"),
    "ps": ("pashto", "pus"),
    "si": ("sinhala", "sin", "sinhalese"),
    "sq": ("albanian", "sqi", "alb", "shqip"),
    "ta": ("tamil", "tam", "தமிழ்"),
    "tl": ("tagalog", "tgl", "filipino", "fil"),
    "uz": ("uzbek", "uzb"),
    "yo": ("yoruba", "yor"),
    "yue": ("cantonese", "粵語", "广东话"),
    "zu": ("zulu", "zul", "isizulu"),
}

# Regional names people type, mapped to a tag.
_REGIONAL = {
    "brazilian": "pt-br",
    "brazilian portuguese": "pt-br",
    "american": "en-us",
    "american english": "en-us",
    "british": "en-gb",
    "british english": "en-gb",
    "mexican spanish": "es-mx",
    "latin american spanish": "es-419",
    "european portuguese": "pt-pt",
    "canadian french": "fr-ca",
    "swiss german": "de-ch",
    "simplified chinese": "zh-cn",
    "traditional chinese": "zh-tw",
}

# The names TTS Audio Suite's scripts use on top of the ones above: countries, regions,
# spellings without accents and informal abbreviations, so that a TAS script's
# ``[Brazil:Bob]`` or ``[germany:]`` means what it meant there.
_TAS_NAMES: dict[str, tuple[str, ...]] = {
    "af": ("south africa",),
    "ar": ("arab", "middle east"),
    "as": ("assamese", "অসমীয়া", "asom", "axomiya"),
    "bg": ("bulgaria", "български"),
    "bn": ("bangladesh", "bengal", "west bengal"),
    "cs": ("czechia", "ceska"),
    "da": ("denmark", "danmark"),
    "de": ("germany", "deutschland"),
    "el": ("greece", "hellenic"),
    "en": ("usa", "america", "britain"),
    "es": ("spain", "españa", "espanol", "castilian"),
    "et": ("estonia",),
    "fa": ("iran", "فارسی"),
    "fi": ("finland", "suomalainen"),
    "fr": ("france", "francais", "français de france"),
    "gu": ("gujarat", "gujrati", "ગુજરાતી"),
    "he": ("israel", "israeli"),
    "hi": ("देवनागरी",),
    "hr": ("croatia",),
    "hu": ("hungary",),
    "id": ("indonesia",),
    "is": ("iceland",),
    "it": ("italy", "italia"),
    "ja": ("japan", "nihongo"),
    "kn": ("karnataka", "kanarese", "ಕನ್ನಡ"),
    "ko": ("korea", "south korea"),
    "lt": ("lithuania",),
    "lv": ("latvia", "latviešu"),
    "ml": ("kerala", "malayali", "മലയാളം"),
    "mr": ("maharashtra", "मराठी"),
    "ms": ("malaysia", "melayu"),
    "nl": ("netherlands", "holland"),
    "no": ("norway", "norge"),
    "or": ("odia", "oriya", "odisha", "orissa", "ଓଡ଼ିଆ"),
    "pa": ("punjab", "ਪੰਜਾਬੀ"),
    "pl": ("poland", "polska"),
    "pt-br": ("ptbr", "brazil", "brasil", "brasilian", "português brasileiro"),
    "pt-pt": ("portugal", "portugues"),
    "ro": ("romania",),
    "ru": ("russia", "россия"),
    "sk": ("slovakia", "slovenčina"),
    "sl": ("slovenia", "slovenščina"),
    "sr": ("serbia", "српски"),
    "sv": ("sweden", "sverige"),
    "sw": ("tanzania", "kenya"),
    "ta": ("tamil nadu", "tamilnadu"),
    "te": ("andhra pradesh", "andhra", "telangana", "తెలుగు"),
    "tl": ("philippines",),
    "tr": ("turkey", "türkiye", "turkiye", "turkce"),
    "ur": ("pakistan", "اردو"),
    "vi": ("vietnam", "vietnamese (viterbox only)"),
    "zh": ("china",),
    "zh-cn": ("simplified", "mainland"),
    "zh-tw": ("traditional", "taiwan", "taiwanese"),
}

#: Where TTS Audio Suite reads a name differently from ISO 639 or from polyvox's own
#: table, its reading wins, so its scripts keep their meaning. ``uk`` is the United
#: Kingdom there (English), not Ukrainian: write ``ukrainian`` or ``uk-ua`` for that;
#: ``se`` is Sweden, not Northern Sami; ``br`` is Brazil, not Breton. These win even over
#: a code an installed engine declares.
TAS_OVERRIDES: dict[str, str] = {
    "uk": "en",
    "se": "sv",
    "br": "pt-br",
    "po": "pt-pt",
    "portuguese": "pt-pt",
    "português": "pt-pt",
    "mandarin": "zh-cn",
    "gr": "el",
    "cz": "cs",
    "kr": "ko",
    "dk": "da",
    "jp": "ja",
}

_ALIASES: dict[str, str] = {}
for _code, _names in _LANGUAGES.items():
    _ALIASES[_code] = _code
    for _n in _names:
        _ALIASES[_n] = _code
_ALIASES.update(_REGIONAL)
for _code, _names in _TAS_NAMES.items():
    _ALIASES.setdefault(_code, _code)
    for _n in _names:
        _ALIASES.setdefault(_n, _code)
_ALIASES["uk-ua"] = "uk"  # Ukrainian stays reachable by its regional tag
_ALIASES.update(TAS_OVERRIDES)


def normalize(language: str, extra_codes: Iterable[str] = ()) -> str | None:
    """The normalized tag for a language name, code or alias; None if it is not a language.

    `extra_codes` are codes installed engines declare, so a code one engine knows is
    never unknown to the parser.
    """
    key = language.strip().lower().replace("_", "-")
    if not key:
        return None
    if key in TAS_OVERRIDES:
        return TAS_OVERRIDES[key]
    if key in {c.lower() for c in extra_codes}:  # declared by an engine: kept as it is (nb stays nb)
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    base, _, region = key.partition("-")
    if base in _ALIASES and region.isalnum() and 2 <= len(region) <= 4:
        return f"{_ALIASES[base]}-{region}"
    return None


#: Three-letter ISO 639-2/3 codes are names too (Ben, Cat, Dan, Yue): a bare ``[Ben]`` is a
#: character, not Bengali. Only the ones TAS itself lists count as a bare language.
_TAS_THREE_LETTER = frozenset({"eng", "hin", "fil"})
_THREE_LETTER = frozenset(
    k for code, names in _LANGUAGES.items() for k in (code, *names) if len(k) == 3 and k.isascii() and k.isalpha()
) - _TAS_THREE_LETTER


def normalize_bare(language: str, extra_codes: Iterable[str] = ()) -> str | None:
    """Like `normalize`, for a name standing alone in a tag (``[de] Hallo``), where a
    three-letter code that is also a person's name (``ben``, ``cat``, ``dan``) is not taken
    as a language unless an installed engine declares it."""
    key = language.strip().lower()
    if key in _THREE_LETTER and key not in {c.lower() for c in extra_codes}:
        return None
    return normalize(language, extra_codes)


def require(language: str, extra_codes: Iterable[str] = ()) -> str:
    """Like `normalize`, but raise `UnsupportedLanguageError` for a name that is no language."""
    code = normalize(language, extra_codes)
    if code is None:
        raise UnsupportedLanguageError(
            f"unknown language {language!r}; use a code such as en, de, pt-br or a name such as German"
        )
    return code


def name(code: str) -> str:
    """The English name of a code (``de`` -> ``German``), or the code itself."""
    base = code.split("-")[0]
    names = _LANGUAGES.get(base)
    return names[0].title() if names else code


def candidates(code: str) -> list[str]:
    """The tag and its fallbacks, most specific first: ``pt-br`` -> [``pt-br``, ``pt``]."""
    out = [code]
    while "-" in code:
        code = code.rsplit("-", 1)[0]
        out.append(code)
    return out


def known_codes() -> tuple[str, ...]:
    return tuple(_LANGUAGES)
