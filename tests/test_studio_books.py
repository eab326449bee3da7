"""Books in the studio without a browser: an EPUB made here with ebooklib opened through the
studio's API (its chapters listed, its text the script), rendered, retaken and downloaded as
.m4b and MP3 whose chapters, title, author and cover read back with PyAV and mutagen; a
loudness target applied as the takes are assembled; malformed books as OpenAI-shaped 400s."""

from __future__ import annotations

import glob
import io
import json
import tempfile
import time

import httpx
import numpy as np
import pytest
import soundfile as sf
from servekit import running

import polyvox

pytest.importorskip("ebooklib")
av = pytest.importorskip("av")
mutagen = pytest.importorskip("mutagen")
pytest.importorskip("pyloudnorm")

from test_books import TITLES, make_epub  # noqa: E402

KEY = "studio-book-key-aaaaaaaaaa"
AUTH = {"Authorization": f"Bearer {KEY}"}
CAST = {"Alice": "heart"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("studio-books")
    kernel = polyvox.Kernel(cache_dir=tmp / "cache", downloads="never")
    with running(kernel, tmp, api_keys=(KEY,), max_input_chars=5000, max_body_bytes=1_000_000) as srv:
        yield srv


@pytest.fixture(scope="module")
def epub_bytes(tmp_path_factory):
    return make_epub(tmp_path_factory.mktemp("epub") / "voyage.epub").read_bytes()


def _open(server, data: bytes, name: str) -> httpx.Response:
    return httpx.post(f"{server.url}/studio/api/books", params={"name": name}, content=data,
                      headers={**AUTH, "Content-Type": "application/octet-stream"}, timeout=30)


def _render(server, body: dict, url: str | None = None) -> list[dict]:
    events = []
    with httpx.stream("POST", url or f"{server.url}/studio/api/renders", json=body, headers=AUTH, timeout=120) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    assert events[-1]["type"] == "done", events[-1]
    return events


def _download(server, job: str, fmt: str) -> bytes:
    r = httpx.get(f"{server.url}/studio/api/renders/{job}/output.{fmt}", headers=AUTH, timeout=60)
    assert r.status_code == 200, r.text
    return r.content


def _m4b_chapters(data: bytes) -> list[tuple[str, float]]:
    with av.open(io.BytesIO(data)) as container:
        return [(c["metadata"]["title"], float(c["start"] * c["time_base"])) for c in container.chapters()]


def test_an_epub_opens_as_chapters_renders_and_downloads_as_an_m4b_with_them(server, epub_bytes, tmp_path):
    r = _open(server, epub_bytes, "voyage.epub")
    assert r.status_code == 200, r.text
    opened = r.json()
    book = opened["book"]
    assert [c["title"] for c in book["chapters"] if c["characters"]] == TITLES  # the blank page has no text
    assert book["title"] == "The Test Voyage" and book["author"] == "Ann Author" and book["cover"]
    script = opened["script"]
    assert script.index("# Loomings") < script.index("Call me Ishmael") < script.index("# The Carpet-Bag")
    assert "[Alice] Hello, who goes there?" in script  # character markup inside the book still works

    parsed = httpx.post(f"{server.url}/studio/api/parse", json={"script": script, "cast": CAST, "book": book["id"]},
                        headers=AUTH, timeout=30).json()
    assert parsed["characters"] == ["narrator", "Alice"]
    assert not any("#" in s["text"] for s in parsed["segments"])  # a heading is a chapter, not words
    # a warning inside a chapter is placed on the script's own line
    marred = script.replace("[Alice] I packed", "[Alice|x] I packed")
    warned = httpx.post(f"{server.url}/studio/api/parse", json={"script": marred, "book": book["id"]}, headers=AUTH,
                        timeout=30).json()["warnings"]
    line = marred.splitlines().index(next(x for x in marred.splitlines() if "[Alice|x]" in x)) + 1
    assert [w["line"] for w in warned if "[Alice|x]" in w["message"]] == [line] and line > 5
    # and said by that line alone ("line 8: chapter 2 (The End): line 1, column 9" named two)
    (said,) = [w["message"] for w in warned if "[Alice|x]" in w["message"]]
    assert said.startswith(f"line {line}, column ") and "chapter" not in said.split(":")[0], said

    events = _render(server, {"script": script, "cast": CAST, "book": book["id"]})
    done = events[-1]
    assert [c["title"] for c in done["chapters"]] == TITLES
    assert any(e["type"] == "warning" and "Blank" in e["message"] for e in events)  # skipped, said so
    starts = [c["start"] for c in done["chapters"]]
    assert starts[0] == 0.0 and starts == sorted(starts) and len(set(starts)) == 3
    job = events[0]["id"] if events[0]["type"] == "job" else next(e["id"] for e in events if e["type"] == "job")

    m4b = _download(server, job, "m4b")
    marks = _m4b_chapters(m4b)
    assert [t for t, _ in marks] == TITLES
    assert [round(s, 1) for _, s in marks] == [round(s, 1) for s in starts]
    path = tmp_path / "voyage.m4b"
    path.write_bytes(m4b)
    tags = mutagen.File(path).tags
    assert tags["\xa9nam"] == ["The Test Voyage"] and tags["\xa9ART"] == ["Ann Author"] and tags["covr"]
    with av.open(str(path)) as container:
        assert container.streams.audio[0].codec_context.name == "aac"

    # the file made for the download goes once sent (the render's own WAV stays)
    deadline = time.monotonic() + 10
    while glob.glob(f"{tempfile.gettempdir()}/polyvox-studio-*/{job}-*.m4b") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not glob.glob(f"{tempfile.gettempdir()}/polyvox-studio-*/{job}-*.m4b")
    assert glob.glob(f"{tempfile.gettempdir()}/polyvox-studio-*/{job}-*.wav")

    mp3 = tmp_path / "voyage.mp3"
    mp3.write_bytes(_download(server, job, "mp3"))
    chaps = mutagen.File(mp3).tags.getall("CHAP")
    assert [c.sub_frames["TIT2"].text[0] for c in chaps] == TITLES

    # a retake renders the script's segments again: the chapters stay where their segments are
    spoken = next(s for s in done["segments"] if not s["pause"] and "Ishmael" in s["text"])
    edit = _render(server, {"text": "Call me Ahab."},
                   f"{server.url}/studio/api/renders/{job}/segments/{spoken['index']}")
    assert [t for t, _ in _m4b_chapters(_download(server, job, "m4b"))] == TITLES
    # and only that segment is made: Alice's lines (hibari, whose voice speaks en-us) were all
    # made again, planned without the book's language
    made = [e for e in edit if e["type"] == "made"]
    assert [e["index"] for e in made if not e["cached"]] == [spoken["index"]] and len(made) > 5


def test_a_script_downloads_as_a_one_chapter_m4b_at_the_loudness_asked(server):
    script = "Hello there, this is a short script. [pause:0.3s] It has two sentences."
    levels = {}
    for target in (None, -30.0):
        events = _render(server, {"script": script, "loudness": target})
        assert events[-1]["chapters"] == []  # no book: no chapters in its events
        job = next(e["id"] for e in events if e["type"] == "job")
        samples, rate = sf.read(io.BytesIO(_download(server, job, "wav")), dtype="float32")
        levels[target] = polyvox.integrated_loudness(samples, rate)
        if target is not None:
            m4b = _download(server, job, "m4b")
            assert [t for t, _ in _m4b_chapters(m4b)] == ["Hello there, this is a short script."]
    assert abs(levels[-30.0] - -30.0) < 1.0 and abs(levels[None] - -30.0) > 3.0
    bad = httpx.post(f"{server.url}/studio/api/renders", json={"script": script, "true_peak": -3.0},
                     headers=AUTH, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "true_peak"
    # the page's ACX choice: the takes at -18 LUFS, then the script (no chapters) at -20 dB RMS
    events = _render(server, {"script": script, "loudness": -18, "true_peak": -3.5, "chapter_rms": -20,
                              "room_tone": -70})
    job = next(e["id"] for e in events if e["type"] == "job")
    samples, rate = sf.read(io.BytesIO(_download(server, job, "wav")), dtype="float32")
    assert 10 * np.log10(np.mean(np.square(samples, dtype=np.float64))) == pytest.approx(-20.0, abs=0.3)
    frames = samples[: len(samples) // 1200 * 1200].astype(np.float64).reshape(-1, 1200)
    quietest = 10 * np.log10(max(1e-30, float(np.mean(frames ** 2, axis=1).min())))
    assert -72 < quietest < -68  # a room tone under the pauses (not digital silence), kept by the 16-bit WAV
    bad = httpx.post(f"{server.url}/studio/api/renders", json={"script": script, "chapter_rms": -20},
                     headers=AUTH, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "chapter_rms"


@pytest.mark.parametrize(("name", "data", "says"), [
    ("locked.epub", b"not a zip", "not a zip archive"),
    ("notes.docx", b"PK\x03\x04", ".epub"),
])
def test_a_book_that_cannot_be_read_is_a_one_line_400(server, name, data, says):
    r = _open(server, data, name)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    assert says in error["message"] and name in error["message"] and "\n" not in error["message"]
    assert "polyvox-studio-book" not in error["message"]  # the server's temporary copy is not named


def test_a_book_upload_is_bounded_as_a_voice_upload_is(server):
    assert _open(server, b"x" * 200_000, "big.epub").status_code == 400  # past a JSON route's 64 KiB: read
    over = _open(server, b"x" * 1_000_001, "huge.epub")
    assert over.status_code == 413 and over.json()["error"]["code"] == "too_large"


def test_a_txt_without_chapter_headings_opens_as_a_script_and_with_them_as_a_book(server):
    plain = _open(server, "[Alice] Hi.\nHello.".encode("utf-16"), "plain.txt").json()
    assert plain == {"book": None, "script": "[Alice] Hi.\nHello."}
    text = "Chapter 1\n\nIt began.\n\nChapter 2\n\nIt ended.\n"
    chaptered = _open(server, text.encode(), "tale.txt").json()
    assert [c["title"] for c in chaptered["book"]["chapters"]] == ["Chapter 1", "Chapter 2"]
    other = httpx.post(f"{server.url}/studio/api/parse", json={"script": "Hi.", "book": "nope"}, headers=AUTH,
                       timeout=30)
    assert other.status_code == 404 and other.json()["error"]["code"] == "book_not_found"
