"""The studio page in a real browser: Debian's chromium, driven by Playwright (never a browser
download), against a real `polyvox serve` on 127.0.0.1 with a key. Two launches in all: the
whole round (write, cast two real voices, render, play and read along, retake, edit, download,
open a book and download its .m4b) and a wrong key. The screenshots in docs/images/ are taken here."""

from __future__ import annotations

import io
import json
import os
import re
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
from serveproc import serving

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="the studio's browser tests drive Debian's chromium "
                                 "at /usr/bin/chromium (make test installs it where it runs as root)")]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the 'test' extra")

KEY = "studio-test-key-0123456789"
#: Where the screenshots go: docs/images/ when POLYVOX_SCREENSHOTS=1 (docs/studio.md shows them).
DOC_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
SCRIPT = ("[Alice] Hello Bob, how are you today?\n"  # (two spaces in Bob's line: an edit still finds it)
          "[Bob] I am very well,  thank you for asking. [pause:0.3s] And you?")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
WAIT_MS = 60_000  # every wait for the page is bounded


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _page(browser, width: int = 1280, height: int = 800):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(WAIT_MS)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return page, problems


def _use_key(page, key: str) -> None:
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Use key").click()


def _segment_wav(url: str, job: str, index: int) -> tuple[np.ndarray, int]:
    got = httpx.get(f"{url}/studio/api/renders/{job}/segments/{index}.wav",
                    headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
    assert got.status_code == 200, got.text
    samples, rate = sf.read(io.BytesIO(got.content), dtype="float32")
    return samples, rate


def _wait_done(page, previous: str = "") -> str:
    """The status line once a pass is done (a new one, when `previous` was the last)."""
    page.wait_for_function("([prev]) => { const s = document.getElementById('status').textContent;"
                           " return s.startsWith('Done') && s !== prev || !document.getElementById('error').hidden; }",
                           arg=[previous])
    assert page.locator("#error").is_hidden(), page.locator("#error").text_content()
    return page.locator("#status").text_content()


def test_write_cast_render_read_along_retake_and_download(tmp_path, browser):
    images = DOC_IMAGES if os.environ.get("POLYVOX_SCREENSHOTS") == "1" else tmp_path
    with serving(tmp_path, "--api-key", KEY) as server:
        page, problems = _page(browser)
        answer = page.goto(server.url + "/")
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        _use_key(page, KEY)
        page.wait_for_function("() => document.getElementById('status').textContent === 'Ready.'")
        del problems[:]  # the page's first call went without the key (the server said 401), as it should

        # the script, its characters, a voice each: Piper's joe and hibari's heart
        page.get_by_role("textbox", name=re.compile("^Markup")).fill(SCRIPT)
        page.get_by_role("button", name="Check script").click()
        page.get_by_label("Voice for Alice").select_option("en_US-joe-medium")
        page.get_by_label("Voice for Bob").select_option("heart")

        page.get_by_role("button", name="Render").click()
        done = _wait_done(page)
        rows = page.locator("#segments li:not(.pause)")
        assert rows.count() == 3
        assert all(rows.nth(n).get_attribute("class") == "made" for n in range(3))
        assert [rows.nth(n).get_attribute("data-cached") for n in range(3)] == ["no", "no", "no"]
        job = page.locator("#player").get_attribute("data-job")
        first_output = page.evaluate("() => state.urls.player")
        alice, rate_a = _segment_wav(server.url, job, 0)
        bob, rate_b = _segment_wav(server.url, job, 1)
        assert (rate_a, rate_b) == (22050, 24000)  # Piper's joe and hibari's heart: two engines, two voices

        # every control has a name a screen reader says (a label, aria-label or its text)
        unnamed = page.evaluate("""() => [...document.querySelectorAll('button, input, select, textarea')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
            .map(e => e.outerHTML.slice(0, 80))""")
        assert unnamed == []
        # a segment plays on its own
        page.get_by_role("button", name="Play segment 2").click()
        page.wait_for_function("() => document.getElementById('segment-player').currentTime > 0.2")
        page.evaluate("() => document.getElementById('segment-player').pause()")

        # read along: the highlighted word moves forward as the render plays
        page.evaluate("() => document.getElementById('player').play()")
        seen: list[float] = []
        deadline = time.monotonic() + 20
        while len(set(seen)) < 3 and time.monotonic() < deadline:
            now = page.locator("#segments .word.now")
            if now.count() == 1:
                start = float(now.get_attribute("data-start"))
                if not seen or seen[-1] != start:
                    seen.append(start)
            time.sleep(0.05)
        assert len(seen) >= 3 and seen == sorted(seen), seen
        page.evaluate("() => document.getElementById('player').pause()")
        # clicking a word seeks there
        word = page.locator("#segments .word", has_text="asking.")
        word.click()
        at = float(word.get_attribute("data-start"))
        page.wait_for_function("(at) => document.getElementById('player').currentTime >= at", arg=at)
        page.evaluate("() => document.getElementById('player').pause()")
        page.screenshot(path=str(images / "studio-desktop.png"))

        # a retake of Alice's line makes it again (Piper's noise: another take); the rest is cached
        page.get_by_role("button", name="Retake segment 1").click()
        done = _wait_done(page, done)
        assert "again" in rows.nth(0).locator(".state").text_content()
        assert [rows.nth(n).get_attribute("data-cached") for n in (1, 2)] == ["yes", "yes"]
        retaken, _ = _segment_wav(server.url, job, 0)
        assert len(retaken) > rate_a * 0.5 and not (len(retaken) == len(alice) and np.array_equal(retaken, alice))

        # one tab stop per segment, not per word (the Play button is the keyboard's way in)
        assert page.evaluate("() => [...document.querySelectorAll('#segments .word')].every(w => w.tabIndex === -1)")
        # Edit pressed twice opens one editor, holding the segment's text (not its own buttons' labels)
        page.get_by_role("button", name="Edit segment 2").click()
        page.get_by_role("button", name="Edit segment 2").click()
        assert page.locator("#segments textarea").count() == 1
        assert page.get_by_label("New text of segment 2").input_value() == "I am very well, thank you for asking."
        page.keyboard.press("Escape")
        assert page.locator("#segments textarea").count() == 0 and "asking." in rows.nth(1).text_content()
        # an edit of Bob's line speaks the new text, and only it
        page.get_by_role("button", name="Edit segment 2").click()
        page.get_by_label("New text of segment 2").fill("I am fine.")
        page.get_by_role("button", name="Save and re-render").click()
        _wait_done(page, done)
        assert "fine." in rows.nth(1).text_content() and "new text" in rows.nth(1).locator(".state").text_content()
        assert rows.nth(1).get_attribute("data-cached") == "no" and rows.nth(2).get_attribute("data-cached") == "yes"
        edited, _ = _segment_wav(server.url, job, 1)
        assert len(edited) < 0.7 * len(bob)
        # the edit is in the script too, so the next render keeps it; focus is back on its row
        script = page.get_by_role("textbox", name=re.compile("^Markup")).input_value()
        assert "[Bob] I am fine. [pause:0.3s] And you?" in script
        assert page.evaluate("() => document.activeElement.getAttribute('aria-label')") == "Edit segment 2"

        # the whole render downloads and decodes
        page.get_by_label("Format").select_option("flac")
        with page.expect_download() as download:
            page.get_by_role("button", name="Download").click()
        samples, rate = sf.read(download.value.path(), dtype="float32")
        assert rate == 22050 and len(samples) > 2 * rate and np.abs(samples).max() > 0.05
        assert download.value.suggested_filename == "studio.flac"  # the server's name for it
        page.get_by_label("Format").select_option("wav")
        with page.expect_download() as download:
            page.get_by_role("button", name="Download").click()
        data = Path(download.value.path()).read_bytes()  # a finished file: its header gives its sizes
        assert int.from_bytes(data[4:8], "little") == len(data) - 8 and data[36:40] == b"data"
        assert int.from_bytes(data[40:44], "little") == len(data) - 44

        # auto-cast picks installed voices the page can render with
        page.get_by_role("button", name="Auto-cast").click()
        page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Cast:')"
                               " || !document.getElementById('error').hidden")
        assert page.locator("#error").is_hidden(), page.locator("#error").text_content()
        picked = {name: page.get_by_label(f"Voice for {name}").input_value() for name in ("Alice", "Bob")}
        assert picked["Alice"] != picked["Bob"] and "Alice" not in picked.values(), picked
        page.get_by_role("button", name="Render").click()
        done = _wait_done(page, done)

        # a reference voice uploaded from the page joins every voice picker
        reference = tmp_path / "reference.wav"
        sf.write(reference, bob, rate_b)
        page.get_by_label("Audio (WAV").set_input_files(str(reference))
        page.get_by_label("Name").fill("Beatrice")
        page.get_by_label("What it says").fill("I am very well, thank you for asking.")
        page.get_by_role("button", name="Upload").click()
        page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Uploaded')")
        assert page.get_by_label("Voice for Alice").locator("option", has_text="Beatrice (uploaded)").count() == 1

        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # nothing wider than a phone
        page.evaluate("() => document.getElementById('cast-panel').scrollIntoView()")
        page.screenshot(path=str(images / "studio-phone.png"))

        # a book opens as its chapters, and its render downloads as an .m4b that holds them
        book = tmp_path / "Über tale.md"  # no title inside: the file's name is the book's
        book.write_text("# The Start\n\nIt began at sea.\n\nShe went home.\n\n# The End\n\nIt ended on land.\n\n"
                        "She went home.\n\nRun. [pause:0.3s] Run.\n")
        page.get_by_label("Open a file").set_input_files(str(book))
        page.wait_for_function("() => document.querySelectorAll('#chapters li').length === 2")
        assert page.locator("#chapters").text_content() == "The StartThe End"
        page.get_by_role("button", name="Render").click()
        _wait_done(page, done)
        assert page.locator("#chapters .chapter").count() == 2  # now each a button that seeks to it
        page.get_by_label("Format").select_option("m4b")
        with page.expect_download() as download:
            page.get_by_role("button", name="Download").click()
        assert download.value.suggested_filename == "über-tale.m4b"  # its letters kept, in any script
        av = pytest.importorskip("av")
        with av.open(download.value.path()) as container:
            assert [c["metadata"]["title"] for c in container.chapters()] == ["The Start", "The End"]
        # an edit of the second chapter's "She went home." changes that line, not the first
        # chapter's (a book's segment lines counted from its chapter, so the first one matched)
        second = page.locator("#segments li", has_text="She went home.").nth(1)
        second.get_by_role("button", name=re.compile("^Edit segment")).click()
        page.locator("#segments textarea").fill("She stayed out.")
        page.get_by_role("button", name="Save and re-render").click()
        _wait_done(page)
        written = page.get_by_role("textbox", name=re.compile("^Markup")).input_value()
        assert "It began at sea.\nShe went home." in written and "It ended on land.\nShe stayed out." in written
        # and the second of two segments with the same words on one line is the one edited
        twin = page.locator("#segments li", has_text="Run.").nth(1)
        twin.get_by_role("button", name=re.compile("^Edit segment")).click()
        page.locator("#segments textarea").fill("Walk.")
        page.get_by_role("button", name="Save and re-render").click()
        _wait_done(page)
        assert "Run. [pause:0.3s] Walk." in page.get_by_role("textbox", name=re.compile("^Markup")).input_value()
        # a file that is no text (a .docx) leaves the script as it was and says what opens
        before = page.get_by_role("textbox", name=re.compile("^Markup")).input_value()
        docx = tmp_path / "notes.docx"
        docx.write_bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)))
        page.get_by_label("Open a file").set_input_files(str(docx))
        page.wait_for_function("() => !document.getElementById('error').hidden")
        assert "Cannot open notes.docx" in page.locator("#error").text_content()
        assert page.get_by_role("textbox", name=re.compile("^Markup")).input_value() == before
        # a new render cancelled part way: the unmade rows say so, and the last finished render
        # comes back to play, retake and download (the page was stuck on "waiting" rows whose
        # Retake and Edit were disabled, or enabled on a render the server had never finished)
        finished_rows = page.locator("#segments li").count()
        long_script = "\n".join(f"Line number {n} of a script too long to wait for." for n in range(40))
        page.get_by_role("textbox", name=re.compile("^Markup")).fill(long_script)
        page.get_by_role("button", name="Render").click()
        page.wait_for_function("() => document.querySelectorAll('#segments li.made').length >= 1 && "
                               "document.querySelectorAll('#segments li').length > 30")
        page.get_by_role("button", name="Cancel").click()
        page.wait_for_function("() => document.getElementById('status').textContent === 'Cancelled.'")
        assert page.locator("#segments li").count() == finished_rows  # the book's render again
        assert page.locator("#segments li.waiting").count() == 0
        assert page.get_by_role("button", name="Retake segment 2").is_enabled()
        assert page.get_by_role("button", name="Download").is_enabled()
        page.get_by_role("button", name="Retake segment 2").click()
        _wait_done(page, done)
        # and the keyboard is still on that segment (focus fell to the page's body)
        assert page.evaluate("() => document.activeElement.getAttribute('aria-label')") == "Retake segment 2"
        # a retake cut off after it began (the connection dropped, or Cancel): the finished render
        # stays playable (every row was marked "not made" and its Play disabled, though the server
        # still held the render whole)
        began = json.dumps({"type": "job", "id": page.evaluate("() => state.job"),
                            "segments": page.evaluate("() => state.planned")})
        page.route("**/segments/1", lambda route: route.fulfill(
            status=200, headers={"content-type": "text/event-stream"}, body=f"data: {began}\n\n"))
        page.get_by_role("button", name="Retake segment 2").click()
        page.wait_for_function("() => !document.getElementById('error').hidden")
        assert page.locator("#segments li.unmade").count() == 0 and page.locator("#segments li.waiting").count() == 0
        assert page.get_by_role("button", name="Play segment 2", exact=True).is_enabled()
        assert page.get_by_role("button", name="Retake segment 2").is_enabled()
        page.unroute("**/segments/1")
        # a script that replaces the book's is no book any more
        page.get_by_role("textbox", name=re.compile("^Markup")).fill("A new script, not the book.")
        assert page.locator("#book").is_hidden()
        # the audio of renders long replaced is given back (each take's copy stayed for the tab's life)
        loads = ("(u) => new Promise((ok) => { const a = new Audio(); a.onloadedmetadata = () => ok(true);"
                 " a.onerror = () => ok(false); a.src = u; })")
        assert not page.evaluate(loads, first_output) and page.evaluate(loads, page.evaluate("() => state.urls.player"))
        problems[:] = [p for p in problems if "ERR_FILE_NOT_FOUND" not in p]  # the probe of the URL given back
        # and a reload keeps the script being written (it came back empty)
        page.reload()
        page.wait_for_function("() => document.getElementById('status').textContent === 'Ready.'")
        assert page.get_by_role("textbox", name=re.compile("^Markup")).input_value() == "A new script, not the book."
        assert problems == [], problems
        assert server.faults() == []


def test_a_wrong_key_shows_the_api_error(tmp_path, browser, monkeypatch):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))  # the server's: where its renders' files go
    with serving(tmp_path, "--api-key", KEY) as server:
        assert [p.name[:15] for p in temporary.iterdir()] == ["polyvox-studio-"]
        page, _ = _page(browser)
        page.goto(server.url + "/")  # the page loads without a key; its API does not answer without one
        page.wait_for_function("() => !document.getElementById('error').hidden")
        assert "missing API key" in page.locator("#error").text_content()
        # by keyboard alone: Tab reaches the key field first, Enter uses it
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.id") == "key"
        page.keyboard.type("not-the-key-0123456789")
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.getElementById('error').textContent.includes('incorrect')")
        assert page.locator("#error").text_content() == "incorrect API key"
        assert page.evaluate("() => document.cookie") == ""
        # a key no header can carry is refused by the page (the browser's error said "lost connection")
        page.get_by_label("API key").fill("ключ-секрет-пароль")
        page.get_by_role("button", name="Use key").click()
        page.wait_for_function("() => document.getElementById('error').textContent.includes('ASCII')")
    assert list(temporary.iterdir()) == []  # the server stopped (SIGTERM) and took its files along
