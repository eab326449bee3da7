"""The content cache: what changes a key and what must not, invalidation, cross-mode hits."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import QUIET, ToneEngine

import polyvox
from polyvox.cache.keys import Fingerprints


def write_voice(path, freq=300.0, seconds=1.0, amplitude=0.2):
    t = np.arange(int(16000 * seconds)) / 16000
    polyvox.Audio((amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32), 16000).write(path)
    return path


def key(kernel, text="Hello there.", **kw):
    (job,) = kernel.plan([polyvox.Segment(text)], **kw)
    return job.key


def test_what_changes_the_key(tone_kernel, tmp_path):
    k = tone_kernel
    base = key(k, engine="tone")
    assert key(k, engine="tone", language="de") != base
    assert key(k, "Hello there!", engine="tone") != base
    assert key(k, engine="tone", params={"rate": 1.5}) != base
    assert key(k, engine="tone", seed=7) != base
    assert key(k, engine="tone", model="large") != base
    voice = polyvox.Voice(name="a", audio=write_voice(tmp_path / "a.wav"), reference_text="Hi.")
    with_voice = key(k, engine="tone", voice=voice)
    assert with_voice != base
    assert key(k, engine="tone", voice=polyvox.Voice(name="a", audio=voice.audio, reference_text="Hey.")) != with_voice


def test_what_does_not_change_the_key(tone_kernel, tmp_path):
    k = tone_kernel
    base = key(k, engine="tone", params={"rate": 0.5})
    assert key(k, "  Hello   there. ", engine="tone", params={"rate": 0.50000001}) == base
    assert key(k, engine="tone", params={"speed": 0.5}) == base  # alias
    explicit_defaults = key(k, engine="tone", params={"rate": 1.0, "brightness": 0.5})
    assert explicit_defaults == key(k, engine="tone")
    # the same audio under another name, path or mtime is the same voice
    a = write_voice(tmp_path / "a.wav")
    b = tmp_path / "elsewhere" / "b.wav"
    b.parent.mkdir()
    shutil.copy(a, b)
    va = polyvox.Voice(name="Alice", audio=a, reference_text="Hi.")
    vb = polyvox.Voice(name="Bob", audio=b, reference_text="Hi.")
    assert key(k, engine="tone", voice=va) == key(k, engine="tone", voice=vb)


def test_voice_file_changed_under_same_name_is_a_miss(tmp_path):
    engine = ToneEngine()
    k = polyvox.Kernel(cache_dir=tmp_path / "c")
    k.register(engine)
    path = write_voice(tmp_path / "narrator.wav", freq=300)
    voice = polyvox.Voice(name="narrator", audio=path)
    first = k.synthesize("Some words.", engine="tone", voice=voice)
    write_voice(path, amplitude=0.4)  # new content, same name
    k2 = polyvox.Kernel(cache_dir=tmp_path / "c")
    k2.register(engine)
    second = k2.synthesize("Some words.", engine="tone", voice=polyvox.Voice(name="narrator", audio=path))
    assert len(engine.calls) == 2 and first != second


def test_model_file_fingerprint_changes_key(tmp_path):
    class FileModel(ToneEngine):
        def files(self, model):
            return [str(tmp_path / f"{model}.bin")]

    (tmp_path / "base.bin").write_bytes(b"weights v1")
    k = polyvox.Kernel(cache=False)
    k.register(FileModel())
    before = key(k, engine="tone")
    (tmp_path / "base.bin").write_bytes(b"weights v2")
    k2 = polyvox.Kernel(cache=False)
    k2.register(FileModel())
    assert key(k2, engine="tone") != before


def test_reference_file_hashed_once_for_many_segments(tone_kernel, tmp_path):
    voice = polyvox.Voice(name="v", audio=write_voice(tmp_path / "v.wav"))
    before = tone_kernel.fingerprints.files_hashed
    tone_kernel.plan([polyvox.Segment(f"Line {i}.") for i in range(300)], engine="tone", voice=voice)
    assert tone_kernel.fingerprints.files_hashed - before == 1


def test_a_voice_is_fingerprinted_once_per_plan_not_per_segment(tone_kernel, tmp_path, monkeypatch):
    voices = {"A": polyvox.Voice(name="A", audio=write_voice(tmp_path / "a.wav")),
              "B": polyvox.Voice(name="B", audio=write_voice(tmp_path / "b.wav", freq=500.0))}
    fingerprinted = []
    real = Fingerprints.voice
    monkeypatch.setattr(Fingerprints, "voice", lambda self, v: fingerprinted.append(v.name) or real(self, v))
    jobs = tone_kernel.plan("\n".join(f"[{'AB'[i % 2]}] Line {i}." for i in range(40)), engine="tone",
                            voices=voices)
    assert sorted(fingerprinted) == ["A", "B"]  # not 40
    by_voice = {j.request.voice.name: (j.voice_key, j.key) for j in jobs}
    assert by_voice["A"][0] != by_voice["B"][0]  # each voice keeps its own keys
    assert {j.voice_key for j in jobs if j.request.voice.name == "A"} == {by_voice["A"][0]}
    # the same voice with a parameter that shapes it is another voice key, in the same plan too
    shaped = tone_kernel.plan("[A] One.\n[A|brightness:0.9] Two.\n[A] Three.", engine="tone", voices=voices)
    assert shaped[0].voice_key == shaped[2].voice_key == by_voice["A"][0] != shaped[1].voice_key


def test_file_hash_memo_survives_processes(tmp_path):
    path = write_voice(tmp_path / "v.wav")
    cache = polyvox.cache.store.ContentCache(tmp_path / "c")
    first = Fingerprints(cache.store)
    digest = first.file(path)
    second = Fingerprints(cache.store)
    assert second.file(path) == digest and second.files_hashed == 0


def test_stream_then_render_synthesizes_nothing(kernel):
    script = [polyvox.Segment("One."), polyvox.Segment(pause=0.2), polyvox.Segment("Two.")]
    streamed = polyvox.Audio.concatenate(kernel.stream(script, params=QUIET))
    calls = kernel.scheduler.calls
    result = kernel.render(script, params=QUIET)
    assert kernel.scheduler.calls == calls
    assert result.stats.cached == 2 and result.stats.synthesized == 0
    assert result.audio == streamed
    assert kernel.synthesize("One.", **QUIET) == kernel.render([polyvox.Segment("One.")], params=QUIET).audio
    assert kernel.scheduler.calls == calls


def test_cache_across_kernels_and_runs(tmp_path):
    first = polyvox.Kernel(cache_dir=tmp_path / "c").render("A line.\nAnother line.")
    again = polyvox.Kernel(cache_dir=tmp_path / "c").render("A line.\nAnother line.")
    assert first.stats.synthesized == 2 and again.stats.cached == 2
    assert again.stats.model_loads == 0  # every segment cached: the model is never loaded
    assert first.audio == again.audio  # default seed fixed, noise or not, the cache serves the same audio


def test_different_seed_is_a_different_entry(tone_kernel):
    tone_kernel.render("Seeded.", engine="tone")
    assert tone_kernel.render("Seeded.", engine="tone").stats.cached == 1
    assert tone_kernel.render("Seeded.", engine="tone", seed=1).stats.synthesized == 1
    assert polyvox.render.planner.DEFAULT_SEED == 42


def test_stats_and_clear(tone_kernel):
    tone_kernel.render("One.\nTwo.\nThree.", engine="tone")
    tone_kernel.render("One.\nTwo.\nFour.", engine="tone")
    stats = tone_kernel.cache_stats()
    assert stats.entries == 4 and stats.size_bytes > 0
    assert (stats.last_hits, stats.last_misses) == (2, 1)
    assert stats.last_hit_rate == pytest.approx(2 / 3)
    assert tone_kernel.clear_cache() >= 4
    assert tone_kernel.cache_stats().entries == 0


def test_no_cache_option(tone_kernel, tone):
    tone_kernel.render("Again.", engine="tone")
    tone_kernel.render("Again.", engine="tone", use_cache=False)
    assert tone.calls == ["Again.", "Again."]


def test_model_given_as_a_path_is_known_by_content(tone_kernel, tmp_path):
    a, b = tmp_path / "a.ckpt", tmp_path / "b.ckpt"
    a.write_bytes(b"weights one")
    b.write_bytes(b"weights two")
    assert key(tone_kernel, engine="tone", model=str(a)) != key(tone_kernel, engine="tone", model=str(b))
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.copy(a, moved / "a.ckpt")
    assert key(tone_kernel, engine="tone", model=str(a)) == key(tone_kernel, engine="tone", model=str(moved / "a.ckpt"))
    # a weights folder: moving it keeps the key, changing a file inside changes it
    one, two = tmp_path / "w1", tmp_path / "w2"
    one.mkdir()
    (one / "model.bin").write_bytes(b"v1")
    shutil.copytree(one, two)
    assert key(tone_kernel, engine="tone", model=str(one)) == key(tone_kernel, engine="tone", model=str(two))
    (two / "model.bin").write_bytes(b"v2")
    assert key(tone_kernel, engine="tone", model=str(one)) != key(tone_kernel, engine="tone", model=str(two))


def test_same_size_file_replaced_with_its_mtime_kept_is_hashed_again(tmp_path):
    import os

    path = tmp_path / "v.wav"
    path.write_bytes(b"A" * 100)
    prints = Fingerprints()
    before = prints.file(path)
    stat = path.stat()
    path.write_bytes(b"B" * 100)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # what cp -p / rsync -a do
    assert prints.file(path) != before


def test_weights_replaced_while_a_kernel_runs_are_reloaded_before_they_are_cached(tmp_path):
    """A long-running kernel (a server) keeps its models loaded. When a model's file is
    replaced in place, the next render's keys change with the content; the audio stored under
    those keys must come from the new weights, not from the model still in memory (else the
    cache holds old audio under the new weights' keys, for every later process too)."""

    class FileWeights(ToneEngine):
        """Its pitch is the number written in the model file, read at load time."""

        def files(self, model):
            return [str(tmp_path / "weights.txt")]

        def load(self, model, device):
            super().load(model, device)
            return {"pitch": float((tmp_path / "weights.txt").read_text())}

        def prepare(self, model, voice, params):
            return {"pitch": model["pitch"]}

    weights = tmp_path / "weights.txt"
    weights.write_text("300")
    engine = FileWeights()
    server = polyvox.Kernel(cache_dir=tmp_path / "c")
    server.register(engine)
    low = server.render("Some words to say.", engine="tone")
    weights.write_text("900")  # new weights at the same path
    high = server.render("Some words to say.", engine="tone")
    assert high.stats.synthesized == 1 and engine.loads == 2

    fresh = FileWeights()
    later = polyvox.Kernel(cache_dir=tmp_path / "fresh")
    later.register(fresh)
    truth = later.render("Some words to say.", engine="tone")
    np.testing.assert_array_equal(high.audio.samples, truth.audio.samples)
    assert not np.array_equal(low.audio.samples, high.audio.samples)
    # and the entry the server stored is what the new weights say
    reader = polyvox.Kernel(cache_dir=tmp_path / "c")
    reader.register(FileWeights())
    again = reader.render("Some words to say.", engine="tone")
    assert again.stats.cached == 1
    np.testing.assert_array_equal(again.audio.samples, truth.audio.samples)


def test_no_cache_synthesizes_again_and_stores_the_new_take(tmp_path):
    """`--no-cache` (use_cache=False) reads nothing from the cache but still stores what it
    makes, replacing the old entry: a render cut short keeps its finished segments, and the
    next cached render plays the take just made, not the one before it."""

    class Varying(ToneEngine):
        """An engine whose output changes from call to call (as sampling engines do)."""

        def synthesize(self, model, request, conditioning):
            audio = super().synthesize(model, request, conditioning)
            return polyvox.Audio(audio.samples * (1.0 - 0.1 * len(self.calls)), audio.sample_rate)

    engine = Varying()
    kernel = polyvox.Kernel(cache_dir=tmp_path / "c")
    kernel.register(engine)
    first = kernel.render("One take.", engine="tone")
    fresh = kernel.render("One take.", engine="tone", use_cache=False)
    assert fresh.stats.synthesized == 1 and not np.array_equal(first.audio.samples, fresh.audio.samples)
    again = kernel.render("One take.", engine="tone")
    assert again.stats.cached == 1
    np.testing.assert_array_equal(again.audio.samples, fresh.audio.samples)
    kernel.render("A line never rendered before.", engine="tone", use_cache=False)
    assert kernel.render("A line never rendered before.", engine="tone").stats.cached == 1


def test_a_render_longer_than_the_cache_holds_says_it_will_be_made_again(tmp_path):
    """With the 4 GB default, a book past ~13 h got no hit on its re-render (each new take
    pushed out the next one it would read) and nothing said so."""
    kernel = polyvox.Kernel(cache_dir=tmp_path / "small", plugins=["template"], cache_size_limit=3 * 2**20)
    text = "\n".join(f"Line number {n} is here and it is long enough to matter." for n in range(40))
    said = kernel.render(text, engine="template").warnings
    assert any("made more than the cache holds (its limit: 3 MB)" in w for w in said), said
    roomy = polyvox.Kernel(cache_dir=tmp_path / "roomy", plugins=["template"])
    assert not [w for w in roomy.render(text, engine="template").warnings if "cache holds" in w]
