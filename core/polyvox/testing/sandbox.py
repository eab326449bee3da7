"""`Sandbox`: a throwaway virtual environment layered over the running one.

It sees every package of the environment that created it (polyvox, pip, setuptools, the
installed plugins) but installs into its own directory, so a test can ``pip install`` a
plugin, use it through the real entry points and throw it away, leaving the main
environment exactly as it was.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import venv
from pathlib import Path

_SITE_PACKAGES = f"lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"


class Sandbox:
    """A virtual environment in `path` whose imports fall back to the current environment."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if os.name == "nt":  # pragma: no cover - the layout differs on Windows
            self.python = self.path / "Scripts" / "python.exe"
            self.site_packages = self.path / "Lib" / "site-packages"
        else:
            self.python = self.path / "bin" / "python"
            self.site_packages = self.path / _SITE_PACKAGES
        if not self.python.exists():
            venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(self.path)
            parents = [p for p in site.getsitepackages() if Path(p).is_dir()]
            lines = [f"import site; site.addsitedir({p!r})" for p in parents]
            (self.site_packages / "_polyvox_parent_env.pth").write_text("\n".join(lines) + "\n")

    def env(self) -> dict[str, str]:
        """The environment for commands in the sandbox (its bin first on PATH, no stray plugin filter)."""
        env = {k: v for k, v in os.environ.items() if k not in ("POLYVOX_PLUGINS", "PYTHONPATH", "PIP_USER")}
        env["PATH"] = f"{self.python.parent}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.path)
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        return env

    def run(self, *args: str | Path, check: bool = True, timeout: float = 600,
            cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run the sandbox's python with `args`; raises AssertionError with the output on failure."""
        proc = subprocess.run([str(self.python), *map(str, args)], capture_output=True, text=True,
                              env=self.env(), timeout=timeout, cwd=cwd)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def polyvox(self, *args: str | Path, check: bool = True, timeout: float = 600,
                cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run the ``polyvox`` command line inside the sandbox."""
        return self.run("-m", "polyvox", *args, check=check, timeout=timeout, cwd=cwd)

    def pip_install_editable(self, directory: str | Path) -> None:
        """``pip install -e --no-deps``: the build backend comes from the package index pip is set up
        with; where that fails (offline), from the setuptools already installed."""
        command = ("-m", "pip", "install", "-q", "--no-deps", "-e", str(directory))
        if self.run(*command, check=False).returncode != 0:
            self.run(*command[:-2], "--no-build-isolation", *command[-2:])
