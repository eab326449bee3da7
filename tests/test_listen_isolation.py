"""A listener installed in its own environment, like an isolated engine: its worker process
declares it, loads its model and hears there; the kernel sends the audio over the protocol and
gets the words back. Real: polyvox-whisper (tiny.en) in a worker, hearing Piper's speech."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from isolation_kit import children, uv_env

import polyvox
from polyvox.isolation import envs, protocol
from polyvox.isolation.hosted import HostedPlugin
from polyvox.testing import ListenerContract

WHISPER = Path(__file__).resolve().parents[1] / "plugins" / "whisper"
LINES = ["The quick brown fox jumps over the lazy dog.", "My sister bought seven red apples at the market."]


@pytest.fixture(scope="module")
def whisper_env(tmp_path_factory: pytest.TempPathFactory) -> envs.EnvRecord:
    """polyvox-whisper's own environment (it sees this one's packages: no download)."""
    base = tmp_path_factory.mktemp("whisper-env")
    return envs.create("whisper", str(WHISPER), directory=base / "envs", inherit=True, offline=True,
                       no_deps=True, env=uv_env(base))


def test_the_environment_records_the_listener_it_declares(whisper_env) -> None:
    assert whisper_env.specs == ()  # no engine: a listener only
    (spec,) = [protocol.decode_listener_spec(s) for s in whisper_env.listeners]
    assert spec.name == "whisper" and spec.default_model == "tiny.en" and spec.sample_rate == 16000


def test_the_whisper_listener_hears_in_a_worker_process(whisper_env, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("POLYVOX_ENVS_DIR", str(Path(whisper_env.path).parent))
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    plugin = kernel.plugins.pm.get_plugin(kernel.plugins.listener_owner["whisper"])
    assert isinstance(plugin, HostedPlugin) and plugin.host.pid is None  # no worker until something is heard
    try:
        # a verified render: Piper speaks in this process, whisper hears in the worker
        result = kernel.render("\n".join(LINES), engine="piper", verify=polyvox.VerifyOptions(retakes=3))
        worker = plugin.host.pid
        assert worker is not None and worker != os.getpid() and worker in children(os.getpid())
        report = result.verification
        assert report.listener == "whisper:tiny.en" and report.failing == () and report.heard >= len(LINES)
        assert [s.text for s in report.segments] == LINES
        assert all(s.verdict.wer <= 0.2 for s in report.segments)

        # the words come back whole: text, times inside the audio, the language
        audio = kernel.synthesize(LINES[0], noise_scale=0.0, noise_w_scale=0.0)
        heard = kernel.listen(audio)
        assert plugin.host.last_call[0] == "hear" and plugin.host.pid == worker  # the same warm worker
        assert "fox" in heard.text.lower() and len(heard.words) >= 8 and heard.language == "en"
        assert all(0 <= w.start <= w.end <= audio.duration for w in heard.words)

        # what the worker hears is what the listener hears in this process, on the same audio
        monkeypatch.setenv("POLYVOX_ENVS_DIR", str(tmp_path / "no-envs"))
        here = polyvox.Kernel(cache=False, plugins=["piper", "whisper"])
        assert not isinstance(here.plugins.pm.get_plugin(here.plugins.listener_owner["whisper"]), HostedPlugin)
        assert here.listen(audio).text == heard.text
    finally:
        plugin.host.close()


def test_a_heard_record_crosses_the_protocol_whole() -> None:
    heard = polyvox.Heard(words=[polyvox.Word("Hello", 0.1, 0.4, 0.9), polyvox.Word("there", 0.5, 0.8, None)],
                          text="Hello there", language="en", language_probability=0.97)
    assert protocol.decode_heard(json.loads(json.dumps(protocol.encode_heard(heard)))) == heard
    spec = polyvox.ListenerSpec(name="ears", sample_rate=16000, default_model="m",
                                models={"m": ("en",), "n": ("*",)}, priority=3, thread_safe=True)
    assert protocol.decode_listener_spec(json.loads(json.dumps(protocol.encode_listener_spec(spec)))) == spec
    audio = polyvox.Audio(np.linspace(-1, 1, 1600, dtype=np.float32), 16000)
    blobs: list[bytes] = []
    assert np.array_equal(protocol.decode_audio(protocol.encode_audio(audio, blobs), blobs).samples, audio.samples)


class TestIsolatedWhisperContract(ListenerContract):
    """The listener contract kit passes with whisper hearing in its worker process."""

    listener = "whisper:tiny.en"

    @pytest.fixture(scope="class")
    @classmethod
    def kernel(cls, whisper_env: envs.EnvRecord) -> polyvox.Kernel:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("POLYVOX_ENVS_DIR", str(Path(whisper_env.path).parent))
            kernel = polyvox.Kernel(cache=False)
        plugin = kernel.plugins.pm.get_plugin(kernel.plugins.listener_owner["whisper"])
        assert isinstance(plugin, HostedPlugin)
        yield kernel
        assert plugin.host.pid is not None  # it was heard in the worker
        plugin.host.close()
