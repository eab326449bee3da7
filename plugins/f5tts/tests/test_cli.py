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


def test_polyvox_models_says_which_files_are_here(world):
    import json

    proc = run([str(BIN / "polyvox"), "models", "--engine", "f5tts", "--json"], world)
    assert proc.returncode == 0, proc.stderr
    rows = {row["model"]: row for row in json.loads(proc.stdout)}
    assert rows["F5TTS_v1_Base"]["state"] == "present" and rows["tiny-de"]["state"] == "present"
    assert rows["tiny-de"]["languages"] == ["de"]
    assert rows["F5TTS_German"]["state"] == "missing" and rows["F5TTS_German"]["license"] == "cc-by-nc-4.0"


def test_the_old_python_m_spelling_is_an_alias(world):
    proc = run([sys.executable, "-m", "polyvox_f5tts", "download", "F5TTS_German"], world)
    assert proc.returncode == 1
    assert "offline" in proc.stderr and "Traceback" not in proc.stderr  # the tests' hub is offline
