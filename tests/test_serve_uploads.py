"""Voice uploads within bounds: a decompression bomb (KB of FLAC that decode to a GB) is refused
from its header without decoding, a long legal upload is decoded a block at a time, and each
limit (too long, too short, too big, not audio, odd rate or channels) answers its error."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
from servekit import running

import polyvox


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("uploads")
    kernel = polyvox.Kernel(cache_dir=tmp / "cache")
    (tmp / "server-voices").mkdir()
    (tmp / "server-voices" / "Folded.wav").write_bytes(_wav(1, freq=300))  # a voice the operator put there
    with running(kernel, tmp, voice_map={"robot": "alloy"}) as srv:
        yield srv


@functools.cache
def _silence_flac(seconds: int, rate: int = 96_000, channels: int = 8) -> bytes:
    """FLAC silence, written a second at a time: KB of file however long it says it is."""
    out = io.BytesIO()
    with sf.SoundFile(out, "w", samplerate=rate, channels=channels, format="FLAC", subtype="PCM_16") as f:
        second = np.zeros((rate, channels), np.int16)
        for _ in range(seconds):
            f.write(second)
    return out.getvalue()


def _wav(seconds: float, rate: int = 16_000, channels: int = 1, freq: float = 180.0) -> bytes:
    t = np.arange(round(seconds * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    out = io.BytesIO()
    sf.write(out, np.repeat(tone[:, None], channels, axis=1), rate, format="WAV")
    return out.getvalue()


def _upload(server, data: bytes, name: str = "Probe") -> httpx.Response:
    return httpx.post(f"{server.url}/v1/audio/voices", files={"file": ("v.flac", data, "audio/flac")},
                      data={"name": name}, timeout=60)


def _peak_rise(action) -> tuple[int, object]:
    """Bytes this process's peak resident memory rose by while `action` ran (the server runs
    in a thread of this process), and what `action` returned."""
    status = Path("/proc/self/status")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak to the current size
    except OSError:
        pytest.skip("the peak resident size cannot be reset here (Linux's /proc/self/clear_refs)")

    def kib(field: str) -> int:
        line = next(line for line in status.read_text().splitlines() if line.startswith(field))
        return int(line.split()[1]) * 1024

    before = kib("VmRSS:")
    result = action()
    return kib("VmHWM:") - before, result


def test_a_flac_bomb_is_refused_from_its_header_without_decoding(server):
    bomb = _silence_flac(330)  # 261 KB: 330 s of 8 channels at 96 kHz, 1 GB as float32
    assert len(bomb) < 1_000_000
    rise, r = _peak_rise(lambda: _upload(server, bomb, "Bomb"))
    assert r.status_code == 413, r.text
    error = r.json()["error"]
    assert (error["code"], error["param"]) == ("too_large", "file")
    assert "330.0 s long" in error["message"] and "limit is 60 s" in error["message"]  # the header's word
    assert rise < 100 * 1024 * 1024, f"the server's peak memory rose by {rise / 2**20:.0f} MiB"


def test_a_long_many_channel_upload_is_decoded_a_block_at_a_time(server):
    """50 s of 8 channels at 96 kHz is legal: 150 MiB as float32 all at once, a fifth of it
    mixed to mono block by block."""
    data = _silence_flac(50)
    rise, r = _peak_rise(lambda: _upload(server, data, "Wide"))
    assert r.status_code == 201, r.text
    stored = sf.info(str(server.state.service.store.folder / f"{r.json()['id']}.wav"))
    assert (stored.channels, stored.samplerate, round(stored.duration)) == (1, 96_000, 50)
    # decoded a block at a time it rises 60-70 MiB alone, up to 110 MiB late in the whole suite
    # (the process's heap by then); decoded at once it adds the 150 MiB of 8 channels on top
    assert rise < 140 * 1024 * 1024, f"the server's peak memory rose by {rise / 2**20:.0f} MiB"


LIMITS = [
    (_wav(61), 413, "too_large", "61.0 s long: the limit is 60 s"),
    (_wav(0.2), 400, "invalid_audio", "0.20 s long: a voice needs at least 0.5 s"),
    (b"RIFF this is not audio at all" * 50, 400, "invalid_audio", "not audio this server can decode"),
    (_wav(2, rate=4_000), 400, "invalid_audio", "sample rate is 4000 Hz: a voice needs 8000 to 192000 Hz"),
    (_wav(1, channels=12), 400, "invalid_audio", "12 channels: a voice needs 1 to 8"),
]


@pytest.mark.parametrize(("data", "status", "code", "says"), LIMITS,
                         ids=["too long", "too short", "not audio", "rate", "channels"])
def test_each_upload_limit_answers_its_error(server, data, status, code, says):
    r = _upload(server, data)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert (error["code"], error["param"]) == (code, "file") and says in error["message"], error
    assert not server.state.service.store.find("Probe")


def test_an_upload_over_the_body_limit_is_refused_before_it_is_read(server, tmp_path):
    with running(server.kernel, tmp_path, max_body_bytes=256 * 1024) as small:
        r = _upload(small, _wav(10))  # 320 KB of WAV
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
        assert "limit for this route is 262144 bytes" in r.json()["error"]["message"]
        assert _upload(small, _wav(5)).status_code == 201


def test_a_header_that_understates_the_length_is_caught_while_decoding(monkeypatch):
    """A header that says 0 frames, read as a stream (so soundfile reads on to the end of the
    data rather than stopping where the header says): the running count stops the decode at
    the limit, so the samples held stay within the limit's worth."""
    import soundfile

    from polyvox.serve import uploads
    from polyvox.serve.errors import ApiError

    bomb = _silence_flac(330)
    monkeypatch.setattr(soundfile.SoundFile, "frames", property(lambda self: 0))
    monkeypatch.setattr(soundfile.SoundFile, "seekable", lambda self: False)
    rise, error = _peak_rise(lambda: pytest.raises(ApiError, uploads.decode, bomb, 60.0, 0.5).value)
    assert (error.status, error.code) == (413, "too_large")
    assert "longer than its header says: the limit is 60 s" in error.message
    assert rise < 100 * 1024 * 1024, f"peak memory rose by {rise / 2**20:.0f} MiB"


def _listed(server) -> list[str]:
    voices = httpx.get(f"{server.url}/v1/audio/voices", timeout=10).json()["voices"]
    return [v["name"].lower() for v in voices]


def test_names_every_client_shares_cannot_be_taken_by_an_upload(server):
    engine, engine_voice = next((s.name, v) for s in server.kernel.engines() for v in s.voices)  # Piper's joe
    taken = {"alloy": "OpenAI's voice names", "ALLOY": "OpenAI's voice names", "Robot": "--voice-map",
             "folded": "voices folder", engine_voice: f"a voice of the engine {engine!r}"}
    for name, says in taken.items():
        r = _upload(server, _wav(1, freq=400), name)
        assert r.status_code == 409, (name, r.text)
        error = r.json()["error"]
        assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", "voice_name_reserved",
                                                                   "name")
        assert says in error["message"] and repr(name) in error["message"], error
    stored = {n.lower() for n in server.state.service.store.names().values()}
    assert not stored & {n.lower() for n in taken}
    listed = _listed(server)
    assert listed.count("alloy") == 1 and listed.count(engine_voice.lower()) == 1


def test_a_taken_name_or_a_file_stored_under_another_name_is_a_409(server):
    base = server.url
    first = _upload(server, _wav(1, freq=500), "Twin")
    assert first.status_code == 201, first.text
    twin_id = first.json()["id"]
    # the same name, other audio: not replaced behind the first uploader's back
    other = _upload(server, _wav(1, freq=600), "twin")
    assert other.status_code == 409 and other.json()["error"]["code"] == "voice_exists"
    assert other.json()["error"]["param"] == "name" and twin_id in other.json()["error"]["message"]
    # the same file under a new name: not silently renamed
    renamed = _upload(server, _wav(1, freq=500), "Triplet")
    assert renamed.status_code == 409, renamed.text
    error = renamed.json()["error"]
    assert (error["code"], error["param"]) == ("voice_exists", "file")
    assert twin_id in error["message"] and "'Twin'" in error["message"]
    # a name that is another upload's id
    assert _upload(server, _wav(1, freq=650), twin_id).status_code == 409
    assert _listed(server).count("twin") == 1 and "triplet" not in _listed(server)
    # the same file under its own name again: the same voice
    again = _upload(server, _wav(1, freq=500), "Twin")
    assert again.status_code == 201 and again.json()["id"] == twin_id
    # deleted first, the name and the file are free
    assert httpx.delete(f"{base}/v1/audio/voices/{twin_id}", timeout=10).status_code == 200
    assert _upload(server, _wav(1, freq=500), "Triplet").status_code == 201
    assert _upload(server, _wav(1, freq=600), "Twin").status_code == 201
