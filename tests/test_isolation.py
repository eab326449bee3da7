"""Engines in their own environments: the protocol, the worker, install and the contract.

The isolated engine is the template engine packaged as ``isotone`` (tests/isolation_kit.py),
installed with uv into its own environment; every test here talks to it through a real
worker process.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from isolation_kit import load_in_process, uv_env, write_plugin

import polyvox
from polyvox import Segment, Voice
from polyvox.isolation import envs, protocol
from polyvox.isolation.host import WorkerHost
from polyvox.isolation.hosted import HostedPlugin
from polyvox.testing import EngineContract, reference_voice

SCRIPT = [Segment(text="The first line is short.", character="ada"),
          Segment(text="A second, rather longer line follows it.", character="bo"),
          Segment(text="And a third one ends the scene.", character="ada")]


# -- the wire format ---------------------------------------------------------------------------
def test_frames_round_trip_audio_bit_exact_without_pickle():
    audio = polyvox.Audio(np.random.default_rng(1).uniform(-1, 1, 12345).astype(np.float32), 24000)
    blobs: list[bytes] = []
    header = {"ok": [protocol.encode_audio(audio, blobs)]}
    stream = io.BytesIO()
    protocol.write_frame(stream, header, blobs)
    raw = stream.getvalue()
    size = int.from_bytes(raw[:4], "big")
    assert json.loads(raw[4:4 + size])["blobs"] == [4 * 12345]  # a JSON header, then the raw samples
    assert raw[4 + size:] == audio.samples.astype("<f4").tobytes()
    stream.seek(0)
    got, got_blobs = protocol.read_frame(stream)
    back = protocol.decode_audio(got["ok"][0], got_blobs)
    assert back.sample_rate == 24000 and np.array_equal(back.samples, audio.samples)
    assert protocol.read_frame(stream) is None  # a clean end between frames


def test_a_truncated_frame_is_a_protocol_error():
    stream = io.BytesIO()
    protocol.write_frame(stream, {"ok": 1}, [b"abcdef"])
    with pytest.raises(protocol.ProtocolError, match="ended 3 bytes before the end"):
        protocol.read_frame(io.BytesIO(stream.getvalue()[:-3]))


def test_specs_requests_and_voices_cross_as_plain_data(tmp_path):
    spec = load_in_process_spec()
    assert protocol.decode_spec(json.loads(json.dumps(protocol.encode_spec(spec)))) == spec
    voice = reference_voice(tmp_path, "v", 150.0, reference_text="hello")
    request = polyvox.Request(text="hi", language="en", model="m", voice=voice, params={"pitch": 1.5}, seed=7)
    again = protocol.decode_request(json.loads(json.dumps(protocol.encode_request(request))))
    assert again == request


def test_every_field_of_a_request_and_its_voices_crosses(tmp_path):
    """Each field set to something other than its default; a field added to Request or Voice must
    be given a value here (the first asserts), and then fails the round trip until it crosses."""
    def every_field(cls: type, **values: Any) -> Any:
        names = {field.name for field in attrs.fields(cls)}
        assert set(values) == names, f"give the new fields of {cls.__name__} a value: {names - set(values)}"
        made = cls(**values)
        for field in attrs.fields(cls):
            default = field.default.factory() if isinstance(field.default, attrs.Factory) else field.default
            assert getattr(made, field.name) != default, f"{cls.__name__}.{field.name} is left at its default"
        return made

    def voice(name: str, freq: float) -> Voice:
        audio = reference_voice(tmp_path, name, freq).audio
        return every_field(Voice, name=name, audio=audio, reference_text=f"I am {name}.", model=f"{name}.onnx",
                           engine="isotone", language="de", language_wins=True, params={"pitch": 2.0})

    request = every_field(
        polyvox.Request, text="Guten Tag.", language="de", model="template-base", voice=voice("speaker", 150.0),
        params={"pitch": 1.5, "style": "calm"}, seed=7, emotion=voice("angry", 300.0),
        emotion_vector={"angry": 0.75, "calm": 0.25})
    again = protocol.decode_request(json.loads(json.dumps(protocol.encode_request(request))))
    for field in attrs.fields(polyvox.Request):
        assert getattr(again, field.name) == getattr(request, field.name), field.name
    assert again == request


def load_in_process_spec() -> polyvox.EngineSpec:
    from polyvox_template import Template

    return Template().spec()


# -- the environment and the kernel ------------------------------------------------------------
def test_the_environment_is_recorded_with_specs_and_package_versions(isotone_env):
    assert isotone_env.distribution == "polyvox-isotone"
    assert isotone_env.plugins == (("isotone", "polyvox_isotone:plugin"),)
    assert [s["name"] for s in isotone_env.specs] == ["isotone"]
    assert isotone_env.versions == {"numpy": np.__version__, "polyvox-isotone": "0.1.0"}
    assert Path(isotone_env.python).is_file() and isotone_env.python.startswith(isotone_env.path)
    # the plugin is installed in its environment only, not in the kernel's
    assert subprocess.run([sys.executable, "-c", "import polyvox_isotone"], capture_output=True,
                          timeout=60).returncode != 0


def test_the_kernel_lists_an_isolated_engine_without_starting_a_worker(isolated_kernel, isotone_env):
    plugin = isolated_kernel.plugins.pm.get_plugin(isolated_kernel.plugin_of("isotone"))
    assert isinstance(plugin, HostedPlugin)
    assert plugin.host.pid is None  # registering read the record; nothing was started
    assert isolated_kernel.engine("isotone").capabilities.batch
    assert isolated_kernel.runs_in("isotone").startswith(isotone_env.path)
    assert isolated_kernel.runs_in("template") == "in-process"


def test_isolated_audio_equals_in_process_audio(isolated_kernel, isotone_env, tmp_path):
    isolated = isolated_kernel.render(SCRIPT, engine="isotone")
    local = polyvox.Kernel(cache_dir=tmp_path / "local", load_entry_points=False)
    local.register(load_in_process(isotone_env))
    in_process = local.render(SCRIPT, engine="isotone")
    assert isolated.stats.synthesized == 3 and isolated.audio.duration > 3.0
    assert np.array_equal(isolated.audio.samples, in_process.audio.samples)
    # batches too: one synthesize_batch call per voice, the same samples
    batched = isolated_kernel.render(SCRIPT, engine="isotone", use_cache=False, batch_size=4)
    assert np.array_equal(batched.audio.samples, in_process.audio.samples)


def test_the_worker_keeps_models_and_voices_as_handles_and_stays_warm(isolated_kernel, tmp_path):
    voices = [reference_voice(tmp_path, "low", 110.0), reference_voice(tmp_path, "high", 220.0)]
    low = isolated_kernel.render(SCRIPT[:1], engine="isotone", voice=voices[0])
    high = isolated_kernel.render(SCRIPT[:1], engine="isotone", voice=voices[1])
    assert not np.array_equal(low.audio.samples, high.audio.samples)  # the voice crossed and mattered
    plugin = isolated_kernel.plugins.pm.get_plugin(isolated_kernel.plugin_of("isotone"))
    (entry,) = [isolated_kernel.models.get(*key) for key in isolated_kernel.models.loaded()]
    assert type(entry.model).__name__ == "ModelHandle"  # the model itself never left the worker
    assert all(type(c).__name__ == "VoiceHandle" for c in entry.conditioning.values())
    assert plugin.host.starts == 1 and isolated_kernel.models.loads == 1


def test_upstream_prints_go_to_the_worker_log_not_the_protocol(isolated_kernel, isotone_env):
    isolated_kernel.render(SCRIPT[:1], engine="isotone")
    log = (Path(isotone_env.path) / "worker.log").read_text()
    assert "isotone: loading template-base (an upstream print on stdout)" in log
    assert "isotone: speaking The first line is short." in log


def test_an_engine_exception_crosses_as_a_segment_error_and_the_worker_survives(isolated_kernel):
    with pytest.raises(polyvox.SegmentError, match=r"segment 0 .*failed in engine 'isotone': "
                                                   r"ValueError: isotone cannot say that"):
        isolated_kernel.render([Segment(text="Please fail here.")], engine="isotone")
    plugin = isolated_kernel.plugins.pm.get_plugin(isolated_kernel.plugin_of("isotone"))
    pid = plugin.host.pid
    assert isolated_kernel.render(SCRIPT[:1], engine="isotone").stats.synthesized == 1
    assert plugin.host.pid == pid and plugin.host.starts == 1


def test_the_cache_stays_in_the_kernel_and_keys_carry_package_versions(isolated_kernel, isotone_env):
    first = isolated_kernel.render(SCRIPT, engine="isotone")
    plugin = isolated_kernel.plugins.pm.get_plugin(isolated_kernel.plugin_of("isotone"))
    plugin.host.close()
    again = isolated_kernel.render(SCRIPT, engine="isotone")
    assert again.stats.cached == 3 and plugin.host.pid is None  # served without a worker
    assert np.array_equal(first.audio.samples, again.audio.samples)
    version = isolated_kernel.plugins.version_of("isotone")
    assert version == f"numpy {np.__version__}; polyvox-isotone 0.1.0"
    # an upgraded environment (another numpy) is another key: no stale audio
    plugin.version = "numpy 0.0; polyvox-isotone 0.1.0"
    isolated_kernel.renderer.replan()
    assert isolated_kernel.render(SCRIPT, engine="isotone").stats.cached == 0


class TestIsolatedContract(EngineContract):
    """The contract kit, unchanged, against the engine in its worker."""

    engine = "isotone"

    @pytest.fixture(scope="class")
    @classmethod
    def kernel(cls, isotone_env, tmp_path_factory: pytest.TempPathFactory) -> polyvox.Kernel:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("POLYVOX_ENVS_DIR", str(Path(isotone_env.path).parent))
            kernel = polyvox.Kernel(cache_dir=tmp_path_factory.mktemp("contract-cache"))
        assert kernel.runs_in("isotone") != "in-process"
        yield kernel
        kernel.plugins.pm.get_plugin(kernel.plugin_of("isotone")).host.close()

    @pytest.fixture(scope="class")
    @classmethod
    def voices(cls, tmp_path_factory: pytest.TempPathFactory) -> list[polyvox.Voice]:
        folder = tmp_path_factory.mktemp("voices")
        return [reference_voice(folder, "low", 110.0), reference_voice(folder, "high", 220.0)]


# -- the command line ----------------------------------------------------------------------------
def test_install_engines_and_uninstall_from_the_command_line(tmp_path):
    source = write_plugin(tmp_path / "src" / "polyvox-isotone")
    env = {**uv_env(tmp_path), "POLYVOX_ENVS_DIR": str(tmp_path / "envs"), "POLYVOX_CACHE_DIR": str(tmp_path / "c")}

    def polyvox_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "polyvox", *args], capture_output=True, text=True, env=env,
                              timeout=300)

    done = polyvox_cli("install", str(source), "--reuse-kernel-packages", "--offline")
    assert done.returncode == 0, done.stderr
    assert "Isolated engines: isotone, in " in done.stdout
    (record,) = envs.records(tmp_path / "envs")
    listed = json.loads(polyvox_cli("engines", "--json").stdout)
    runs = {e["name"]: e["runs"] for e in listed}
    assert runs["isotone"] == record.describe() and runs["template"] == "in-process"
    said = polyvox_cli("say", "Spoken by a worker.", "--engine", "isotone", "-o", str(tmp_path / "out.wav"))
    assert said.returncode == 0, said.stderr
    assert polyvox.Audio.read(tmp_path / "out.wav").duration > 0.5
    gone = polyvox_cli("uninstall", "-y", "isotone")
    assert gone.returncode == 0 and f"Removed environment {record.path}" in gone.stdout
    assert not Path(record.path).exists() and envs.records(tmp_path / "envs") == []
    assert "isotone" not in polyvox_cli("engines", "--json").stdout


def test_a_worker_of_another_protocol_version_is_refused(isotone_env):
    worker = WorkerHost(isotone_env.worker_command(), label="old", timeout=30)
    try:
        worker.start()
        with pytest.raises(polyvox.PolyvoxError, match="kernel speaks protocol 99"):
            worker._exchange("hello", {"version": 99}, (), 30)
    finally:
        worker.close()


def test_worker_timeout_setting_is_validated(monkeypatch):
    from polyvox.isolation.host import timeout_from_env

    assert timeout_from_env({"POLYVOX_WORKER_TIMEOUT": "2.5"}) == 2.5
    with pytest.raises(polyvox.PolyvoxError, match=r"POLYVOX_WORKER_TIMEOUT='soon' is not valid"):
        timeout_from_env({"POLYVOX_WORKER_TIMEOUT": "soon"})
    assert os.environ.get("POLYVOX_WORKER_TIMEOUT") is None


def test_engine_errors_keep_their_polyvox_class_and_others_their_type_name():
    from polyvox.errors import ModelError
    from polyvox.isolation.host import EngineFailure, _engine_error

    missing = _engine_error({"type": "ModelError", "message": "model 'x': no weights", "polyvox": True})
    assert type(missing) is ModelError and str(missing) == "model 'x': no weights"
    other = _engine_error({"type": "RuntimeError", "message": "CUDA out of memory", "polyvox": False})
    assert type(other) is EngineFailure and str(other) == "RuntimeError: CUDA out of memory"
    # a name that is not a polyvox error class never becomes one (no class lookup by arbitrary name)
    assert type(_engine_error({"type": "Kernel", "message": "m", "polyvox": True})) is polyvox.PolyvoxError


def test_a_plugin_that_does_not_import_in_its_environment_fails_the_install(tmp_path):
    source = write_plugin(tmp_path / "src" / "isotone")
    (source / "polyvox_isotone.py").write_text("raise ImportError('No module named torch')\n")
    with pytest.raises(polyvox.PolyvoxError, match=r"plugin isotone does not load in the worker of .*"
                                                   r"ImportError: No module named torch"):
        envs.create("isotone", str(source), directory=tmp_path / "envs", inherit=True, offline=True,
                    no_deps=True, env=uv_env(tmp_path))
    assert envs.records(tmp_path / "envs") == []  # nothing recorded for a plugin that cannot run


def test_a_plugin_folders_lock_keys_and_constrains_its_environment(tmp_path, monkeypatch):
    """plugins/<name>/requirements.lock is what the plugin was tested with: a user's environment
    gets those versions (so two engines locked on one torch share it), and a new lock a new key."""
    source = write_plugin(tmp_path / "src" / "isotone")
    unlocked = envs.env_key([str(source)], "3.11.7", False)
    (source / "requirements.lock").write_text("numpy==1.26.4\n")
    locked = envs.env_key([str(source)], "3.11.7", False)
    (source / "requirements.lock").write_text("numpy==2.4.6\n")
    assert len({unlocked, locked, envs.env_key([str(source)], "3.11.7", False)}) == 3
    real, installs = envs._run, []

    def run(command, env=None, timeout=3600):
        if list(command[1:3]) == ["pip", "install"]:
            installs.append(list(command))
            raise envs.EnvError("stopped before the download")
        return real(command, env, timeout)

    monkeypatch.setattr(envs, "_run", run)
    with pytest.raises(envs.EnvError, match="stopped before the download"):
        envs.create("isotone", str(source), directory=tmp_path / "envs", env=uv_env(tmp_path))
    (command,) = installs
    assert command[-2:] == [str(source), envs.kernel_source()]
    at = command.index("--constraint")
    assert command[at + 1] == str(source / "requirements.lock")


def test_any_engine_host_serves_an_engine_through_the_hosted_plugin(isotone_env, tmp_path):
    """The seam other executors build on: an in-process host behind HostedPlugin renders the
    same audio as the engine registered directly."""
    from polyvox.isolation.seam import InProcessHost

    inner = polyvox.Kernel(cache=False, load_entry_points=False)
    inner.register(load_in_process(isotone_env))
    outer = polyvox.Kernel(cache_dir=tmp_path / "outer", load_entry_points=False)
    outer.register(HostedPlugin(InProcessHost(inner.plugins.hook), [inner.engine("isotone")]))
    assert outer.runs_in("isotone") == "in-process"
    direct, hosted = inner.render(SCRIPT, engine="isotone"), outer.render(SCRIPT, engine="isotone")
    assert hosted.stats.synthesized == 3 and np.array_equal(hosted.audio.samples, direct.audio.samples)


def test_a_spec_crosses_the_worker_boundary_whole() -> None:
    """Every declaration an engine makes, its preferred join included, survives the protocol."""
    from polyvox.isolation.protocol import decode_spec, encode_spec

    spec = polyvox.EngineSpec(
        name="spec-x", sample_rate=24000, languages=("en", "de"), default_model="m", models=("m", "n"),
        params=(polyvox.ParamSpec("speed", 1.0, min=0.5, max=2.0, aliases=("rate",)),), max_chars=175,
        capabilities=polyvox.Capabilities(clones=True, seeded=True, batch=True),
        join=polyvox.JoinConfig(method="crossfade", crossfade_ms=150), voices=("a", "b"))
    assert decode_spec(json.loads(json.dumps(encode_spec(spec)))) == spec
