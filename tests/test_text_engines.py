"""What an engine receives: normalization by engine and language, the lexicon, the content key
(issue #35)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import ToneEngine

import polyvox
from polyvox.errors import PolyvoxError
from polyvox.text.lexicon import Lexicon, read_entries


class Reader(ToneEngine):
    """A tone engine that declares what it reads itself and how it takes phonemes."""

    def __init__(self, *, normalizes: tuple[str, ...] = (), phonemes: str = "", **kwargs: Any):
        super().__init__(**kwargs)
        self.normalizes = normalizes
        self.phonemes = phonemes

    def spec(self) -> polyvox.EngineSpec:
        spec = super().spec()
        caps = polyvox.Capabilities(seeded=True, normalizes=self.normalizes, phonemes=self.phonemes)
        return polyvox.EngineSpec(name=spec.name, sample_rate=spec.sample_rate, languages=spec.languages,
                                  default_model=spec.default_model, params=spec.params, max_chars=spec.max_chars,
                                  capabilities=caps, priority=spec.priority)


def _kernel(tmp_path: Path, engine: Reader, **kwargs: Any) -> polyvox.Kernel:
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=[], **kwargs)
    kernel.register(engine)
    return kernel


SCRIPT = "It costs $42.50.\n[de] Am 3. Mai um 10:30.\nHello there."


def test_an_engine_that_reads_nothing_itself_receives_words(tmp_path):
    engine = Reader()
    _kernel(tmp_path, engine).render(SCRIPT, engine="tone")
    assert engine.calls == ["It costs forty-two dollars and fifty cents.",
                            "Am dritten Mai um zehn Uhr dreißig.", "Hello there."]


def test_an_engine_that_normalizes_english_receives_english_as_written(tmp_path):
    engine = Reader(normalizes=("en",))
    _kernel(tmp_path, engine).render(SCRIPT, engine="tone")
    assert engine.calls == ["It costs $42.50.", "Am dritten Mai um zehn Uhr dreißig.", "Hello there."]


def test_normalize_true_and_false_override_the_engine(tmp_path):
    engine = Reader(normalizes=("en",))
    kernel = _kernel(tmp_path, engine)
    kernel.render("It costs $5.", engine="tone", normalize=True)
    kernel.render("It costs $6.", engine="tone", normalize=False, use_cache=False)
    assert engine.calls == ["It costs five dollars.", "It costs $6."]
    with pytest.raises(PolyvoxError, match="normalize='sometimes'"):
        kernel.render("x", engine="tone", normalize="sometimes")


def test_emoji_are_never_sent_to_an_engine_but_stay_in_the_written_words(tmp_path):
    """A chat reply's 🎉 is not read as "party popper", whether or not the kernel normalizes."""
    engine = Reader(normalizes=("en",))
    kernel = _kernel(tmp_path, engine)
    result = kernel.render("Great job 🎉 team! I love it ❤️ so much 👍🏽.", engine="tone")
    kernel.render("Flags 🇫🇷 and 👨‍👩‍👧 here.", engine="tone", normalize=True)
    assert engine.calls == ["Great job team! I love it so much.", "Flags and here."]
    assert "🎉" in [w.word for w in result.words]  # the script's words as written, the emoji without length


def test_markdown_marks_of_a_chat_reply_are_never_sent_to_an_engine(tmp_path):
    """A chat model's reply read aloud: "## Summary" is not "number number Summary", and no
    engine is given asterisks or backticks; a word's own underscores and a lone * stay."""
    engine = Reader(normalizes=("en",))
    kernel = _kernel(tmp_path, engine)
    kernel.render("## Summary\n* Use **bold** and `pip install` _now_.\nKeep snake_case and 5 * 3.", engine="tone")
    kernel.render("### Steps", engine="tone", normalize=True)
    kernel.render("First.\n\n***\n\nThen <b>this</b>.<br>Done.", engine="tone")
    assert engine.calls == ["Summary", "Use bold and pip install now.", "Keep snake_case and 5 * 3.", "Steps",
                            "First.", "Then this. Done."]


def test_a_markdown_link_is_its_words_and_no_character(tmp_path):
    """A chat reply's [the docs](https://…) became a character called "the docs" in a script
    (with --cast auto, a voice of its own) and had its address read aloud as plain text; an
    image, a footnote's mark and a strike-through's tildes were read too."""
    engine = Reader(normalizes=("en",))
    kernel = _kernel(tmp_path, engine)
    reply = "See [the docs](https://example.com/docs) or ![a chart](x.png) this[^1]. ~~Old~~ new."
    result = kernel.render(reply, engine="tone")
    assert engine.calls == ["See the docs or this. Old new."]
    assert not any("unknown character" in w for w in result.warnings)
    engine.calls.clear()
    kernel.render([polyvox.Segment(text=reply)], engine="tone", use_cache=False)  # plain text, as the server has it
    assert engine.calls == ["See the docs or this. Old new."]


def test_the_segment_keeps_the_written_text_and_the_key_follows_the_spoken(tmp_path):
    kernel = _kernel(tmp_path, Reader())
    said = kernel.plan("It costs $5. Hello there.\nHello there.", engine="tone")
    kept = kernel.plan("It costs $5. Hello there.\nHello there.", engine="tone", normalize=False)
    assert [j.segment.text for j in said] == ["It costs $5. Hello there.", "Hello there."]
    assert said[0].segment.spoken == "It costs five dollars. Hello there." and said[1].segment.spoken is None
    assert said[0].key != kept[0].key  # the key hashes what the engine is sent
    assert said[1].key == kept[1].key  # a segment normalization leaves alone keeps its audio


def test_a_long_segment_is_chunked_by_its_spoken_length(tmp_path):
    """Each chunk of a segment whose words grow must fit the engine's max_chars spoken, and
    keeps its own written text."""
    kernel = _kernel(tmp_path, Reader())
    text = " ".join(f"Item {n} costs ${n}.{n:02d} on {n}/03/2025." for n in range(1, 9))
    jobs = kernel.plan(text, engine="tone")
    assert len(jobs) > 1
    assert all(len(j.request.text) <= 200 for j in jobs)
    assert " ".join(j.segment.text for j in jobs) == text
    assert all("$" not in j.request.text for j in jobs)


LEXICON = """\
# names the engines get wrong
Nguyen = Win
SQL = sequel
Siobhan = /ʃɪˈvɔːn/
[de]
Chatbot = Tschättbott
"""


def test_lexicon_entries_are_whole_words_per_language_and_case(tmp_path):
    lexicon = Lexicon(read_entries(LEXICON))
    text, blocks, skipped = lexicon.apply("NGUYEN and Nguyens; SQL, sql. Chatbot", "en", "")
    assert text == "Win and Nguyens; sequel, sql. Chatbot"
    assert lexicon.apply("Der Chatbot", "de")[0] == "Der Tschättbott"
    with pytest.raises(PolyvoxError, match="line 2"):
        read_entries("ok = fine\nnot an entry\n", "lex.txt")


def test_lexicon_phonemes_reach_a_phoneme_engine_as_phonemes(tmp_path):
    (tmp_path / "lexicon.txt").write_text(LEXICON, encoding="utf-8")
    engine = Reader(phonemes="[[ {} ]]")
    _kernel(tmp_path, engine, lexicon=tmp_path / "lexicon.txt").render("Siobhan paid $5 to Nguyen.", engine="tone")
    assert engine.calls == ["[[ ʃɪˈvɔːn ]] paid five dollars to Win."]


def test_lexicon_phonemes_are_skipped_with_a_warning_for_other_engines(tmp_path):
    (tmp_path / "lexicon.txt").write_text(LEXICON, encoding="utf-8")
    engine = Reader()
    result = _kernel(tmp_path, engine, lexicon=tmp_path / "lexicon.txt").render("Siobhan and Nguyen.", engine="tone")
    assert engine.calls == ["Siobhan and Win."]
    assert any("takes no phonemes" in w and "Siobhan" in w for w in result.warnings)


def test_a_voices_folder_lexicon_changes_only_segments_with_the_word(tmp_path):
    voices = tmp_path / "voices"
    voices.mkdir()
    engine = Reader()
    kernel = _kernel(tmp_path, engine)
    script = "Nguyen is here.\nNobody else."
    kernel.render(script, engine="tone", voices=voices)
    (voices / "#pronunciations.txt").write_text("Nguyen = Win\n", encoding="utf-8")
    kernel.render(script, engine="tone", voices=voices)
    assert engine.calls == ["Nguyen is here.", "Nobody else.", "Win is here."]  # "Nobody else." from the cache


def test_piper_takes_lexicon_phonemes_and_speaks_them(tmp_path):
    """Piper (espeak) declares `[[ ]]` phonemes: the entry reaches it as phonemes, and it speaks."""
    (tmp_path / "lexicon.txt").write_text("Zork = /zˈɔːɹk/\n", encoding="utf-8")
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=["piper"], lexicon=tmp_path / "lexicon.txt")
    (job,) = kernel.plan("Zork costs $3.", engine="piper")
    assert job.request.text == "[[ zˈɔːɹk ]] costs three dollars."
    assert not kernel.engine("piper").capabilities.normalizes
    audio = kernel.render("Zork costs $3.", engine="piper").audio
    assert audio.duration > 0.5 and audio.rms > 0.01


def test_dry_run_lists_what_each_engine_receives(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from polyvox.cli import cli

    monkeypatch.setenv("POLYVOX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("POLYVOX_PLUGINS", "piper")
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("POLYVOX_CONFIG", str(tmp_path / "config.toml"))
    script = tmp_path / "s.txt"
    script.write_text("It costs $42.50.\n[pause:0.5s] Dr. Smith lives on St. John St.\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["render", str(script), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["segments"]
    assert [r["text"] for r in rows] == ["It costs forty-two dollars and fifty cents.", "",
                                         "doctor Smith lives on saint John street."]
    assert rows[0]["written"] == "It costs $42.50." and rows[0]["engine"] == "piper" and rows[1]["pause"] == 0.5
    assert not (tmp_path / "out").exists()  # nothing synthesized, nothing written
    plain = CliRunner().invoke(cli, ["render", str(script), "--dry-run", "--no-normalize"])
    assert "It costs $42.50." in plain.stdout
    (tmp_path / "lexicon.txt").write_text("Smith = Smythe\n", encoding="utf-8")
    monkeypatch.setenv("POLYVOX_LEXICON", str(tmp_path / "lexicon.txt"))  # the config key `lexicon`
    respelled = CliRunner().invoke(cli, ["render", str(script), "--dry-run"])
    assert "doctor Smythe lives on saint John street." in respelled.stdout, respelled.output
    # what a render would warn of, a dry run says too (on stderr), and a tag's parameters show
    script.write_text("[Alice|length_scale:1.4] Slow [pause:45s] now.\n", encoding="utf-8")
    checked = CliRunner().invoke(cli, ["render", str(script), "--dry-run"])
    assert "length_scale=1.4 Slow" in checked.stdout and "warning" not in checked.stdout
    assert "cut to 30 s" in checked.stderr and "unknown character 'Alice'" in checked.stderr
    listed = json.loads(CliRunner().invoke(cli, ["render", str(script), "--dry-run", "--json"]).stdout)
    assert listed["segments"][0]["params"] == {"length_scale": 1.4} and any("30 s" in w for w in listed["warnings"])
