"""Regional language tags: a region the engine does not declare falls back to the base
language's model, and a region it does declare wins over the base."""

from __future__ import annotations

import attrs
import pytest
from conftest import ToneEngine

import polyvox


class Regional(ToneEngine):
    """The tone engine speaking English and Portuguese, with optionally a Brazilian model."""

    def __init__(self, brazilian: bool):
        super().__init__()
        self.models = {"en": "base", "pt": "base"} | ({"pt-br": "large"} if brazilian else {})

    def spec(self) -> polyvox.EngineSpec:
        return attrs.evolve(super().spec(), languages=tuple(self.models))

    def language_model(self, language: str) -> str | None:
        return self.models.get(language)


def kernel_with(brazilian: bool) -> polyvox.Kernel:
    kernel = polyvox.Kernel(cache=False)
    kernel.register(Regional(brazilian))
    return kernel


def spoken(result: polyvox.RenderResult) -> list[tuple[str, str]]:
    return [(s.language, s.model) for s in result.segments if s.model]


@pytest.mark.parametrize("tag", ["en-gb", "en-GB", "en_GB", "en-au"])
def test_an_undeclared_region_speaks_with_the_base_languages_model(tag):
    kernel = kernel_with(brazilian=False)
    result = kernel.render("Good morning.", engine="tone", language=tag)
    assert [model for _, model in spoken(result)] == ["base"]
    english = kernel.render("Good morning.", engine="tone", language="en")
    assert result.audio == english.audio


def test_a_regional_tag_in_the_script_falls_back_to_its_base():
    kernel = kernel_with(brazilian=False)
    result = kernel.render("[pt-BR:] Olá, tudo bem?\n[en:] Hello.", engine="tone")
    assert spoken(result) == [("pt-br", "base"), ("en", "base")]


def test_an_exact_regional_declaration_wins_over_the_base():
    kernel = kernel_with(brazilian=True)
    result = kernel.render("[pt-BR:] Olá, tudo bem?\n[pt-PT:] Olá, tudo bem?\n[pt:] Olá.", engine="tone")
    assert [model for _, model in spoken(result)] == ["large", "base", "base"]
    assert kernel.planner.model_for("tone", "pt-br") == "large"
    assert kernel.planner.model_for("tone", "pt-br-x-test") == "large"  # the longest declared prefix


def test_a_region_of_an_undeclared_language_is_refused():
    kernel = kernel_with(brazilian=False)
    with pytest.raises(polyvox.UnsupportedLanguageError, match="fr"):
        kernel.render("Bonjour.", engine="tone", language="fr-ca")


def test_a_voice_whose_engine_does_not_speak_the_tags_language_is_refused_before_any_audio(tmp_path):
    """[de:Alice] with Alice = hibari's heart (English only) was read in German by an English
    voice, without a word ("German text came out with an English accent and nobody noticed");
    [ja:Alice] was made, cached, and then blamed on the engine for giving no audio."""
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    voices = {"Alice": polyvox.Voice(name="Alice", model="heart", engine="hibari")}
    for script in ("[de:Alice] Guten Tag.", "[ja:Alice] こんにちは。"):
        with pytest.raises(polyvox.UnsupportedLanguageError, match=r"Alice's voice 'heart' \(engine 'hibari'\) does "
                                                                   r"not speak '(de|ja)'"):
            kernel.plan(script, voices=voices)
    assert [j.request.language for j in kernel.plan("[Alice] Good day.", voices=voices)] == ["en-us"]


class Nihongo(ToneEngine):
    """Speaks English and Japanese (as Kokoro's int8 model with its Japanese voices does)."""

    def spec(self):
        return attrs.evolve(super().spec(), languages=("en", "ja"))

    def language_model(self, language: str) -> str | None:
        return "base" if language in ("en", "ja") else None


def test_chinese_characters_read_by_a_japanese_engine_are_said_to_be(tmp_path):
    """你好，世界 went to Kokoro's Japanese voice with Japanese readings and no word of it."""
    kernel = polyvox.Kernel(cache=False, plugins=[])
    kernel.register(Nihongo(name="nihongo"))
    result = kernel.render("你好，世界。今天天气很好。")
    assert [s.language for s in result.segments if s.engine] == ["ja"]
    assert any("Chinese characters without kana" in w and "(ja)" in w for w in result.warnings), result.warnings
    kana = kernel.render("こんにちは、世界。")  # Japanese as Japanese writes it: nothing to say
    assert not any("Chinese" in w for w in kana.warnings)


def test_a_word_in_another_script_inside_a_line_is_said_to_be_spelled_out():
    """"Welcome to 東京" was heard as "chinese letter chinese letter" without a word; a unit's
    μ or a π is no word of another language."""
    kernel = polyvox.Kernel(cache=False, plugins=[])
    kernel.register(ToneEngine(name="tone"))
    warned = kernel.render("Welcome to 東京 today. We visited Ελλάδα.").warnings
    assert any("'東京' is in Han script inside a en line" in w for w in warned), warned
    assert any("'Ελλάδα' is in Greek script" in w for w in warned), warned
    assert not [w for w in kernel.render("A 5 μm gap, π radians, Straße and Café.").warnings if "script" in w]
