"""A tiny isolated engine for the isolation tests: the template engine under the name
``isotone``, built as a real plugin package (entry point group ``polyvox.isolated``) and
installed with uv into an environment that sees the kernel's packages, offline.

Some texts are faults, so tests can break a worker mid-render the ways real engines do, and
one model ("unfetched") fails to load with polyvox's own `ModelError`.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from polyvox.isolation import envs
from polyvox.isolation.envs import EnvRecord

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "polyvox-isotone"
version = "0.1.0"
dependencies = ["polyvox", "numpy"]

[project.entry-points."polyvox.isolated"]
isotone = "polyvox_isotone:plugin"

[tool.setuptools]
py-modules = ["polyvox_isotone"]
"""

MODULE = '''\
"""The template engine as "isotone", with faults on cue."""
import ctypes
import os
import signal
import sys
import time

import attrs
from polyvox.errors import ModelError
from polyvox_template import Template


class Isotone(Template):
    name = "isotone"

    def spec(self):
        spec = super().spec()
        # "unfetched": a model whose weights are not on this machine (its load raises ModelError)
        return attrs.evolve(spec, name=self.name, description="template, isolated",
                            models=(*spec.models, "unfetched"))

    def files(self, model):
        return [] if model == "unfetched" else super().files(model)  # not downloaded: no files yet

    def load(self, model, device):
        print("isotone: loading", model, "(an upstream print on stdout)")
        if model == "unfetched":
            raise ModelError("isotone model 'unfetched' has no weights on this machine")
        return super().load(model, device)

    def synthesize(self, model, request, conditioning):
        text = request.text
        print("isotone: speaking", text)  # stdout: must never reach the protocol
        if "kill me" in text:
            print("isotone: killing myself", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        if "crash now" in text:
            print("isotone: out of memory, giving up", file=sys.stderr, flush=True)
            os._exit(3)
        if "segfault" in text:
            print("isotone: reading address zero", file=sys.stderr, flush=True)
            ctypes.string_at(0)
        if "hang here" in text:
            print("isotone: waiting forever", file=sys.stderr, flush=True)
            time.sleep(600)
        if "fail here" in text:
            raise ValueError("isotone cannot say that")
        return super().synthesize(model, request, conditioning)


plugin = Isotone()
'''


def write_plugin(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(PYPROJECT)
    (folder / "polyvox_isotone.py").write_text(textwrap.dedent(MODULE))
    return folder


def uv_env(base: Path) -> dict[str, str]:
    """uv kept off the network and out of the user's cache and config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    env.update(UV_CACHE_DIR=str(base / "uv-cache"), UV_OFFLINE="1", UV_NO_CONFIG="1",
               UV_PYTHON_DOWNLOADS="never")
    return env


def build(base: Path) -> EnvRecord:
    """Make the isotone environment in `base`/envs (a few seconds, no network)."""
    source = write_plugin(base / "src" / "isotone")
    return envs.create("isotone", str(source), directory=base / "envs", inherit=True, offline=True,
                       no_deps=True, env=uv_env(base))


def load_in_process(record: EnvRecord):
    """The same plugin module imported into this process, for comparisons."""
    import importlib.util

    source = Path(record.path).parent.parent / "src" / "isotone" / "polyvox_isotone.py"
    spec = importlib.util.spec_from_file_location("isotone_in_process", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.plugin


def children(pid: int) -> list[int]:
    """Live (not zombie) child processes of `pid`, read from /proc: no worker may be left behind."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found
