"""Books: an EPUB made here with ebooklib (three chapters with words, one without, a cover,
dialogue for the narrator (Piper's joe) and Alice (hibari's heart)) rendered to .m4b, .mp3 and
.opus with chapters, tags and cover read back by PyAV and mutagen; loudness per chapter and per
voice; one file per chapter; malformed EPUBs; ACX checks. One render synthesizes, the rest come
from the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import polyvox

ebooklib = pytest.importorskip("ebooklib")
av = pytest.importorskip("av")
mutagen = pytest.importorskip("mutagen")
pytest.importorskip("pyloudnorm")

from ebooklib import epub  # noqa: E402

#: A 2×2 PNG: the cover.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000020000000208020000"
                    "00fdd49a730000001649444154789c63f8cfc0f01f0418fe33fccfc0c000002cfe05fe51e6a4f10000000049454e44ae426082")
TITLES = ["Loomings", "The Carpet-Bag", "The Spouter-Inn"]
CHAPTERS = [
    ("Loomings", "<p>Call me Ishmael.<a epub:type='noteref' href='#n1'>[1]</a> Some years ago<sup>2</sup> I went "
                 "to sea.</p><span epub:type='pagebreak' title='7'>7</span><p>[Alice] Hello, who goes there?</p>"),
    ("The Carpet-Bag", "<p>[Alice] I packed a shirt or two.</p><p>And then I left for the harbour.</p>"),
    ("Blank", "<p> </p>"),
    ("The Spouter-Inn", "<p>The inn was low and wide.</p><p>[Alice] It smelled of the sea.</p>"),
]
VOICES = {"Alice": polyvox.Voice(name="Alice", model="heart", engine="hibari")}
TARGET = -18.0


def make_epub(path: Path, chapters=CHAPTERS, cover: bool = True, cover_page: bool = False) -> Path:
    book = epub.EpubBook()
    book.set_identifier("polyvox-test")
    book.set_title("The Test Voyage")
    book.set_language("en")
    book.add_author("Ann Author")
    if cover:
        book.set_cover("cover.png", PNG, create_page=False)
    items = []
    for n, (title, body) in enumerate(chapters, 1):
        item = epub.EpubHtml(title=title, file_name=f"c{n}.xhtml", lang="en")
        item.content = f"<html><body><h1>{title}</h1>{body}</body></html>"
        book.add_item(item)
        items.append(item)
    book.toc = items
    spine = ["nav", *items]
    if cover_page:  # a page with the cover image and a <title>, in the spine but not the table of contents
        page = epub.EpubHtml(title="Cover", file_name="cover-page.xhtml", lang="en")
        page.content = "<html><head><title>Cover</title></head><body><img src='cover.png' alt='Cover'/></body></html>"
        book.add_item(page)
        spine.insert(1, page)
    book.spine = spine
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    epub.write_epub(str(path), book)
    return path


@pytest.fixture(scope="module")
def shelf(tmp_path_factory):
    """The book, a kernel with its own cache, and the book rendered to .m4b at -18 LUFS."""
    root = tmp_path_factory.mktemp("books")
    kernel = polyvox.Kernel(cache_dir=root / "cache")
    book = make_epub(root / "voyage.epub")
    events: list = []
    result = kernel.render(book, voices=VOICES, output=root / "voyage.m4b", loudness=TARGET, on_event=events.append)
    return root, kernel, book, result, events


def test_epub_is_read_into_chapters_without_notes_or_page_numbers(shelf):
    book = polyvox.read_book(shelf[2])
    assert [c.title for c in book.chapters] == [*TITLES[:2], "Blank", TITLES[2]]
    assert book.title == "The Test Voyage" and book.author == "Ann Author" and book.cover.data == PNG
    first = book.chapters[0].text
    assert first.splitlines() == ["Call me Ishmael. Some years ago I went to sea.", "[Alice] Hello, who goes there?"]


def test_a_cover_page_is_no_chapter(tmp_path):
    book = polyvox.read_book(make_epub(tmp_path / "covered.epub", cover_page=True))
    assert [c.title for c in book.chapters] == [*TITLES[:2], "Blank", TITLES[2]]


def test_m4b_has_chapters_title_author_and_cover(shelf):
    root, _, _, result, events = shelf
    assert [c.title for c in result.chapters] == TITLES  # the blank one skipped ...
    assert any("chapter 3 (Blank) has nothing to say" in w for w in result.warnings)  # ... with a warning
    assert [e.title for e in events if isinstance(e, polyvox.events.ChapterStarted)] == TITLES
    with av.open(str(root / "voyage.m4b")) as container:
        marks = container.chapters()
        assert container.streams.audio[0].codec_context.name == "aac"
    assert [m["metadata"]["title"] for m in marks] == TITLES
    starts = [float(m["start"] * m["time_base"]) for m in marks]
    assert starts == sorted(starts) and starts[0] == 0.0
    assert starts == pytest.approx([c.start for c in result.chapters], abs=0.002)
    # each chapter starts where its first words are placed (after its room tone)
    firsts = [next(s for s in result.segments if s.engine and s.start >= c.start) for c in result.chapters]
    assert [s.segment.text for s in firsts] == TITLES
    tags = mutagen.File(root / "voyage.m4b").tags
    assert tags["\xa9nam"] == ["The Test Voyage"] and tags["\xa9ART"] == ["Ann Author"]
    assert bytes(tags["covr"][0]) == PNG
    assert (root / "voyage.m4b").read_bytes()[4:12] == b"ftypM4B "  # an audiobook by its file type, not M4A


def test_mp3_has_id3_chapters_and_opus_chapter_comments(shelf):
    root, kernel, book, result, _ = shelf
    mp3 = kernel.render(book, voices=VOICES, output=root / "voyage.mp3", loudness=TARGET)
    assert mp3.stats.synthesized == 0  # every take from the cache
    from mutagen.id3 import ID3

    id3 = ID3(root / "voyage.mp3")
    chaps = sorted(id3.getall("CHAP"), key=lambda f: f.start_time)
    assert [c.sub_frames["TIT2"].text[0] for c in chaps] == TITLES
    assert [c.start_time for c in chaps] == [round(c.start * 1000) for c in result.chapters]
    assert id3.getall("CTOC")[0].child_element_ids == [c.element_id for c in chaps]
    assert str(id3["TPE1"]) == "Ann Author" and id3.getall("APIC")[0].data == PNG
    kernel.render(book, voices=VOICES, output=root / "voyage.opus", loudness=TARGET)
    opus = mutagen.File(root / "voyage.opus")
    assert type(opus).__name__ == "OggOpus"
    assert [opus[f"CHAPTER{n:03d}NAME"][0] for n in (1, 2, 3)] == TITLES
    assert opus["CHAPTER001"] == ["00:00:00.000"] and "CHAPTER004" not in opus
    assert [m.title for m in polyvox.read_chapters(root / "voyage.opus", 60.0)] == TITLES


def _chapters_of(audio: polyvox.Audio, marks) -> list[np.ndarray]:
    rate = audio.sample_rate
    return [audio.samples[round(m.start * rate): round(m.end * rate)] for m in marks]


def test_every_chapter_and_both_engines_land_at_the_target_loudness(shelf):
    root, kernel, book, result, _ = shelf
    wav = kernel.render(book, voices=VOICES, output=root / "voyage.wav", loudness=TARGET)
    audio = polyvox.Audio.read(root / "voyage.wav")
    for samples in _chapters_of(audio, wav.chapters):
        assert polyvox.integrated_loudness(samples, audio.sample_rate) == pytest.approx(TARGET, abs=1.0)
    by_engine: dict[str, list[np.ndarray]] = {"piper": [], "hibari": []}
    rate = audio.sample_rate
    for s in wav.segments:
        if s.engine:
            by_engine[s.engine].append(audio.samples[round(s.start * rate): round((s.start + s.duration) * rate)])
    piper, hibari = (polyvox.integrated_loudness(np.concatenate(v), rate) for v in by_engine.values())
    assert abs(piper - hibari) <= 1.0 and piper == pytest.approx(TARGET, abs=1.0)
    from polyvox.mastering.loudness import true_peak

    peak = true_peak(audio.samples)
    assert 20 * np.log10(peak) <= -1.0 + 0.1


def test_loudness_leaves_the_cached_takes_raw(shelf):
    root, kernel, book, _, _ = shelf
    raw = kernel.render(book, voices=VOICES)  # no target: the takes as the engines made them
    assert raw.stats.synthesized == 0
    rate = raw.audio.sample_rate
    levels = [polyvox.integrated_loudness(s, rate) for s in _chapters_of(raw.audio, raw.chapters)]
    assert max(abs(level - TARGET) for level in levels) > 1.0  # so leveling is what brought them there


def _cli(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "POLYVOX_CACHE_DIR": str(cache), "POLYVOX_PLUGINS": "piper,hibari"}
    polyvox_bin = os.path.join(os.path.dirname(sys.executable), "polyvox")
    return subprocess.run([polyvox_bin, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_cli_splits_chapters_lists_them_in_json_and_checks_acx(shelf):
    root, *_ = shelf
    (root / "voices").mkdir(exist_ok=True)
    (root / "voices" / "voices.txt").write_text("Alice = hibari:heart\n")
    out = _cli("render", "voyage.epub", "-o", "split/voyage.m4b", "--split", "chapters", "--acx", "--json",
               "--voices", "voices", "--captions", "split/voyage.vtt", cwd=root, cache=root / "cache")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert [c["title"] for c in summary["chapters"]] == TITLES
    # captions per chapter file, timed from its own start (one file for the whole book fit none)
    import webvtt

    for n, chapter in enumerate(summary["chapters"], 1):
        captions = root / summary["outputs"][f"captions{n}"]
        assert captions.name == Path(chapter["file"]).stem + ".vtt"
        cues = list(webvtt.read(str(captions)))
        assert cues[0].text.startswith(chapter["title"].split("-")[0])
        assert cues[0].start_in_seconds < 2.0 and cues[-1].end_in_seconds <= chapter["end"] - chapter["start"] + 0.01
    assert not (root / "split" / "voyage.vtt").exists()
    assert "chapter 2/3 The Carpet-Bag" in out.stderr  # progress names the chapter
    files = [Path(root / c["file"]) for c in summary["chapters"]]
    assert [f.name for f in files] == ["voyage-01-loomings.m4b", "voyage-02-the-carpet-bag.m4b",
                                       "voyage-03-the-spouter-inn.m4b"]
    assert [mutagen.File(f).tags["\xa9nam"][0] for f in files] == TITLES
    assert [mutagen.File(f).tags["trkn"][0] for f in files] == [(1, 3), (2, 3), (3, 3)]  # players order by it
    streamed = _cli("render", "voyage.epub", "-o", "streamed.mp3", "--stream", "--voices", "voices", "-q",
                    cwd=root, cache=root / "cache")  # written as it is made, chapters at the end
    assert streamed.returncode == 0, streamed.stderr
    assert [m.title for m in polyvox.read_chapters(root / "streamed.mp3", 60.0)] == TITLES
    good = _cli("check", "--acx", str(files[0]), "--json", "--strict", cwd=root, cache=root / "cache")
    assert good.returncode == 0, good.stdout + good.stderr
    checked = json.loads(good.stdout)["chapters"][0]
    assert checked["passed"] is True
    # its room tone: no silence is digital zero (-inf), and the floor is inside ACX's -60 dB after AAC
    assert checked["noise_floor"] is not None and -72 < checked["noise_floor"] < -68, checked
    # the same book without --acx: peaks at -1 dBTP fail ACX's -3 dB, chapter by chapter
    bad = _cli("check", "--acx", "voyage.m4b", "--json", "--strict", cwd=root, cache=root / "cache")
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert [c["title"] for c in report["chapters"]] == TITLES
    assert all(any(f.startswith("peak") for f in c["flags"]) for c in report["chapters"])


def test_acx_brings_short_chapters_to_the_middle_of_its_rms_range(shelf, tmp_path):
    """ACX measures RMS over the whole chapter, room tone included: takes at -18 LUFS leave a
    chapter of two short lines near -23 dB; `rms` brings each chapter to -20 dB under the ceiling."""
    root, kernel, *_ = shelf
    short = polyvox.read_source(make_epub(tmp_path / "short.epub", cover=False, chapters=[
        ("Loomings", "<p>Call me Ishmael.</p><p>[Alice] Where to?</p>"),
        ("Long", "<p>" + "It was a long and winding road by the sea, and we walked it. " * 4 + "</p>")]))
    levels = {}
    for rms in (None, -20.0):
        result = kernel.render(short, voices=VOICES, loudness=polyvox.Loudness(TARGET, -3.5, rms=rms))
        chapters = _chapters_of(result.audio, result.chapters)
        levels[rms] = [10 * np.log10(np.mean(np.square(c, dtype=np.float64))) for c in chapters]
        from polyvox.mastering.loudness import true_peak

        assert all(20 * np.log10(true_peak(c)) <= -3.5 + 0.1 for c in chapters)
    assert levels[None][0] < -21.5  # the short chapter: too quiet for ACX's taste without it
    assert levels[-20.0] == pytest.approx([-20.0, -20.0], abs=0.3)
    with pytest.raises(polyvox.ParameterError, match="chapter RMS -3"):
        polyvox.Loudness(-18, rms=-3)


def test_room_tone_lies_under_every_silence_and_is_the_same_each_time(shelf):
    """Engines make digital silence in pauses; `room_tone` lays a faint seeded noise under the
    whole output, at the RMS asked, the same on every render."""
    _, kernel, *_ = shelf
    text = "Call me Ishmael.\n[Alice] Where to?"
    plain = kernel.render(text, voices=VOICES, loudness=polyvox.Loudness(TARGET, -3.5)).audio.samples
    toned = [kernel.render(text, voices=VOICES, loudness=polyvox.Loudness(TARGET, -3.5, room_tone=-70)).audio.samples
             for _ in range(2)]
    def quietest(samples: np.ndarray) -> float:  # dB RMS of the quietest 50 ms
        frames = samples[: len(samples) // 1200 * 1200].astype(np.float64).reshape(-1, 1200)
        return 10 * np.log10(max(1e-30, float(np.mean(frames ** 2, axis=1).min())))

    assert quietest(plain) < -100  # the pause between the lines: digital silence without it
    assert quietest(toned[0]) == pytest.approx(-70.0, abs=1.5) and np.array_equal(toned[0], toned[1])
    added = (toned[0] - plain).astype(np.float64)
    assert 10 * np.log10(np.mean(added ** 2)) == pytest.approx(-70.0, abs=0.5)
    with pytest.raises(polyvox.ParameterError, match="room tone -40"):
        polyvox.Loudness(TARGET, room_tone=-40)


def test_acx_flags_noise_and_missing_room_tone(tmp_path):
    rate = 24000
    t = np.arange(rate * 3) / rate
    hiss = (0.01 * np.random.default_rng(0).standard_normal(len(t))).astype(np.float32)  # -40 dB noise
    speechy = (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32) + hiss
    from polyvox.mastering.acx import check_chapter

    report = check_chapter(speechy, rate)
    assert any(f.startswith("noise floor") for f in report.flags)
    assert any(f.startswith("head room tone") for f in report.flags)


def _broken(tmp_path: Path, name: str, drop: str | None = None, add: dict[str, str] | None = None,
            edit: tuple[str, str] | None = None) -> Path:
    good = make_epub(tmp_path / "good.epub")
    path = tmp_path / name
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            if info.filename == drop:
                continue
            data = src.read(info)
            if edit and info.filename.endswith(".opf"):
                data = data.decode().replace(*edit).encode()
            dst.writestr(info, data)
        for name_, text in (add or {}).items():
            dst.writestr(name_, text)
    return path


@pytest.mark.parametrize("case", ["no spine", "drm", "zero chapters", "not a zip"])
def test_malformed_epubs_are_one_line_errors(tmp_path, case):
    if case == "no spine":
        import re

        good = make_epub(tmp_path / "good.epub")
        with zipfile.ZipFile(good) as src:
            opf = next(n for n in src.namelist() if n.endswith(".opf"))
            text = src.read(opf).decode()
        path = _broken(tmp_path, "x.epub", edit=(re.search(r"<spine.*?</spine>", text, re.S)[0], ""))
        expected = "no spine"
    elif case == "drm":
        path = _broken(tmp_path, "x.epub", add={"META-INF/encryption.xml": (
            '<encryption><EncryptedData><CipherData><CipherReference URI="EPUB/c1.xhtml"/></CipherData>'
            '</EncryptedData></encryption>')})
        expected = "DRM"
    elif case == "zero chapters":
        path = make_epub(tmp_path / "x.epub", chapters=[("", "<p> </p>")])
        expected = "zero chapters"
    else:
        path = tmp_path / "x.epub"
        path.write_text("not a book")
        expected = "not a zip"
    with pytest.raises(polyvox.ScriptError) as err:
        polyvox.Kernel(cache=False).plan(path)
    assert expected in str(err.value) and "\n" not in str(err.value) and "x.epub" in str(err.value)


def test_markdown_html_and_plain_text_books(tmp_path):
    md = tmp_path / "tale.md"
    md.write_text("Before it all.\n\n# One\n\nIt *began* [here](http://x).\n\n## Aside\n\nStill one.\n\n"
                  "# Two\n\n[Alice] The end.\n")
    book = polyvox.read_book(md)
    assert [(c.title, c.text) for c in book.chapters] == [
        ("tale", "Before it all."), ("One", "It began here.\nAside\nStill one."), ("Two", "[Alice] The end.")]
    md.write_text("# The Tale\n\n## One\n\nFirst.\n\n## Two\n\nSecond.\n")  # one `#`: the title
    book = polyvox.read_book(md)
    assert book.title == "The Tale" and [(c.title, c.text) for c in book.chapters] == [("One", "First."),
                                                                                      ("Two", "Second.")]
    text = tmp_path / "tale.txt"
    text.write_text("CHAPTER I\nIt began.\n\nChapter Two: The Sea\n[Alice] Waves.\n")
    assert [c.title for c in polyvox.read_source(text).chapters] == ["CHAPTER I", "Chapter Two: The Sea"]
    page = tmp_path / "tale.html"
    page.write_text("<html><head><title>Tale</title></head><body><nav>Home</nav><h2>A</h2><p>x y</p>"
                    "<h2>B</h2><p>z</p></body></html>")
    book = polyvox.read_book(page)
    assert book.title == "Tale" and [(c.title, c.text) for c in book.chapters] == [("A", "x y"), ("B", "z")]
    assert isinstance(polyvox.read_source(tmp_path / "tale.txt"), polyvox.Book)
    script = tmp_path / "script.txt"
    script.write_text("Chapter 1 of my life was short.\nThe rest is long.\n")  # one heading: a script still
    assert not isinstance(polyvox.read_source(script), polyvox.Book)


def test_the_limiter_holds_true_peaks_at_the_ceiling_without_crushing(tmp_path):
    from polyvox.mastering.loudness import Loudness, limit, true_peak

    rate = 24000
    t = np.arange(rate) / rate
    loud = (0.9 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    held = limit(loud, 10 ** (-6 / 20), rate)
    assert 20 * np.log10(true_peak(held)) <= -6.0 + 0.05
    assert 20 * np.log10(np.abs(held).max()) >= -6.6  # at the ceiling, not far under it
    quiet = (0.05 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    leveled = Loudness(-18, ceiling=-1).level(polyvox.Audio(quiet, rate))
    assert polyvox.integrated_loudness(leveled.samples, rate) == pytest.approx(-18, abs=0.2)
    with pytest.raises(polyvox.ParameterError, match="loudness 3"):
        Loudness(3)

def test_true_peaks_are_those_of_the_whole_take_oversampled():
    """The meter oversamples only the samples near one loud enough to matter; what it finds is
    what oversampling the whole take finds (scipy's polyphase resampler, the same 49 taps), on
    speech-like noise, a pure tone, and a take whose inter-sample peak is far over its samples."""
    from scipy.signal import resample_poly

    from polyvox.mastering.loudness import _taps, limit, true_peak

    def whole(x):
        return np.abs(resample_poly(x, 4, 1, window=_taps())).max()

    rng = np.random.default_rng(7)
    noise = np.convolve(rng.standard_normal(48000), np.hanning(9), "same").astype(np.float32) * 0.05
    tone = (0.7 * np.sin(2 * np.pi * 3000 * np.arange(24000) / 24000)).astype(np.float32)
    # alternating signs, with the loudest samples where the taps make a point over them
    tricky = np.zeros(4000, np.float32)
    tricky[1990:2010] = 0.5 * np.sign(np.sinc((np.arange(20) - 9.5) / 2)) * (-1) ** np.arange(20)
    tricky[100] = 0.6  # the loudest sample, alone: not where the true peak is
    for take in (noise, tone, tricky, noise[:5]):
        assert true_peak(take) == pytest.approx(whole(take), rel=1e-6)
    assert true_peak(tricky) > 1.3 * np.abs(tricky).max()
    for take in (noise * 20, tricky):
        held = limit(take, 0.5, 24000)  # the gain's own curve may add a hair (as before: 0.05 dB)
        assert 20 * np.log10(whole(held) / 0.5) <= 0.05 and whole(held) >= 0.49


def test_ctrl_c_leaves_no_m4b_and_the_next_run_goes_on(tmp_path):
    """Cancelled after the first take: no file, no partial file; the same render again makes
    only what was missing, and its chapters are all there."""
    book = make_epub(tmp_path / "voyage.epub")
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=["template"])
    token = polyvox.CancelToken()

    def cancel_after_first(event):
        if isinstance(event, polyvox.events.SegmentFinished):
            token.cancel()

    with pytest.raises(polyvox.Cancelled):
        kernel.render(book, engine="template", output=tmp_path / "voyage.m4b", loudness=TARGET, cancel=token,
                      on_event=cancel_after_first)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "voyage.epub"]
    again = kernel.render(book, engine="template", output=tmp_path / "voyage.m4b", loudness=TARGET)
    assert again.stats.cached >= 1 and again.stats.synthesized == again.stats.speech_segments - again.stats.cached
    assert [m.title for m in polyvox.read_chapters(tmp_path / "voyage.m4b", again.stats.audio_seconds)] == TITLES


def test_mp3_chapters_are_in_book_order_in_the_file(tmp_path):
    """FFmpeg (mpv, VLC, ffprobe) lists an MP3's chapters in the order of the CHAP frames in the
    file, not the CTOC's; mutagen writes frames shortest first, so titles that get shorter came
    out backwards."""
    book = tmp_path / "order.md"
    book.write_text("# A Rather Long First Chapter Title\n\nOne.\n\n# Two\n\nTwo.\n\n# Ünïcödé Three\n\nThree.\n",
                    encoding="utf-8")
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=["piper"])
    result = kernel.render(book, output=tmp_path / "order.mp3")
    with av.open(str(tmp_path / "order.mp3")) as container:
        marks = container.chapters()
    assert [m["metadata"]["title"] for m in marks] == ["A Rather Long First Chapter Title", "Two", "Ünïcödé Three"]
    assert [float(m["start"] * m["time_base"]) for m in marks] == pytest.approx([c.start for c in result.chapters],
                                                                                 abs=0.002)


def test_m4b_audio_starts_and_ends_where_the_wavs_does(tmp_path):
    """AAC's encoder delay (1024 samples of priming) is skipped by the MP4's edit list: the audio
    is not 46 ms late against its chapter marks and captions, and it lasts as long as the WAV."""
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=["piper"])
    text = "Hello there. How are you today?"
    wav = polyvox.Audio.read(kernel.render(text, output=tmp_path / "hello.wav").output)
    kernel.render(text, output=tmp_path / "hello.m4b")
    with av.open(str(tmp_path / "hello.m4b")) as container:
        decoded = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
        duration = container.duration / 1e6
    assert duration == pytest.approx(wav.duration, abs=0.002)
    reference = wav.samples
    lags = np.correlate(decoded[: len(reference) + 4096], reference, "valid")
    assert int(np.argmax(lags)) == 0


@pytest.mark.parametrize("fmt", ["flac", "ogg", "opus", "wav", "mp3"])
def test_a_file_without_chapter_marks_is_one_chapter(tmp_path, fmt):
    """`polyvox check --acx` reads chapters, else the whole file: a FLAC, Ogg or Opus without
    chapter comments crashed it (zip() of no starts and one end)."""
    path = tmp_path / f"plain.{fmt}"
    t = np.arange(48000) / 48000
    with polyvox.AudioWriter(path, 48000, fmt) as out:
        out.write(polyvox.Audio((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 48000))
    marks = polyvox.read_chapters(path, 1.0)
    assert [(m.title, m.start, m.end) for m in marks] == [("plain", 0.0, 1.0)]


@pytest.mark.parametrize("fmt", ["mp3", "ogg"])
def test_an_acx_render_to_a_lossy_format_passes_its_own_acx_check(tmp_path, fmt):
    """libsndfile's default MP3 (about 25 kbit/s) and Vorbis grew the peaks by up to 2 dB: a book
    levelled to -3.5 dBTP with --acx failed ACX's -3 dB in `polyvox check --acx`."""
    (tmp_path / "book.txt").write_text("Chapter 1\n\nThe ship left the harbour at dawn, and the gulls followed it "
                                       "far out to sea.\n\nChapter 2\n\nThe sea was calm, and the crew sang as they "
                                       "worked the ropes.\n", encoding="utf-8")
    made = _cli("render", "book.txt", "-o", f"book.{fmt}", "--acx", "-q", cwd=tmp_path, cache=tmp_path / "cache")
    assert made.returncode == 0, made.stderr
    checked = _cli("check", "--acx", f"book.{fmt}", "--json", "--strict", cwd=tmp_path, cache=tmp_path / "cache")
    chapters = json.loads(checked.stdout)["chapters"]
    assert checked.returncode == 0 and len(chapters) == 2, checked.stdout + checked.stderr
    assert all(c["peak"] <= -3.0 for c in chapters), chapters
    if fmt == "mp3":  # ACX takes MP3 at 192 kbps or more, constant, 44.1 kHz (it was 80 kbps at 22.05 kHz)
        from mutagen.mp3 import MP3, BitrateMode

        info = MP3(tmp_path / "book.mp3").info
        assert (info.sample_rate, info.bitrate_mode) == (44100, BitrateMode.CBR) and info.bitrate >= 191_000
        plain = _cli("render", "book.txt", "-o", "plain.mp3", "-q", cwd=tmp_path, cache=tmp_path / "cache")
        assert plain.returncode == 0, plain.stderr
        refused = _cli("check", "--acx", "plain.mp3", "--json", cwd=tmp_path, cache=tmp_path / "cache")
        assert all(any("ACX takes 192 kbps" in f for f in c["flags"]) for c in json.loads(refused.stdout)["chapters"])


def test_checking_a_long_chapter_holds_no_copy_the_size_of_it():
    """A 2-hour book without chapter marks took 3 GB to check (a float64 copy, squared): the
    measures are made a block at a time, so what is held beside the samples is a few blocks."""
    import tracemalloc

    from polyvox.mastering.acx import check_chapter

    rate = 22050
    samples = (0.1 * np.sin(np.arange(rate * 600) / 7)).astype(np.float32)  # ten minutes, 53 MB
    tracemalloc.start()
    try:
        checked = check_chapter(samples, rate)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < samples.nbytes, peak  # (a float64 copy alone is twice its size)
    assert round(checked.rms, 1) == round(20 * np.log10(0.1 / np.sqrt(2)), 1)
