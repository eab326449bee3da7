"""Fuzzing: the markup parser, the SRT reader and whole renders on generated input. Whatever
they are given, they either work or raise a `PolyvoxError`; anything else is a bug.

`make test` runs a few hundred inputs; `make fuzz` (POLYVOX_FUZZ=1) runs over 100,000 and prints
how many each target saw. Hypothesis keeps its example database in ./.hypothesis (gitignored).
"""

from __future__ import annotations

import collections
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import polyvox
from polyvox.errors import PolyvoxError
from polyvox.subtitles.srt import MAX_CUE_START, read_srt
from polyvox.text.markup import parse

BIG = os.environ.get("POLYVOX_FUZZ") == "1"
#: Inputs per target: (make fuzz, make test). The big column sums to 100,000.
EXAMPLES = {"markup": (45_000, 200), "srt": (45_000, 150), "render_script": (6_000, 20), "render_srt": (4_000, 20)}
SEEN: collections.Counter[str] = collections.Counter()


def fuzz(target: str):
    return settings(max_examples=EXAMPLES[target][0 if BIG else 1], deadline=None, derandomize=not BIG,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print("\nfuzz inputs: " + ", ".join(f"{k} {v}" for k, v in SEEN.items()) + f"; total {sum(SEEN.values())}")


# -- strategies ---------------------------------------------------------------------------------
CONTROL = st.sampled_from(["\x00", "\x07", "\x1b", "\x7f", "\x85", "\u2028", "\u200b", "\ufeff", "\t", "\v", "\f"])
WORDS = st.one_of(st.sampled_from(["Hello", "world", "über", "日本語", "ـمرحبا", "x" * 40, "1.5", "Dr.", "?!"]),
                  st.text(max_size=8))
TAG_LIST = [
    "[Alice]", "[Bob]", "[de:Bob]", "[fr]", "[lang:de]", "[pause:1s]", "[pause:300ms]", "[pause:-1s]",
    "[pause:1e9s]", "[pause:nan]", "[pause:]", "[pause]", "[", "]", "[]", "[ ]", "[:]", "[Alice speed=1.5]",
    "[Alice speed=]", "[Alice =2]", "[Alice speed=1e400]", "[Alice seed=-1]", "[x" * 3, "[[Alice]]",
    "[Alice|de]", "[Al\nice]", "<i>", "</i>", "{\\an8}", "\\N", "&amp;", "&#0;", "&#x110000;", "#", "-->",
]
TAGS = st.sampled_from(TAG_LIST)
FRAGMENT = st.one_of(WORDS, TAGS, CONTROL, st.sampled_from(["\n", "\r\n", "\r", " ", "  ", "."]))
MARKUP = st.one_of(st.lists(FRAGMENT, max_size=16).map("".join), st.text(max_size=60))
LINE = st.lists(FRAGMENT, max_size=5).map("".join)

FIELD = st.one_of(st.integers(0, 99).map(lambda n: f"{n:02d}"), st.integers(0, 10**30).map(str),
                  st.sampled_from(["", "0", "00", "000", "-1", "x", "٣", "１"]))
DELIM = st.sampled_from([",", ".", ":", "，", "：", ";", ""])


@st.composite
def timestamps(draw, sane: bool = False):
    if sane:
        ms = draw(st.integers(0, 12_000))
        return f"00:00:{ms // 1000:02d},{ms % 1000:03d}"
    if draw(st.booleans()):  # most are well-formed, some absurd
        hours = draw(st.sampled_from([0, 0, 0, 1, 23, 24, 25, 99, 10**6, 10**20]))
        return f"{hours:02d}:{draw(st.integers(0, 99)):02d}:{draw(st.integers(0, 99)):02d}," \
               f"{draw(st.integers(0, 9999)):03d}"
    return "".join([draw(FIELD), ":", draw(FIELD), ":", draw(FIELD), draw(DELIM), draw(FIELD)])


@st.composite
def srt_files(draw, sane: bool = False):
    """SRT text as found in the wild, and worse: numbers wrong, duplicated or missing, times
    reversed or out of range, tags, empty cues, control characters, odd line ends."""
    blocks = []
    for n in range(draw(st.integers(0, 5 if sane else 8))):
        number = draw(st.sampled_from([str(n + 1), str(n + 1), "1", "", "-3", "2.5", "007", "x"]))
        start, end = draw(timestamps(sane)), draw(timestamps(sane))
        arrow = draw(st.sampled_from(["-->", "-->", "->", "- >", "--> ", "—>"]))
        lines = draw(st.lists(LINE if not sane else st.lists(st.one_of(WORDS, TAGS), max_size=4).map(" ".join),
                              max_size=2))
        head = [number] if number else []
        blocks.append("\n".join([*head, f"{start} {arrow} {end}", *lines]))
    separator = draw(st.sampled_from(["\n\n", "\n\n", "\n", "\n\n\n", "\n \n"]))
    text = separator.join(blocks) + draw(st.sampled_from(["", "\n", "\n\n", "junk"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return draw(st.sampled_from(["", "\ufeff"])) + text.replace("\n", newline)


@st.composite
def srt_sources(draw):
    """The text, or its bytes in one of the encodings subtitles come in (or random bytes)."""
    text = draw(st.one_of(srt_files(), st.text(max_size=200)))
    how = draw(st.sampled_from(["text", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "latin-1", "bytes"]))
    if how == "text":
        return text
    if how == "bytes":
        return draw(st.sampled_from([b"", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf"])) + draw(st.binary(max_size=300))
    data = text.encode(how, errors="replace")
    return data[: draw(st.integers(0, len(data)))] if draw(st.booleans()) else data  # cut short, or not


# Hypothesis spends ~50 ms drawing one structured SRT file on a busy machine; at 100,000 inputs
# the big run draws a seed instead and builds the same kinds of input from it with `random`
# (~0.1 ms). Hypothesis still prints the input that failed, and remembers its seed.
_CONTROL_POOL = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\u2028", "\u200b", "\ufeff", "\t", "\v", "\f"]
_WORD_POOL = ["Hello", "world", "über", "日本語", "ـمرحبا", "x" * 40, "1.5", "Dr.", "?!", "", " ", "-->", "12"]


def _fragment(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.4:
        return rng.choice(_WORD_POOL)
    if kind < 0.7:
        return rng.choice(TAG_LIST)
    if kind < 0.8:
        return rng.choice(_CONTROL_POOL)
    if kind < 0.9:
        return rng.choice(["\n", "\r\n", "\r", " ", "."])
    planes = [(32, 127), (0x80, 0x3000), (0xE000, 0x10FFFF)]  # no lone surrogates: they are not text
    return "".join(chr(rng.randrange(*rng.choice(planes))) for _ in range(rng.randrange(1, 6)))


def _markup_from(seed: int) -> str:
    rng = random.Random(seed)
    return "".join(_fragment(rng) for _ in range(rng.randrange(0, 16)))


def _stamp_from(rng: random.Random) -> str:
    if rng.random() < 0.6:
        hours = rng.choice([0, 0, 0, 1, 23, 24, 25, 99, 10**6, 10**20])
        return f"{hours:02d}:{rng.randrange(100):02d}:{rng.randrange(100):02d},{rng.randrange(10000):03d}"
    fields = [rng.choice(["0", "00", "000", "59", "99", str(10**rng.randrange(40)), "", "-1", "x", "١"])
              for _ in range(4)]
    return f"{fields[0]}:{fields[1]}:{fields[2]}{rng.choice([',', '.', ':', '，', ';', ''])}{fields[3]}"


def _srt_from(seed: int) -> str | bytes:
    rng = random.Random(seed)
    blocks = []
    for n in range(rng.randrange(0, 9)):
        number = rng.choice([str(n + 1), str(n + 1), "1", "", "-3", "2.5", "007", "x"])
        arrow = rng.choice(["-->", "-->", "->", "- >", "--> ", "—>"])
        lines = ["".join(_fragment(rng) for _ in range(rng.randrange(0, 5))) for _ in range(rng.randrange(0, 3))]
        blocks.append("\n".join([*([number] if number else []), f"{_stamp_from(rng)} {arrow} {_stamp_from(rng)}",
                                  *lines]))
    text = rng.choice(["\n\n", "\n\n", "\n", "\n\n\n", "\n \n"]).join(blocks)
    text = rng.choice(["", "\ufeff"]) + (text + rng.choice(["", "\n", "junk"])).replace(
        "\n", rng.choice(["\n", "\r\n", "\r"]))
    how = rng.choice(["text", "text", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "latin-1", "bytes"])
    if how == "text":
        return text
    if how == "bytes":
        return rng.choice([b"", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf"]) + rng.randbytes(rng.randrange(300))
    data = text.encode(how, errors="replace")
    return data[: rng.randrange(len(data) + 1)] if rng.random() < 0.2 else data  # a file cut short


SEED = st.integers(0, 2**64)
SRT_INPUT = SEED.map(_srt_from) if BIG else st.one_of(srt_sources(), SEED.map(_srt_from))
MARKUP_INPUT = st.one_of(MARKUP, SEED.map(_markup_from)) if not BIG else st.one_of(SEED.map(_markup_from), MARKUP)


# -- targets ------------------------------------------------------------------------------------
@fuzz("markup")
@given(MARKUP_INPUT, st.sampled_from([(), ("en", "de", "fr", "cy")]))
def test_markup_parser(text, languages):
    SEEN["markup"] += 1
    try:
        segments = parse(text, languages)
    except PolyvoxError as exc:
        assert "\n" not in str(exc)
        return
    assert all(isinstance(s, polyvox.Segment) for s in segments)


@fuzz("srt")
@given(SRT_INPUT)
def test_srt_reader(source):
    SEEN["srt"] += 1
    try:
        cues = read_srt(source)
    except PolyvoxError as exc:
        assert "\n" not in str(exc)
        return
    assert [c.index for c in cues] == list(range(1, len(cues) + 1))
    assert all(0 <= c.start <= c.end <= MAX_CUE_START for c in cues)
    assert [c.start for c in cues] == sorted(c.start for c in cues)


@pytest.fixture(scope="module")
def kernel():
    return polyvox.Kernel(cache=False, plugins=["template"])


@fuzz("render_script")
@given(st.lists(st.one_of(WORDS, TAGS, CONTROL, st.just("\n")), max_size=8).map("".join))
def test_render_script(kernel, text):
    SEEN["render_script"] += 1
    _render(kernel, text)


@fuzz("render_srt")
@given(srt_files(sane=True), st.sampled_from(["pad_with_silence", "stretch_to_fit", "smart_natural", "concatenate"]))
def test_render_subtitles(kernel, text, mode):
    SEEN["render_srt"] += 1
    _render(kernel, text, timing_mode=mode if polyvox.subtitles.srt.looks_like_srt(text) else None)


def _render(kernel, source, **kw):
    try:
        result = kernel.render(source, engine="template", **kw)
    except PolyvoxError as exc:
        assert "\n" not in str(exc)
        return
    assert result.audio is not None and result.audio.sample_rate > 0
