"""Every example in README.md and docs/*.md runs as written (Sybil parses the Markdown).

Each document runs in its own temporary directory, top to bottom, sharing one namespace:

- ```python blocks run in that namespace (the directory is the working directory);
- ```sh / ```bash blocks run with bash (``set -e -o pipefail``: every command must succeed),
  with ``.venv/bin`` (linked into the directory) and ``polyvox`` on PATH; their output is kept
  in ``last`` for the next block to check;
- ``<!-- invisible-code-block: python -->`` blocks create the inputs the text assumes and check
  what it promises (files written, the documented error); ``sh(command, rc=...)`` runs a
  command and returns its completed process;
- ``<!-- skip: next "reason" -->`` marks what cannot run here (GPU engines and their weights, the
  network, ``make`` targets that would run this suite again).

HOME, the XDG folders and the cache point into the directory, never at the user's; only the
built-in Piper, the template engine and the Welsh language pack are loaded. Nothing a newcomer
would lack is made for a document: the inputs its examples read (story.txt, talk.srt, voices/,
...) come from the document itself (`polyvox demo --write-samples .`) or from docs/examples/,
which is copied into the directory as a checkout has it. The plugins' READMEs run too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any
from unittest import SkipTest

import pytest

pytest.importorskip("sybil")

from sybil import Sybil  # noqa: E402
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "plugins").glob("*/README.md"))]
#: Documents whose commands a newcomer runs first: some example of each must run.
MUST_RUN = {"README.md", "docs/cli.md", "docs/markup.md", "docs/subtitles.md", "docs/embedding.md",
            "plugins/template/README.md", "plugins/langpack-welsh/README.md", "plugins/chatterbox/README.md"}
#: The sample inputs a checkout has (and `polyvox demo --write-samples` writes).
EXAMPLES = ROOT / "docs" / "examples"
BIN = Path(sys.executable).parent
PLUGINS = "piper,template,langpack-welsh"
#: Every command of a document gets this long; none should come near it.
COMMAND_TIMEOUT = 120



def environment(home: Path, cache: Path | None = None) -> dict[str, str]:
    """The process environment of a document: nothing of the user's, nothing of the network."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLYVOX_", "XDG_"))}
    env.update(
        HOME=str(home / "home"), XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "xdg-cache"),
        XDG_DATA_HOME=str(home / "data"), POLYVOX_CACHE_DIR=str(cache or home / "cache"), POLYVOX_PLUGINS=PLUGINS,
        PATH=os.pathsep.join([str(home / "stub-bin"), str(BIN), env.get("PATH", "")]), NO_COLOR="1",
        HF_HUB_OFFLINE="1", PIP_NO_INDEX="1",
    )
    return env


def make_inputs(directory: Path) -> None:
    """What a checkout has beside the docs: .venv and docs/examples (the sample inputs)."""
    shutil.copytree(EXAMPLES, directory / "docs" / "examples")
    (directory / ".venv").symlink_to(BIN.parent, target_is_directory=True)
    stubs = directory / "stub-bin"
    stubs.mkdir()
    # `... | aplay`: keep what would be played, so a block can check it is audio.
    (stubs / "aplay").write_text("#!/bin/sh\ncat > \"$PWD/aplay.in\"\n")
    (stubs / "aplay").chmod(0o755)
    for name in ("home", "config", "xdg-cache", "data"):
        (directory / name).mkdir()


class Shell:
    """Runs shell text in a document's directory and environment."""

    def __init__(self, directory: Path, env: dict[str, str], namespace: dict[str, Any]):
        self.directory, self.env, self.namespace = directory, env, namespace

    def run(self, command: str, rc: int | None = 0, input: str | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run(["bash", "-c", "set -e -o pipefail\n" + command], cwd=self.directory,
                              env=self.env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                              input=input, errors="replace")
        self.namespace["last"] = done
        if rc is not None and done.returncode != rc:
            raise AssertionError(f"exit status {done.returncode} (expected {rc}) from:\n{command}\n"
                                 f"stdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-3000:]}")
        return done

    def evaluate(self, example: Any) -> None:
        self.run(textwrap.dedent(example.parsed))


def run_shell_block(example: Any) -> None:
    example.namespace["_shell"].evaluate(example)


SYBIL = Sybil(parsers=[PythonCodeBlockParser(), CodeBlockParser("sh", run_shell_block),
                       CodeBlockParser("bash", run_shell_block), SkipParser()])


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for every document (still a temporary one): the same sentences in several docs
    are synthesized once, which keeps the suite fast."""
    return tmp_path_factory.mktemp("docs-cache")


def test_docs_examples_are_what_write_samples_writes(tmp_path: Path) -> None:
    """docs/examples/ (what a checkout shows) and `polyvox demo --write-samples` (what a
    pip install makes) are the same files."""
    from polyvox.samples import SAMPLE_FILES

    for name, text in SAMPLE_FILES.items():
        assert (EXAMPLES / name).read_text(encoding="utf-8") == text, name
    voices = sorted(p.name for p in (EXAMPLES / "voices").iterdir())
    assert voices == ["Alice.reference.txt", "Alice.wav", "Bob.reference.txt", "Bob.wav"]


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_document_examples_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               shared_cache: Path) -> None:
    make_inputs(tmp_path)
    env = environment(tmp_path, shared_cache)
    for key in [k for k in os.environ if k.startswith(("POLYVOX_", "XDG_"))]:
        monkeypatch.delenv(key)
    for key in ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "POLYVOX_CACHE_DIR",
                "POLYVOX_PLUGINS", "NO_COLOR"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.chdir(tmp_path)
    document = SYBIL.parse(path)
    shell = Shell(tmp_path, env, document.namespace)
    document.namespace.update(_shell=shell, sh=shell.run, Path=Path, here=tmp_path)
    ran = skipped = 0
    started = time.perf_counter()
    for example in document:
        try:
            example.evaluate()
        except SkipTest:
            skipped += 1
            continue
        except Exception as exc:
            raise AssertionError(f"{path.relative_to(ROOT)}, line {example.line}: the example fails:\n{exc}") from exc
        ran += 1
    if str(path.relative_to(ROOT)) in MUST_RUN:
        assert ran, f"{path.relative_to(ROOT)}: no example ran"
    print(f"{path.name}: {ran} examples ran, {skipped} skipped, {time.perf_counter() - started:.1f} s")


def test_harness_fails_on_a_broken_example(tmp_path: Path) -> None:
    """A doc example that stops working fails the suite: a failing command, a wrong promise."""
    doc = tmp_path / "broken.md"
    doc.write_text("```sh\npolyvox say 'Hi' --engine nosuch -o x.wav\n```\n", encoding="utf-8")
    (tmp_path / "run").mkdir()
    make_inputs(tmp_path / "run")
    env = environment(tmp_path / "run")
    document = SYBIL.parse(doc)
    document.namespace["_shell"] = Shell(tmp_path / "run", env, document.namespace)
    with pytest.raises(AssertionError, match="exit status 1"):
        for example in document:
            example.evaluate()
    assert "nosuch" in document.namespace["last"].stderr
    assert shutil.which("bash")
