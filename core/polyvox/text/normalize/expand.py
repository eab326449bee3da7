"""`Expander`: one language's `Rules` compiled into regular expressions, applied in order.

The order matters and is fixed: addresses (URLs, e-mail) and abbreviations first, since
they hold dots and digits; then phone numbers, dates and times, money, percentages and
units (a number with what it counts); ranges, ordinals, roman numerals, fractions, years;
then every number left; symbols last.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from polyvox.text.normalize import numbers as n
from polyvox.text.normalize.dates import DatesAndTimes, ends_sentence
from polyvox.text.normalize.figures import Figures
from polyvox.text.normalize.gates import gate
from polyvox.text.normalize.quantities import Quantities
from polyvox.text.normalize.rules import Rules

_DASHES = "-–—−"
_SPACE_BEFORE = re.compile(r" ([,.;:!?])")



def _alternatives(words: object) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))  # type: ignore[arg-type]


class _Later:
    """A pass's regular expression, compiled the first time the pass runs: most never run in a
    process (their gates find nothing to do), and compiling all of one language's cost some
    30 ms of every start that reads a digit (a `say`, a server's first reply)."""

    __slots__ = ("pattern", "flags", "_compiled")

    def __init__(self, pattern: str, flags: int = 0):
        self.pattern, self.flags = pattern, flags
        self._compiled: re.Pattern[str] | None = None

    def sub(self, replace: Callable[[re.Match[str]], str], text: str) -> str:
        if self._compiled is None:  # two threads may both compile it: the same pattern either way
            self._compiled = re.compile(self.pattern, self.flags)
        return self._compiled.sub(replace, text)


def _tail(word: str) -> str:
    """What must follow `word` for it to be whole: nothing word-like after a letter."""
    return r"(?!\w)" if word[-1:].isalnum() else ""


class Expander(DatesAndTimes, Figures, Quantities):
    """Written text to spoken words for one language."""

    def __init__(self, rules: Rules):
        self.rules = r = rules
        t = "".join(re.escape(c) for c in r.thousands)
        d = re.escape(r.decimal)
        num = rf"\d{{1,3}}(?:[{t}]\d{{3}})+(?:{d}\d+)?|\d+(?:{d}\d+)?" if t else rf"\d+(?:{d}\d+)?"
        whole = rf"\d{{1,3}}(?:[{t}]\d{{3}})+|\d+" if t else r"\d+"
        self.num = num
        #: a month's first three letters where no other month starts so ("Dec", "Dez"; not
        #: French "jui"), and "Sept": written without their period too
        prefixes = [m[:3] for m in r.months]
        self.short_months = {p.lower(): i for i, p in enumerate(prefixes, 1) if prefixes.count(p) == 1 and len(p) == 3}
        if len(r.months) == 12 and r.months[8].lower().startswith("sept"):
            self.short_months["sept"] = 9
        written = [p for p in prefixes if p.lower() in self.short_months]
        written += ["Sept"] if "sept" in self.short_months else []
        short = "|".join(re.escape(p) + r"\.?" for p in sorted(written, key=len, reverse=True))
        months = (_alternatives(r.months) + (f"|{short}" if short else "")) if r.months else "(?!)"
        abbrevs = {**r.abbreviations, **{k: v[0] for k, v in r.name_abbreviations.items()}}
        money = _alternatives(r.currencies) if r.currencies else "(?!)"
        units = _alternatives(r.units) if r.units else "(?!)"
        scales = _alternatives(r.scales) if r.scales else "(?!)"
        suffixes = _alternatives(r.ordinal_suffixes) if r.ordinal_suffixes else "(?!)"
        flags = re.IGNORECASE
        oclock = rf"(?:\s+{re.escape(r.word('oclock'))}\b)?" if r.word("oclock") else ""  # 15:30 Uhr: Uhr read once
        dot_clock = rf"|{re.escape(r.word('oclock'))}\b" if r.word("oclock") and r.language != "en" else ""
        # 10 000 km: thousands grouped by a plain space, where the language does not (before a
        # unit, a currency or a percent sign, where the number cannot be a list or a phone number)
        grouped = (rf"(?<![\d.,])\d{{1,3}}(?: \d{{3}})+(?=\s?(?:(?:{units}|{money})(?![\w/])|%))"
                   if " " not in r.thousands else "(?!)")
        passes: list[tuple[_Later, Callable[[re.Match[str]], str]]] = [
            (_Later(grouped), self._grouped),
            (_Later(r"\b(?:https?://|www\.)[^\s<>\"]+[^\s<>\".,;:!?)]", flags), self._url),
            (_Later(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), self._email),
            (_Later(r"(?<![\w#])([A-G])#(?!\w)" if r.language == "en" else "(?!)"),  # C#, F#: a key, a language
             self._sharp),
            (_Later(r"(?<![\w&#])#(?=[^\W\d_])"), self._hashtag),  # #blessed, in any language
            (_Later(rf"(?<!\w)(?:{_alternatives(abbrevs)}){'' if not abbrevs else ''}(?!\w)"
                        if abbrevs else "(?!)"), self._abbreviation),
            # x <= 3, 5 > 3: comparisons typed with ASCII, between what they compare (not -> or a <3)
            (_Later(r"(?<=[\w)])\s*(<=|>=|!=|<(?!3(?:\s|$))|>)\s*(?=-?[\w(])"
                        if r.words.get("less") else "(?!)"), self._compare),
            (_Later(r"\bISBN(?:-1[03])?:?\s*(\d[\d -]{8,16}[\dX])\b"), self._isbn),
            (_Later(r"(?<=\d),[-–—](?![\d\w])" if r.decimal == "," else "(?!)"), self._no_dash),  # 20,- €
            (_Later(r"(?<![\w.,])(\d)['′]\s?(\d{1,2})(?:\"|''|″)" if r.language == "en" else "(?!)"), self._feet),
            (_Later(r"(?<![\w.,])\.(\d+)\b" if r.decimal == "." else "(?!)"), self._bare_decimal),
            # 12/31/2025, 31.12.2025, 12-31-2025 (before phone numbers: 01-05-2025 is a date)
            (_Later(r"\b(\d{1,2})([/.-])(\d{1,2})\2(\d{4})\b"), self._numeric_date),
            (_Later(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)|\d{3})[\s.-]\d{3}[\s.-]\d{4}(?!\w)"
                        r"|(?<![\w+])\+\d{1,3}(?:[\s.-]\d{2,4}){2,5}(?!\w)"
                        r"|(?<![\w+.,/])\(\d{2,4}\)\s?\d{4,5}[\s-]?\d{4}(?![\w-])"
                        r"|(?<![\w+.,/-])\d{3}-\d{4}(?![\w-])|(?<![\w+.,/-])\d{5}-\d{4}(?![\w-])"
                        r"|(?<![\w+.,/-])0\d{1,4}(?:[ -]\d{2,8}|/\d{4,8}){1,4}(?![\w/-])"), self._phone),
            (_Later(r"\b(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?"
                        r"(Z|[+-]\d{2}:?\d{2})?(?![\w:])"), self._iso_moment),
            (_Later(r"\b(\d{4})-(\d{2})-(\d{2})\b"), self._iso_date),
            (_Later(r"(?<![\w.,])(\d{1,2})\.(\d{1,2})\.(?![\d.])" if r.language == "de" else "(?!)"),
             self._dotted_day),
            (_Later(r"(?<![\w:.])([01]?\d|2[0-3]):([0-5]\d):([0-5]\d)(?![\d:])" + oclock, flags), self._seconds),
            # 20-25°C, 5-10%, $10-$20, 9:00-17:00, 9am-5pm: "to" before the ends are read as quantities
            (_Later(rf"(?<![\w.,:])({num}|\d{{1,2}}:[0-5]\d|\d{{1,2}}\s?[ap]\.?m\.?)\s?[{_DASHES}]\s?"
                        rf"(?=(?:{money})\s?\d|{num}\s?(?:%|°|(?:{units}|{money})(?![\w/])|[ap]\.?m\b)|\d{{1,2}}:[0-5]\d)",
                        flags), self._range_of),
            (_Later(rf"\b(\d{{1,2}})(?:\.|{suffixes})?\s+({months})(?:,?\s+(\d{{4}}))?\b"), self._day_month),
            (_Later(r"(?<![\w.,])\d+(?:\.\d+){2,}(?![\w]|\.\d)"), self._dotted),
            (_Later(rf"\b({months})\s+(\d{{1,2}})(?:{suffixes})?(?:,?\s+(\d{{4}}))?\b"), self._month_day),
            # 3:1, 1:50,000, 100:1 (a clock time, two digits after the colon, is the next pass's)
            (_Later(rf"(?<![\w:.,])({whole}):({whole})(?![\w:]|[.,]\d)"), self._score),
            # 15:30, and 15.30 where an hour word or am/pm follows (15.30 Uhr, 3.30 pm)
            (_Later(r"\b([01]?\d|2[0-3])(?::|\.(?=[0-5]\d\s*(?:[ap]\.?\s?m\b" + dot_clock + r")))([0-5]\d)"
                        r"(?:\s*([ap])\.?\s?m\b\.?)?" + oclock, flags), self._time),
            (_Later(r"(?<![\w.,:])(1[0-2]|0?[1-9])\s?([ap])\.?m\b\.?" if r.word("am") != "am" and r.word("am")
                        else "(?!)", flags), self._hour),
            (_Later(r"(?<![\w.,:])([01]?\d|2[0-3])\s?h\s?([0-5]\d)(?!\w)|(?<![\w.,:])([01]?\d|2[0-3])h(?!\w)"
                        if r.language == "fr" else "(?!)"), self._heures),
            (_Later(r"(?<![\w.,])(['’‘])?([1-9]0)s(?!\w)" if r.years else "(?!)"), self._decade),
            (_Later(r"(?<![\w.,])(1[1-9]\d0|20\d0)(s)(?!\w)" if r.years else "(?!)"), self._year),
            (_Later(rf"(?<![\w{re.escape(_DASHES)}])[-−](?=(?:{money})\s?\d)"), self._minus),  # -$5: minus
            (_Later(rf"(?<![\w])({money})\s?({num})(?!\d)(?:\s+({scales})\b|([KkMmBb]|bn|mn)\b)?"),
             self._money_before),
            (_Later(rf"(?<![\w.,])({num})(?:\s+({scales}))?\s?({money})(?!\w)"), self._money_after),
            (_Later(rf"(?<![\w.,])([{_DASHES}])?({num})\s?%"), self._percent),
            (_Later(rf"(?<![\w.,])({num})(M|B|bn|mn)(?!\w)" if r.language == "en" else "(?!)"), self._scaled),
            (_Later(rf"(?<![\w.,])({num})x(?!\w)" if r.words.get("times") else "(?!)"), self._times),
            # 1 1/2 cups, 2½ tsp, 3/4 tsp: fractions before units, which they may count
            (_Later(r"(?<![\w/.,])(\d+)(?:\s+([1-9])/(\d{1,2})(?![\w/])|\s?([½⅓⅔¼¾⅛]))"
                        rf"(?:\s?({units})(?![\w/]))?"), self._mixed),
            (_Later(rf"(?<![\w/.,])(\d+)/(\d+)(?![\w/])(?:\s?({units})(?![\w/]))?|([½⅓⅔¼¾⅛])"
                        rf"(?:\s?({units})(?![\w/]))?"), self._fraction),
            (_Later(rf"(?<![\w.,])([{_DASHES}])?({num})\s?({units})(?![\w/])"), self._unit),
            # 10⁻⁹, 6.02×10²³, x²: a power (a unit's m² was read above)
            (_Later(rf"(?<![\w.,])({num}|[A-Za-z])([⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)" if r.words.get("power") else "(?!)"),
             self._power),
            (_Later(rf"(?<![\w.,])(?<!\w-)({num})\s?[{_DASHES}]\s?({num})(?![\w.,]\d)"), self._range),
            (_Later(rf"\b(\d+)({suffixes})(?=\s+\w)" if r.ordinal_suffixes == (".",)
                        else rf"\b(\d+)({suffixes})(?!\w)"), self._ordinal),
            (_Later(rf"\b({_alternatives(r.roman_cardinal_after)})\s+([IVXLCDM]+)\b" if r.roman_cardinal_after
                        else "(?!)", flags), self._roman_cardinal),
            (_Later(r"\b((?:[IVXLC]{2,}|[IVX]))(er|re|e|ème)\b" if r.language == "fr" else "(?!)"),
             self._roman_ordinal),
            # rulers (not "New CD"); German writes the ordinal's period: "Ludwig XIV. war König"
            (_Later(r"\b([A-Z][a-zà-ÿ]+)\s+([IVX]{2,}|V|X|I)\b(?!['’])(\.(?=\s+[a-zà-ÿß]))?"), self._regnal),
            (_Later(r"(?<![\w.,])(1[1-9]\d\d|20\d\d)(s)?(?![\w.,]\d|\w)" if r.years else "(?!)"), self._year),
            # 1066: a year only after a word that dates it (else one thousand and sixty-six)
            (_Later(r"(?i)\b((?:in|year|since|from|until|till|circa)\s+)(10[1-9]\d)(?![\w.,]\d|\w)"
                        if r.years else "(?!)"), self._early_year),
            (_Later(rf"(?<![^\s(])[{_DASHES}]({num})(?!\w)"), self._negative),
            (_Later(rf"(?<!\w)(?<!\d[.,])({num})(?!\w|[.,]\d)"), self._number),
            (_Later(_alternatives(r.symbols) if r.symbols else "(?!)"), self._symbol),
        ]
        lists = {"months": months, "money": money, "units": units, "suffixes": suffixes,
                 "abbreviations": _alternatives(abbrevs) if abbrevs else "(?!)"}
        #: (pattern, replacement, gate: what the text must hold for the pass to run; gates.py);
        #: a pass that cannot match in this language is left out
        self.passes = [(p, f, gate(f.__name__, lists)) for p, f in passes if p.pattern != "(?!)"]
        #: A text with none of these needs no pass at all (most prose).
        triggers = set("0123456789@½⅓⅔¼¾⅛<>²³⁹⁰¹⁴⁵⁶⁷⁸") | set("".join(r.symbols))
        self.quick = re.compile("[" + "".join(re.escape(c) for c in sorted(triggers)) + r"]|www\.|https?:"
                                r"|\b[IVXLCDM]+(?:er|re|e|ème)?\b"
                                + (rf"|(?<!\w)(?:{_alternatives(abbrevs)})" if abbrevs else ""))

    def __call__(self, text: str) -> str:
        if not self.quick.search(text):
            return text
        for pattern, replace, needs in self.passes:
            if needs is None or needs.search(text):
                text = pattern.sub(replace, text)
        return _SPACE_BEFORE.sub(r"\1", " ".join(text.split()))

    # -- numbers -------------------------------------------------------------------------------
    def value(self, written: str) -> tuple[str, str]:
        """(whole digits, fraction digits) of a number as this language writes it."""
        whole, _, fraction = written.partition(self.rules.decimal)
        return "".join(c for c in whole if c.isdigit()), fraction

    def number(self, written: str, negative: bool = False) -> str:
        whole, fraction = self.value(written)
        return n.decimal(whole, fraction, self.rules, negative)

    def _number(self, m: re.Match[str]) -> str:
        written = m.group(1)
        if written[:1] == "0" and written.isdigit() and len(written) > 1:  # 007, 0900 hours: digit by digit
            return n.digits(written, self.rules)
        spoken = self.number(written)
        following = _NEXT_WORD.match(m.string, m.end())
        before = m.string[: m.start()].split()[-1:]
        label = bool(before) and (before[0][:1].isupper() or before[0].lower() in _LABELS)  # Kapitel 1 Der …
        if following and not label and following.group(1).lower() not in _NOT_NOUNS:  # 1 Birne, 1 perro
            return self._before_noun(spoken)
        return spoken

    def _negative(self, m: re.Match[str]) -> str:
        return self.number(m.group(1), negative=True)

    def _is_one(self, written: str) -> bool:
        whole, fraction = self.value(written)
        return whole.lstrip("0") == "1" and not fraction.strip("0")

    # -- passes --------------------------------------------------------------------------------
    def _grouped(self, m: re.Match[str]) -> str:
        return m.group().replace(" ", "")

    def _sharp(self, m: re.Match[str]) -> str:
        return f"{m.group(1)} sharp"

    def _hashtag(self, m: re.Match[str]) -> str:
        return "hashtag "

    def _no_dash(self, m: re.Match[str]) -> str:
        return ""

    def _early_year(self, m: re.Match[str]) -> str:
        return m.group(1) + n.year(int(m.group(2)), self.rules)

    def _url(self, m: re.Match[str]) -> str:
        url = re.sub(r"^https?://", "", m.group(), flags=re.IGNORECASE)
        return " " + self._spell_address(url) + " "

    def _email(self, m: re.Match[str]) -> str:
        local, _, domain = m.group().partition("@")
        return f" {self._spell_address(local)} {self.rules.word('at')} {self._spell_address(domain)} "

    def _spell_address(self, text: str) -> str:
        words = {".": "dot", "/": "slash", "-": "dash"}
        parts = re.split(r"([./-])", text.rstrip("/"))
        return " ".join(self.rules.word(words[p]) if p in words else (n.digits(p, self.rules) if p.isdigit() else p)
                        for p in parts if p)

    def _abbreviation(self, m: re.Match[str]) -> str:
        word = m.group()
        pair = self.rules.name_abbreviations.get(word)
        after = m.string[m.end():].lstrip()[:1]
        if word in self.rules.before_numbers and not after.isdigit():
            return word  # "No." alone is the word no
        closing = word in self.rules.closing
        if pair is None:
            spoken = self.rules.abbreviations[word]
        else:
            before = m.string[: m.start()].rstrip().rsplit(" ", 1)[-1:]
            named_before = bool(before and before[0][:1].isupper() and before[0][-1:].isalpha())
            closing = named_before or not after.isupper()  # "Baker St. Then": street, a sentence ends
            if _TITLES_JOINED.match(m.string, m.end()):  # "Dr. and Mrs. Smith": a title, joined to another
                closing = False
            spoken = pair[1] if closing else pair[0]
        at_end = not m.string[m.end():].strip()
        return spoken + ("." if (at_end or (closing and ends_sentence(m))) and word.endswith(".") else "")

    def _isbn(self, m: re.Match[str]) -> str:
        """A book number, digit by digit (X, a check digit, is ten)."""
        spoken = " ".join(n.digits(c, self.rules) if c.isdigit() else "X" for c in m.group(1) if c.isalnum())
        return f"ISBN {spoken}"

    def _feet(self, m: re.Match[str]) -> str:
        """5'11": five feet eleven inches."""
        feet, inches = int(m.group(1)), int(m.group(2))
        return (f"{n.cardinal(feet, self.rules)} {'foot' if feet == 1 else 'feet'} "
                f"{n.cardinal(inches, self.rules)} {'inch' if inches == 1 else 'inches'}")

    def _bare_decimal(self, m: re.Match[str]) -> str:
        """.5: point five (a number written without its zero)."""
        return f" {self.rules.word('point')} {n.digits(m.group(1), self.rules)}"

    def _phone(self, m: re.Match[str]) -> str:
        """A phone number (or a postal code in groups), digit by digit, group by group."""
        if m.group()[:1] == "0" and sum(c.isdigit() for c in m.group()) < 7:
            return m.group()  # 01-10 and the like: not a number to dial
        if _LOCAL_NUMBER.fullmatch(m.group()) and not _PHONE_WORD.search(m.string[max(0, m.start() - 24): m.start()]):
            return m.group()  # 500-1000 people: a range, unless a word says it is a number to dial
        groups = [g for g in re.split(r"[\s.()/-]+", m.group()) if g]
        plus = self.rules.word("plus")
        out = [(f"{plus} " if g.startswith("+") else "") + n.digits(g, self.rules) for g in groups]
        return ", ".join(out)

    def _minus(self, m: re.Match[str]) -> str:
        return self.rules.word("minus") + " "

    def _dotted(self, m: re.Match[str]) -> str:
        """A version or an address (2.0.1, 10.0.0.1): each number, "dot" between them; where the
        language groups thousands with dots (1.000.000 Menschen), a number for the later passes."""
        if "." in self.rules.thousands and _THOUSANDS.fullmatch(m.group()):
            return m.group()
        return f" {self.rules.word('dot')} ".join(n.cardinal(int(p), self.rules) for p in m.group().split("."))

    def _range(self, m: re.Match[str]) -> str:
        a, b = m.group(1), m.group(2)
        if _EQUALS.match(m.string, m.end()):  # 5 - 3 = 2: a subtraction
            return f"{self.number(a)} {self.rules.word('minus')} {self.number(b)}"
        if b[:1] == "0" and b.isdigit() and len(b) > 1:  # 555-0199: a number to dial, not a range
            return f"{n.digits(a, self.rules)}, {n.digits(b, self.rules)}"
        if a.isdigit() and b.isdigit() and len(b) >= 3 and int(b) < int(a):  # Boeing 747-400: a name
            return f"{self.number(a)} {self.number(b)}"
        def say(x: str) -> str:
            if self.rules.years and re.fullmatch(r"1[1-9]\d\d|20\d\d", x):
                return n.year(int(x), self.rules)
            return self.number(x)
        return f"{say(a)} {self.rules.word('to')} {say(b)}"

    def _range_of(self, m: re.Match[str]) -> str:
        """The first end of a range of quantities or clock times, with the word between: the
        passes after it read "20 to 25°C" and "9am to 5pm" end by end."""
        return f"{m.group(1)} {self.rules.word('to')} "

    def _score(self, m: re.Match[str]) -> str:
        """3:1, 16:9, 1:50,000, 100:1: a score or a ratio. A clock time (an hour, then two digits)
        is left for the time pass; 24:00 is midnight at the end of a day."""
        before, after = m.group(1), m.group(2)
        if len(before) <= 2 and len(after) == 2 and after.isdigit():
            if before == "24" and after == "00":
                return self._clock(24, 0) if self.rules.language != "en" else "twenty-four hundred"
            return m.group()
        word = self.rules.words.get("score") or self.rules.word("to")
        return f"{self.number(before)} {word} {self.number(after)}"

    def _hour(self, m: re.Match[str]) -> str:
        """7am, 11 p.m.: the hour and the half of the day."""
        return self._with_half(n.cardinal(int(m.group(1)), self.rules), m.group(2).lower(), m)

    def _heures(self, m: re.Match[str]) -> str:
        """French 19h30, 19h: the hour, then the minutes."""
        r = self.rules
        hour, minute = n.cardinal(int(m.group(1) or m.group(3)), r), int(m.group(2) or 0)
        return r.time.format(hour=hour, minute=n.cardinal(minute, r)) if minute else r.time_full.format(hour=hour)

    def _ordinal(self, m: re.Match[str]) -> str:
        if m.group(2) == "." and self.rules.ordinal_suffixes == (".",):
            # German "5." before a capital is an ordinal only after an article or a preposition
            # ("der 2. Platz"); else its period ends a sentence ("Er hat 5. Das war viel.")
            before = m.string[: m.start()].split()[-1:]
            after = m.string[m.end():].lstrip()[:1]
            if after.isupper() and not (before and before[0].lower() in self.rules.ordinal_after):
                return m.group()
        feminine = m.group(2) in ("ª", "a", ".ª", "re")
        spoken = n.ordinal(int(m.group(1)), self.rules, feminine)
        if m.group(2) == "er" and self.rules.language == "es" and spoken.endswith(("primero", "tercero")):
            spoken = spoken[:-1]  # 1er, 3er: primer, tercer (before a noun)
        return self._inflect(m, spoken)

    def _year(self, m: re.Match[str]) -> str:
        spoken = n.year(int(m.group(1)), self.rules)
        if m.group(2):  # the 1990s
            spoken = spoken[:-1] + "ies" if spoken.endswith("y") else spoken + "s"
        return spoken

    def _compare(self, m: re.Match[str]) -> str:
        words = {"<=": self.rules.symbols.get("≤"), ">=": self.rules.symbols.get("≥"),
                 "!=": self.rules.symbols.get("≠"), "<": self.rules.words.get("less"),
                 ">": self.rules.words.get("greater")}
        spoken = words[m.group(1)]
        return f" {spoken} " if spoken else m.group()

    def _power(self, m: re.Match[str]) -> str:
        base = m.group(1) if m.group(1).isalpha() else self.number(m.group(1))
        exponent = int(m.group(2).translate(_SUPERSCRIPTS))
        if self.rules.language == "en" and exponent in (2, 3):
            return f"{base} {'squared' if exponent == 2 else 'cubed'}"
        return f"{base} {self.rules.word('power')} {n.cardinal(exponent, self.rules)}"

    def _symbol(self, m: re.Match[str]) -> str:
        return f" {self.rules.symbols[m.group()]} "


#: "and Mrs." after an abbreviation: the two are titles of one name ("Dr. and Mrs. Smith").
_TITLES_JOINED = re.compile(r"\s+(?:and|&)\s+(?:Mr|Mrs|Ms|Dr|Prof|Rev|Capt|Gen|Sen)\.")
_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:\.\d{3})+")
_EQUALS = re.compile(r"\s*=")
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
#: The word after a number (a noun it may count) ...
_NEXT_WORD = re.compile(r" ([^\W\d_]{3,})")
#: ... unless it is one of these: "1 und 2", "1 de 5", "1 per cent" are no nouns counted.
_NOT_NOUNS = frozenset("und oder bis von mal plus minus and or por para con más menos entre sobre del "
                       "per tra fra più meno dei delle degli das der die den dem los las il gli una "
                       "une".split())
#: Words a number names rather than counts after them ("capítulo 1 Los…").
_LABELS = frozenset("capítulo página número parte tomo volumen episodio temporada capitolo pagina numero "
                    "volume stagione".split())

#: A US local number (555-1234), read as one only after a word that says so: else it is a range.
_LOCAL_NUMBER = re.compile(r"\d{3}-\d{4}")
_PHONE_WORD = re.compile(r"(?i)\b(?:call|dial|phone|tel|telephone|fax|text|cell|mobile|number|no|line)\b"
                         r"(?:\W+\w{1,4}){0,2}\W*$")  # "call me at 555-1234"
