"""The Ray executor's settings and errors, without starting Ray: the one-line error when Ray
is missing, validated options, resource hints and how replicas reserve them."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from click.testing import CliRunner

import polyvox
from polyvox import Capabilities
from polyvox.errors import ParameterError, PluginError, PolyvoxError


@pytest.fixture
def no_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError


def test_without_ray_the_error_names_the_extra(no_ray, tmp_path):
    with pytest.raises(PolyvoxError, match=r"^the ray executor needs Ray: pip install 'polyvox\[ray\]'$"):
        polyvox.Kernel(cache_dir=tmp_path, executor="ray")


def test_cli_without_ray_prints_one_line(no_ray, tmp_path):
    from polyvox.cli import cli

    script = tmp_path / "s.txt"
    script.write_text("Hello.")
    run = CliRunner().invoke(cli, ["--cache-dir", str(tmp_path / "c"), "render", str(script), "--engine",
                                   "template", "--executor", "ray", "-o", str(tmp_path / "o.wav")])
    assert run.exit_code == 1
    assert run.output.strip().splitlines() == ["Error: the ray executor needs Ray: pip install 'polyvox[ray]'"]
    assert not (tmp_path / "o.wav").exists()


def test_unknown_executor_names_the_allowed_ones(tmp_path):
    with pytest.raises(ParameterError, match=r"executor 'dask' is not known: expected one of sequential, ray"):
        polyvox.Kernel(cache_dir=tmp_path, executor="dask")
    assert polyvox.Kernel(cache_dir=tmp_path, executor="sequential").scheduler.executor is None


def test_executor_setting_is_validated():
    from polyvox.config import load_settings

    with pytest.raises(PolyvoxError, match=r"executor = 'spark' is not valid; expected sequential or ray"):
        load_settings({"executor": "spark"}, environ={})
    conf = load_settings({}, environ={"POLYVOX_EXECUTOR": "RAY", "POLYVOX_RAY_REPLICAS": "3",
                                      "POLYVOX_RAY_ENVS_DIR": "/srv/polyvox-envs"})
    assert conf.value("executor") == "ray" and conf.value("ray_replicas") == 3
    executor = conf.kernel().scheduler.executor
    assert executor.options.replicas == 3 and executor.options.envs_dir == "/srv/polyvox-envs"


@pytest.mark.parametrize(("option", "value", "message"), [
    ("replicas", 0, r"ray replicas=0 is not valid: expected an integer of 1 or more"),
    ("max_retries", -1, r"ray max_retries=-1 is not valid: expected an integer of 0 or more"),
    ("num_gpus", -0.5, r"ray num_gpus=-0.5 is not valid: expected a number of 0 or more"),
    ("address", "nowhere", r"ray address 'nowhere' is not valid: expected auto, local, host:port or ray://"),
])
def test_ray_options_are_validated(option, value, message):
    from polyvox.distributed.ray_executor import RayOptions

    with pytest.raises(ParameterError, match=message):
        RayOptions(**{option: value})


def test_capability_resource_hints_are_validated():
    assert Capabilities(gpus=0.5, cpus=2).gpus == 0.5
    with pytest.raises(PluginError, match=r"capability gpus=-1 is not valid: expected a number of 0 or more"):
        Capabilities(gpus=-1)


def test_replica_resources_follow_the_engine_then_the_settings():
    from polyvox.distributed.pool import ReplicaPool
    from polyvox.distributed.ray_executor import RayOptions

    spec = polyvox.EngineSpec(name="big", sample_rate=24000, languages=("en",), default_model="m",
                              capabilities=Capabilities(cpus=2, gpus=1))
    declared = ReplicaPool(RayOptions())
    assert declared.resources(spec, ("big", "m", "cuda")) == {"num_cpus": 2.0, "num_gpus": 1.0}
    assert declared.resources(spec, ("big", "m", "cpu")) == {"num_cpus": 2.0, "num_gpus": 0.0}
    shared = ReplicaPool(RayOptions(num_gpus=0.25, num_cpus=1))
    assert shared.resources(spec, ("big", "m", "auto")) == {"num_cpus": 1.0, "num_gpus": 0.25}


def test_a_replica_in_process_loads_once_prepares_each_voice_once_and_names_failures(monkeypatch):
    """The actor's class without Ray: plain data in and out, batch failures split per segment."""
    from polyvox.distributed.replica import Replica

    kernel = polyvox.Kernel(cache=False)
    jobs = kernel.plan("One.\nTwo fails.\nThree.", engine="template")
    replica = Replica(["template"], jobs[0].model_key)
    assert replica.warm()["loads"] == 1
    import polyvox_template

    real = polyvox_template.Template.synthesize

    def flaky(self, model, request, conditioning):
        if "fails" in request.text:
            raise RuntimeError("boom")
        return real(self, model, request, conditioning)

    monkeypatch.setattr(polyvox_template.Template, "synthesize", flaky)
    reply = replica.synthesize(jobs[0].voice_key, [j.request for j in jobs])
    outcomes = reply["outcomes"]
    assert [o[0] for o in outcomes] == ["ok", "error", "ok"]
    assert outcomes[1][1] == "RuntimeError: boom"
    assert outcomes[0][1].dtype.name == "float32" and outcomes[0][2] == 16000
    assert reply["loads"] == 0 and reply["voice_preparations"] == 1
    replica.synthesize(jobs[0].voice_key, [jobs[0].request])
    assert replica.info()["voice_preparations"] == 1 and replica.info()["loads"] == 1


def test_a_replica_limits_piper_to_the_cpus_it_was_given(monkeypatch):
    """ONNX Runtime takes every core unless told: a replica given one CPU makes Piper's
    session use one intra-op thread (two replicas on two cores then do not fight), and the
    audio is the same as an unlimited session's."""
    from polyvox.distributed.replica import Replica

    quiet = polyvox.Voice(name="quiet", params={"noise_scale": 0.0, "noise_w_scale": 0.0})
    job = polyvox.Kernel(cache=False).plan("A limited replica speaks.", engine="piper", voice=quiet)[0]
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    unlimited = polyvox.Kernel(cache=False)
    entry = unlimited.scheduler.models.get(*job.model_key)
    assert entry.model.voice.session.get_session_options().intra_op_num_threads == 0  # 0: all cores
    replica = Replica(["piper"], job.model_key, threads=1)  # sets OMP_NUM_THREADS (undone by monkeypatch)
    assert replica.info()["threads"] == "1"
    replica.warm()
    limited = replica.models.get(*job.model_key).model.voice.session.get_session_options()
    assert limited.intra_op_num_threads == 1 and limited.inter_op_num_threads == 1
    reply = replica.synthesize(job.voice_key, [job.request])
    assert reply["outcomes"][0][0] == "ok"
    got = reply["outcomes"][0][1]
    # Another thread count sums in another order: the same audio to float rounding, and
    # sample for sample the same as a local render under the same limit.
    expected = unlimited.render("A limited replica speaks.", engine="piper", voice=quiet).audio
    assert len(got) == len(expected.samples) > 16000
    assert np.max(np.abs(got - expected.samples)) < 1e-4
    one_thread = polyvox.Kernel(cache=False).render("A limited replica speaks.", engine="piper", voice=quiet).audio
    assert np.array_equal(got, one_thread.samples)


def test_a_replica_reloads_a_model_whose_files_changed_under_it():
    """A replica outlives renders; when the driver plans with other model content (files
    replaced at the same path), the replica loads the model again before it synthesizes, so
    no old-weights audio is cached under the new content's keys."""
    from polyvox.distributed.replica import Replica

    replica = Replica(["template"], ("template", "template-base", "cpu"))
    request = polyvox.Kernel(cache_dir=None).plan("Hello there.", engine="template")[0].request
    for fingerprint, loads in (("content-a", 1), ("content-a", 0), ("content-b", 1)):
        out = replica.synthesize(None, [request], fingerprint)
        assert "fatal" not in out and out["loads"] == loads, (fingerprint, out)
