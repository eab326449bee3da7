"""The plugin through the real entry point, in fresh processes: `polyvox engines f5tts`, lazy imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def run(args: list[str], world: dict[str, Path] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    env.pop("POLYVOX_PLUGINS", None)
    if world is not None:
        env["POLYVOX_F5TTS_DIR"] = str(world["weights"])
        env["POLYVOX_F5TTS_CONFIG"] = str(world["config"] / "f5tts.toml")
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)


def test_import_and_registration_stay_light():
    heavy = "('torch', 'f5_tts.infer', 'transformers')"
    code = ("import sys, polyvox, polyvox_f5tts; k = polyvox.Kernel(plugins=['f5tts'], cache=False); "
            f"k.engine('f5tts'); print(sorted(m for m in {heavy} if m in sys.modules))")
    proc = run([sys.executable, "-c", code])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_polyvox_engines_shows_models_languages_and_parameters(world):
    proc = run([str(BIN / "polyvox"), "engines", "f5tts"], world)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for word in ("F5TTS_v1_Base", "tiny-de", "F5TTS_French", "nfe_step", "cfg_strength", "sway_sampling_coef",
                 "speed", "cross_fade_duration", "target_rms", "fix_duration", "24000"):
        assert word in out, word


def test_models_command_says_which_files_are_here(world):
    proc = run([sys.executable, "-m", "polyvox_f5tts", "models"], world)
    assert proc.returncode == 0, proc.stderr
    lines = {line.split()[0]: line for line in proc.stdout.splitlines()}
    assert "local" in lines["F5TTS_v1_Base"] and "local" in lines["tiny-de"]
    assert "missing" in lines["F5TTS_German"] and "cc-by-nc-4.0" in lines["F5TTS_German"]
