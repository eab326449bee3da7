"""The gates (text/normalize/gates.py) only skip passes that would have found nothing: every
text the tests and benchmarks normalize comes out the same with and without them, in every
built-in language."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from polyvox.text.normalize import BUILT_IN, Expander
from polyvox.text.normalize.gates import GATES

ROOT = Path(__file__).resolve().parent.parent


def _texts() -> list[str]:
    """Every string literal of the tests and benchmark texts that has something to expand."""
    found: set[str] = set()
    for path in [*sorted((ROOT / "tests").glob("test_*.py")), ROOT / "benchmarks" / "texts.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and 2 < len(node.value) < 2000:
                found.add(node.value)
    return sorted(found | set(_EDGES))


#: Texts at the edges of the gates (capitals, a sign or a bracket before the digits).
_EDGES = ["Um 5 PM.", "à 5 P.M.", "(555)123 4567", "+44 20 7946 0958", "+33 (0)1 23 45", "WWW.EXAMPLE.COM",
          "HTTP://EXAMPLE.COM/X", "Kapitel iv, Seite 5", "chapter iv, page 5", "(555)12345678",
          "-5°C", "−3 %", "10 000 km", "5′11″", "x²"]


TEXTS = _texts()


@pytest.mark.parametrize("language", sorted(BUILT_IN))
def test_gates_change_nothing_but_what_is_run(language):
    gated = Expander(BUILT_IN[language])
    ungated = Expander(BUILT_IN[language])
    ungated.passes = [(pattern, replace, None) for pattern, replace, _ in ungated.passes]
    assert len(TEXTS) > 2000, "the corpus is the test suite's texts"
    differ = [t for t in TEXTS if gated(t) != ungated(t)]
    assert not differ, differ[:5]


def test_every_gated_pass_exists_and_gates_skip_most_passes():
    expander = Expander(BUILT_IN["en"])
    names = {replace.__name__ for _, replace, _ in expander.passes}
    assert set(GATES) - names <= {"_dotted_day", "_heures", "_roman_ordinal", "_no_dash"}  # other languages'
    line = "Nobody in the village remembered a winter quite like this one. Line 3."
    run = [replace.__name__ for _, replace, needs in expander.passes if needs is None or needs.search(line)]
    assert run == ["_number", "_symbol"]
