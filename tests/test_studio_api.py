"""The studio's API without a browser: a real server on 127.0.0.1 (Piper's joe, hibari's heart),
its renders' events, their owners, the queue they hold, cancelling, the files they download,
and the page's headers."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time

import av
import httpx
import numpy as np
import pytest
import soundfile as sf
from servekit import free_port, running

import polyvox

KEY, OTHER = "studio-key-aaaaaaaaaaaa", "studio-key-bbbbbbbbbbbb"
SCRIPT = "[Alice] Hello Bob, how are you?\n[Bob] Fine, thanks. [Bob|x] And you?"
CAST = {"Alice": "en_US-joe-medium", "Bob": "heart"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("studio")
    kernel = polyvox.Kernel(cache_dir=tmp / "cache", downloads="never")
    with running(kernel, tmp, api_keys=(KEY, OTHER), max_input_chars=3000) as srv:
        yield srv


def _auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


def _events(url: str, body: dict, key: str = KEY, until: str | None = None, then=None) -> list[dict]:
    """The SSE events of a render (calling `then(events)` once an event of type `until` came)."""
    out: list[dict] = []
    with httpx.stream("POST", url, json=body, headers=_auth(key), timeout=60) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data: "):
                out.append(json.loads(line[6:]))
                if then is not None and out[-1]["type"] == until:
                    then(out)
                    then = None
    return out


def test_a_render_reports_each_segment_and_belongs_to_its_key(server):
    seen_queue = []
    events = _events(f"{server.url}/studio/api/renders", {"script": SCRIPT, "cast": CAST}, until="job",
                     then=lambda _: seen_queue.append(server.state.queue.count))
    assert seen_queue == [1]  # a render holds a slot of the API's queue while it runs...
    assert server.state.queue.count == 0  # ...and gives it back
    kinds = [e["type"] for e in events]
    assert kinds[0] == "warning" or kinds[0] == "job"
    job = next(e for e in events if e["type"] == "job")
    assert len(job["id"]) >= 22  # 128 random bits
    speech = [s for s in job["segments"] if not s["pause"]]
    # a tag it cannot read leaves the narrator speaking, with a warning naming its line
    assert [s["character"] for s in speech] == ["Alice", "Bob", None]
    assert [s["engine"] for s in speech] == ["piper", "hibari", "piper"]
    made = [e for e in events if e["type"] == "made"]
    assert sorted(e["index"] for e in made) == [s["index"] for s in speech] and not any(e["cached"] for e in made)
    assert kinds[-1] == "done" and kinds.index("job") < kinds.index("made") < kinds.index("done")
    warning = next(e for e in events if e["type"] == "warning" and "[Bob|x]" in e["message"])
    assert "line 2" in warning["message"]
    done = events[-1]
    words = [w["word"] for s in done["segments"] for w in s["words"]]
    assert words[:3] == ["Hello", "Bob,", "how"]

    rid = job["id"]
    mine = httpx.get(f"{server.url}/studio/api/renders/{rid}/output.wav", headers=_auth(), timeout=30)
    assert mine.status_code == 200 and sf.info(io.BytesIO(mine.content)).duration == pytest.approx(done["duration"],
                                                                                                   abs=0.01)
    for path in (f"renders/{rid}/output.wav", f"renders/{rid}/segments/0.wav"):
        theirs = httpx.get(f"{server.url}/studio/api/{path}", headers=_auth(OTHER), timeout=30)
        assert theirs.status_code == 404 and theirs.json()["error"]["code"] == "render_not_found"
    assert httpx.post(f"{server.url}/studio/api/renders/{rid}/cancel", headers=_auth(OTHER)).status_code == 404
    nowhere = httpx.post(f"{server.url}/studio/api/renders/{rid}/segments/99", json={}, headers=_auth(), timeout=30)
    assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "segment_not_found"
    tagged = httpx.post(f"{server.url}/studio/api/renders/{rid}/segments/0", json={"text": "[Bob] Hi [pause:1s]"},
                        headers=_auth(), timeout=30)  # markup is the script's, not an edit's: never spoken as words
    assert tagged.status_code == 400 and "'[Bob]'" in tagged.json()["error"]["message"]
    long = httpx.post(f"{server.url}/studio/api/renders/{rid}/segments/0", json={"text": "word " * 700},
                      headers=_auth(), timeout=30)  # the edit is too long, not the script
    assert long.status_code == 413 and long.json()["error"]["message"].startswith("the segment's new text is 3500")
    assert long.json()["error"]["param"] == "text"
    assert server.state.queue.count == 0  # a refused retake gives its slot back

    # the downloads: MP3 decodes, the captions hold the words at their times
    mp3 = httpx.get(f"{server.url}/studio/api/renders/{rid}/output.mp3", headers=_auth(), timeout=30)
    with av.open(io.BytesIO(mp3.content)) as container:
        decoded = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    assert len(decoded) > 0.8 * done["duration"] * 22050
    srt = httpx.get(f"{server.url}/studio/api/renders/{rid}/output.srt", headers=_auth(), timeout=30).text
    assert srt.startswith("1\n00:00:00,") and "Hello Bob, how" in srt
    bad = httpx.get(f"{server.url}/studio/api/renders/{rid}/output.exe", headers=_auth(), timeout=30)
    assert bad.status_code == 400 and "wav, flac, mp3" in bad.json()["error"]["message"]


def test_cancel_stops_a_render_after_the_segment_in_progress(server):
    script = " ".join(f"Sentence number {n} of a long story." for n in range(40))
    rid = []

    def cancel(events):
        rid.append(next(e["id"] for e in events if e["type"] == "job"))
        # the segment just made plays at once, while the render goes on
        first = httpx.get(f"{server.url}/studio/api/renders/{rid[0]}/segments/{events[-1]['index']}.wav",
                          headers=_auth(), timeout=10)
        assert first.status_code == 200 and sf.info(io.BytesIO(first.content)).duration > 0.5
        r = httpx.post(f"{server.url}/studio/api/renders/{rid[0]}/cancel", headers=_auth(), timeout=10)
        assert r.status_code == 200

    events = _events(f"{server.url}/studio/api/renders", {"script": script}, until="made", then=cancel)
    assert events[-1]["type"] == "cancelled"
    assert len([e for e in events if e["type"] == "made"]) < 40
    assert server.state.queue.count == 0
    late = httpx.get(f"{server.url}/studio/api/renders/{rid[0]}/output.wav", headers=_auth(), timeout=10)
    assert late.status_code == 409  # nothing finished to download


def test_parse_autocast_and_preview(server):
    r = httpx.post(f"{server.url}/studio/api/parse", json={"script": "[Ann] Hi.\n[Ben|nope|x] Yo.\nOkay."},
                   headers=_auth(), timeout=30)
    data = r.json()
    assert data["characters"] == ["Ann", "Ben", "narrator"] or data["characters"][:1] == ["Ann"]
    assert any(w["line"] == 2 for w in data["warnings"]), data["warnings"]
    cast = httpx.post(f"{server.url}/studio/api/autocast", json={"script": "[Ann] Hi.\n[Ben] Yo."},
                      headers=_auth(), timeout=30).json()["cast"]
    assert cast["Ann"] != cast["Ben"]
    # each pick is a voice the menus offer (not the character's own name), the narrator is left
    # as the page shows it, and the cast is one the server takes
    ids = {v["id"] for v in httpx.get(f"{server.url}/studio/api/voices", headers=_auth(), timeout=30).json()["voices"]}
    assert set(cast) == {"Ann", "Ben"} and set(cast.values()) <= ids, cast
    taken = httpx.post(f"{server.url}/studio/api/parse", json={"script": "[Ann] Hi.\n[Ben] Yo.", "cast": cast},
                       headers=_auth(), timeout=30)
    assert taken.status_code == 200, taken.text
    heard = httpx.post(f"{server.url}/studio/api/preview", json={"voice": "heart"}, headers=_auth(), timeout=60)
    audio, rate = sf.read(io.BytesIO(heard.content))
    assert rate == 24000 and len(audio) > rate and np.abs(audio).max() > 0.05
    unknown = httpx.post(f"{server.url}/studio/api/preview", json={"voice": "nobody"}, headers=_auth(), timeout=30)
    assert unknown.status_code == 404 and "nobody" in unknown.json()["error"]["message"]
    # the narrator's default voice previews too (it was "pick a voice first"), and a voice the
    # engine cannot use is said with the audio it plays instead (it played another voice silently)
    default = httpx.post(f"{server.url}/studio/api/preview", json={}, headers=_auth(), timeout=60)
    assert default.status_code == 200 and len(default.content) > 10_000
    wav = io.BytesIO()
    sf.write(wav, audio, rate, format="WAV")
    assert httpx.post(f"{server.url}/v1/audio/voices", headers=_auth(), timeout=30, data={"name": "Nell"},
                      files={"file": ("n.wav", wav.getvalue(), "audio/wav")}).status_code == 201
    cloned = httpx.post(f"{server.url}/studio/api/preview", json={"voice": "Nell"}, headers=_auth(), timeout=60)
    assert cloned.status_code == 200 and "does not clone voices" in cloned.headers["x-polyvox-warning"]
    long = httpx.post(f"{server.url}/studio/api/renders", json={"script": "word " * 700}, headers=_auth(), timeout=30)
    assert long.status_code == 413 and "3000" in long.json()["error"]["message"]


def test_the_page_is_open_its_api_is_not_and_its_headers_are_strict(server):
    page = httpx.get(f"{server.url}/", timeout=10)
    assert page.status_code == 200 and "set-cookie" not in page.headers
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe" not in csp
    html = page.text
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []  # no inline script
    assert re.findall(r"\son[a-z]+=", html) == []  # no inline handlers
    assert "http" not in html and "http" not in httpx.get(f"{server.url}/studio/static/studio.css").text  # no CDN
    js = httpx.get(f"{server.url}/studio/static/studio.js", timeout=10)
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert httpx.get(f"{server.url}/studio/static/routes.py", timeout=10).status_code == 404  # its files only
    refused = httpx.post(f"{server.url}/studio/api/parse", json={"script": "Hi."}, timeout=10)
    assert refused.status_code == 401 and refused.json()["error"]["message"].startswith("missing API key")


def test_only_loopback_pages_of_its_own_origin_may_call_a_server_without_keys(tmp_path):
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", downloads="never")
    with running(kernel, tmp_path) as srv:
        port = srv.url.rsplit(":", 1)[1]
        own = httpx.post(f"{srv.url}/studio/api/parse", json={"script": "Hi."},
                         headers={"Origin": f"http://127.0.0.1:{port}"}, timeout=30)
        assert own.status_code == 200
        # a site that rebinds its name to 127.0.0.1 is "its own origin" to the browser, but not loopback
        rebound = httpx.post(f"{srv.url}/studio/api/parse", json={"script": "Hi."},
                             headers={"Origin": f"http://evil.example:{port}", "Host": f"evil.example:{port}"},
                             timeout=30)
        assert rebound.status_code == 403 and rebound.json()["error"]["code"] == "origin_not_allowed"


def test_polyvox_studio_serves_on_loopback_and_opens_the_browser(tmp_path):
    """`polyvox studio` in a process of its own; the "browser" is a script ($BROWSER, which
    Python's webbrowser honours) that writes down the address it was asked to open."""
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    env = {**os.environ, "BROWSER": f"{browser} %s", "DISPLAY": ""}
    process = subprocess.Popen([sys.executable, "-m", "polyvox", "studio", "--port", str(free_port()),
                                "--voices", str(tmp_path / "voices")], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not opened.exists() or not opened.read_text().strip():
            assert time.monotonic() < deadline and process.poll() is None, "the studio did not open a browser"
            time.sleep(0.1)
        url = opened.read_text().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url)
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200 and "polyvox studio" in page.text
    finally:
        process.terminate()
        process.wait(15)


def test_with_verify_each_segment_carries_the_listeners_verdict(tmp_path):
    from polyvox import VerifyOptions

    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", downloads="never")
    if "whisper" not in {s.name for s in kernel.listeners()}:
        pytest.skip("needs the polyvox-whisper listener (plugins/whisper)")
    script = "[Alice] Hello there, my friend.\n[Bob] Zyzzyva quorble flimbat snargle."
    with running(kernel, tmp_path, verify=VerifyOptions(listener="whisper:tiny.en", retakes=0)) as srv:
        events = _events(f"{srv.url}/studio/api/renders", {"script": script, "cast": CAST}, key="")
    heard = {e["index"]: e for e in events if e["type"] == "heard"}
    assert heard[0]["passed"] and "hello" in heard[0]["heard"].lower()
    assert not heard[1]["passed"] and heard[1]["wer"] > 0.5  # the nonsense line is marked
    done = events[-1]
    assert done["type"] == "done" and [v["passed"] for v in done["verification"]] == [True, False]


def test_the_book_keeps_the_last_renders_of_each_key_and_never_a_running_ones_place():
    from polyvox.serve.errors import ApiError
    from polyvox.serve.studio.jobs import Job, JobBook

    book = JobBook(per_owner=2, total=3)
    running = Job("a", "Hi.", None, {})
    running.lock.acquire()  # a pass is running on it
    later = [Job("a", "Hi.", None, {}) for _ in range(3)]
    for job in [running, *later]:
        book.add(job)
    assert book.get(running.id, "a") is running  # kept while it runs
    with pytest.raises(ApiError, match="no such render"):
        book.get(later[0].id, "a")  # the oldest idle one went
    assert book.get(later[2].id, "a") is later[2]
    with pytest.raises(ApiError, match="no such render"):
        book.get(later[2].id, "b")  # another key's


def test_renders_that_never_finished_go_before_a_finished_one(tmp_path):
    """Four cancelled tries evicted the finished render the page still showed as done."""
    from polyvox.serve.studio.jobs import Job, JobBook

    book = JobBook(per_owner=2, total=8)
    done = Job("a", "Hi.", None, {})
    done.output = tmp_path / "done.wav"  # its pass finished
    book.add(done)
    tries = [Job("a", "Try.", None, {}) for _ in range(4)]  # each cancelled: no output
    for job in tries:
        book.add(job)
    assert book.get(done.id, "a") is done and book.get(tries[-1].id, "a") is tries[-1]


def test_a_client_that_leaves_mid_render_frees_its_slot(server, caplog):
    script = " ".join(f"Line number {n} of a story that goes on." for n in range(30))
    with httpx.stream("POST", f"{server.url}/studio/api/renders", json={"script": script}, headers=_auth(),
                      timeout=60) as r:
        for line in r.iter_lines():
            if line.startswith("data: ") and json.loads(line[6:])["type"] == "made":
                break  # and the connection closes
    deadline = time.monotonic() + 20
    while server.state.queue.count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.state.queue.count == 0
    again = _events(f"{server.url}/studio/api/renders", {"script": "Still here."})
    assert again[-1]["type"] == "done"
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_a_retaken_take_stays_chosen_when_the_script_is_rendered_again(server):
    """A writer retakes a line until it sounds right, then renders again (another loudness):
    the retake's seed lived only in that render, and the new one brought the first take back."""
    script = "[Alice] The harbour lights came on one by one.\n[Bob] Time to go."

    def render(after: str | None = None) -> tuple[str, list[dict]]:
        events = _events(f"{server.url}/studio/api/renders", {"script": script, "cast": CAST, "after": after})
        return next(e["id"] for e in events if e["type"] == "job"), events

    def take(job: str) -> bytes:
        return httpx.get(f"{server.url}/studio/api/renders/{job}/segments/0.wav", headers=_auth(), timeout=30).content

    first, _ = render()
    original = take(first)
    _events(f"{server.url}/studio/api/renders/{first}/segments/0", {})  # Piper draws new noise: another take
    chosen = take(first)
    assert chosen != original
    again, events = render(after=first)
    assert take(again) == chosen  # the chosen take, from the cache
    assert all(e["cached"] for e in events if e["type"] == "made")
    fresh, _ = render()  # a render that follows none starts from the script's own takes
    assert take(fresh) == original


def test_an_edit_over_the_input_limit_says_so_in_words(server):
    """A 25,000-character edit answered pydantic's "String should have at most 20000 characters";
    an over-long script has always had its own sentence."""
    events = _events(f"{server.url}/studio/api/renders", {"script": "A line to edit."})
    job = next(e["id"] for e in events if e["type"] == "job")
    limit = 3000  # the fixture's --max-input
    got = httpx.post(f"{server.url}/studio/api/renders/{job}/segments/0", json={"text": "x" * 25_000},
                     headers=_auth(), timeout=30)
    assert got.status_code == 413 and got.json()["error"]["code"] == "input_too_long"
    assert f"the limit is {limit}" in got.json()["error"]["message"]
