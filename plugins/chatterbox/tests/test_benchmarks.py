"""benchmarks/gpu.py where it cannot measure: one line saying what is missing, exit status 0,
and never a download (the hub cache here is the suite's empty one, the hub offline)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "benchmarks" / "gpu.py"


def _gpu_module():
    spec = importlib.util.spec_from_file_location("bench_gpu", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA: the script would measure")
def test_without_cuda_it_says_so_in_one_line_and_exits_0():
    out = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [out.stdout.strip()]
    assert "nothing measured: no CUDA device" in out.stdout


def test_missing_weights_are_named_and_nothing_is_fetched(tmp_path):
    gpu = _gpu_module()
    (tmp_path / "turbo").mkdir()
    (tmp_path / "turbo" / "ve.safetensors").write_bytes(b"")
    line = gpu.find_weights("turbo", tmp_path, download=False)
    assert line == (f"no turbo weights in {tmp_path / 'turbo'}: missing t3_turbo_v1.safetensors, "
                    "s3gen_meanflow.safetensors, tokenizer_config.json")
    for name in ("t3_turbo_v1.safetensors", "s3gen_meanflow.safetensors", "tokenizer_config.json"):
        (tmp_path / "turbo" / name).write_bytes(b"")
    assert gpu.find_weights("turbo", tmp_path, download=False) == tmp_path / "turbo"
    # no --weights: the (empty) hub cache is asked, offline, and the way to get them is named
    line = gpu.find_weights("english", None, download=False)
    assert "no english weights in the Hugging Face cache (ResembleAI/chatterbox)" in line and "--download" in line
