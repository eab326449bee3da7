"""The weights service: engines declare their models' files (`model_weights` hook); the kernel
lists them, fetches them (asking first where a person is there to answer), verifies them,
removes them, and hands the engine local paths.

Whether a missing model may be fetched when something needs it is one policy per kernel:

- ``never`` — offline (``HF_HUB_OFFLINE=1``, ``--offline``): a one-line error names the exact
  ``polyvox models pull`` command instead;
- ``yes`` — scripts and servers that opted in (``POLYVOX_ALLOW_DOWNLOADS=1``, ``--yes``);
- ``ask`` — the default: ask once per model in a terminal, showing size and licence; with no
  terminal to ask in, refuse like ``never`` (a script must not hang on a question).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from polyvox.errors import ModelError, PluginError, PolyvoxError
from polyvox.events import DownloadAnswered, DownloadAsking, DownloadFinished, DownloadProgress, Event
from polyvox.weights import fetch, store
from polyvox.weights.sources import Files, HubFiles, LocalFiles, ModelWeights, Status, UrlFile

POLICIES = ("ask", "yes", "never")
ALLOW_ENV = "POLYVOX_ALLOW_DOWNLOADS"

#: Asks a person a yes/no question; None when nobody can be asked.
Confirm = Callable[[str], bool]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def offline() -> bool:
    """True when the process must not download (huggingface_hub's own switch)."""
    return _truthy(os.environ.get("HF_HUB_OFFLINE"))


def resolve_policy(given: str | None) -> str:
    """The policy in force: offline wins over everything, then `given`, then the environment."""
    if given is not None and given not in POLICIES:
        raise PolyvoxError(f"downloads={given!r} is not allowed: expected one of {', '.join(POLICIES)}")
    if offline():
        return "never"
    if given is not None:
        return given
    return "yes" if _truthy(os.environ.get(ALLOW_ENV)) else "ask"


def in_terminal() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def ask_in_terminal(question: str) -> bool:
    """Ask on stderr when both ends are a terminal; otherwise nobody is there: no."""
    if not in_terminal():
        return False
    import click

    return click.confirm(question, default=True, err=True)


def human_size(size: int | None) -> str:
    if size is None:
        return "size unknown"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def pull_command(engine: str, model: str) -> str:
    return f"polyvox models pull {engine}:{model}"


class Weights:
    """Declared weights of every engine's models, and what of them is on this machine."""

    def __init__(self, hook: Any, emit: Callable[[Event], None], downloads: str | None = None,
                 confirm: Confirm | None = None):
        self._hook = hook
        self._emit = emit
        self._policy = downloads
        resolve_policy(downloads)  # a bad value fails when the kernel is made
        self._confirm = confirm or ask_in_terminal
        #: Whether someone can be asked: a given `confirm`, else a terminal at the time of asking.
        self._can_ask = (lambda: True) if confirm is not None else in_terminal
        self._answers: dict[tuple[str, str], bool] = {}
        self._lock = threading.Lock()

    @property
    def policy(self) -> str:
        return resolve_policy(self._policy)

    # -- declarations and state --------------------------------------------------------
    def declared(self, engine: str, model: str) -> ModelWeights | None:
        """What `engine` declares for `model`; None when it declares nothing (it finds its own files)."""
        try:
            found = self._hook.model_weights(engine=engine, model=model)
        except PolyvoxError:
            raise
        except Exception as exc:  # a plugin's bug: one line naming the engine, not a traceback
            raise PluginError(f"engine {engine!r} failed to declare the weights of model {model!r}: "
                              f"{type(exc).__name__}: {exc}") from exc
        if found is not None and not isinstance(found, ModelWeights):
            raise PluginError(f"engine {engine!r}: model_weights returned {type(found).__name__}, "
                              f"not ModelWeights")
        return found

    def status(self, engine: str, model: str) -> Status | None:
        declared = self.declared(engine, model)
        return store.status(engine, declared) if declared is not None else None

    # -- first use ---------------------------------------------------------------------
    def ensure(self, engine: str, model: str) -> Files | None:
        """The local files of `model`, fetched first when missing and the policy allows it.

        None for a model its engine declares no weights for; a `ModelError` naming the exact
        ``polyvox models pull`` command when the files are missing and may not be fetched.
        """
        declared = self.declared(engine, model)
        if declared is None:
            return None
        current = store.status(engine, declared)
        if current.state == "present":
            return current.files
        if declared.local:
            raise ModelError(f"{engine} model {model!r}: its bundled files are missing: "
                             f"{', '.join(current.missing)}; reinstall the plugin that provides {engine!r}")
        self._allowed(engine, model, declared, current)
        return self.pull(engine, model)

    def _allowed(self, engine: str, model: str, declared: ModelWeights, current: Status) -> None:
        policy = self.policy
        size = human_size(current.to_fetch)
        command = pull_command(engine, model)
        if policy == "never":
            why = "offline (HF_HUB_OFFLINE is set)" if offline() else "downloads are off"
            names = ", ".join(current.missing[:3]) + (f" +{len(current.missing) - 3}" if len(current.missing) > 3
                                                      else "")
            raise ModelError(f"{engine} model {model!r} is not on this machine (missing {names}; {size}) and "
                             f"{why}; fetch it with `{command}`")
        if policy == "yes":
            return
        key = (engine, model)
        if key not in self._answers and not self._can_ask():
            raise ModelError(f"{engine} model {model!r} is not on this machine and there is no terminal to ask "
                             f"in before downloading it; fetch it with `{command}`, or allow downloads with "
                             f"--yes or {ALLOW_ENV}=1")
        if key not in self._answers:
            if current.to_fetch is None:  # undeclared sizes: ask the hub, so the question can say
                size = human_size(self._hub_size(declared, current))
            licence = f", licence {declared.license}" if declared.license else ""
            where = f" ({declared.license_url})" if declared.license_url else ""
            self._emit(DownloadAsking(engine, model))
            answer = False
            try:
                answer = self._confirm(
                    f"{engine} model {model!r} is not on this machine. Download it ({size}{licence}{where})?")
            finally:
                self._emit(DownloadAnswered(engine, model, answer))
            self._answers[key] = answer
        if not self._answers[key]:
            raise ModelError(f"{engine} model {model!r} is not on this machine and its download was not "
                             f"allowed; fetch it with `{command}`, or allow downloads with --yes or "
                             f"{ALLOW_ENV}=1")

    @staticmethod
    def _hub_size(declared: ModelWeights, current: Status) -> int | None:
        total = 0
        for source in declared.sources:
            if isinstance(source, HubFiles):
                names = [n for n in source.filenames if n in current.missing and n not in source.sizes]
                found = fetch.hub_size(source, names) if names else 0
                if found is None:
                    return None
                total += found + sum(source.sizes.get(n, 0) for n in source.filenames if n in current.missing)
            elif isinstance(source, UrlFile) and source.filename in current.missing:
                total += source.size or 0  # a small extra of unknown size must not hide gigabytes
        return total

    # -- explicit actions --------------------------------------------------------------
    def pull(self, engine: str, model: str) -> Files:
        """Fetch every missing file of `model` (resuming interrupted downloads) and return them all."""
        declared = self.declared(engine, model)
        if declared is None:
            raise ModelError(f"{engine} model {model!r} declares no weights to fetch (its engine finds its "
                             f"own files)")
        current = store.status(engine, declared)
        if current.state == "present":  # nothing to fetch: offline or not, it is here
            return current.files
        if offline():
            raise ModelError(f"cannot fetch {engine} model {model!r}: offline (HF_HUB_OFFLINE is set)")
        start = time.perf_counter()

        def report(name: str, done: int, total: int | None) -> None:
            self._emit(DownloadProgress(engine, model, name, done, total))

        with self._lock:
            for source in declared.sources:
                if isinstance(source, HubFiles):
                    for name in source.names:
                        if store.hub_file(source, name) is None:
                            fetch.hub_file(source, name, report)
                elif isinstance(source, UrlFile):
                    target = store.url_path(engine, source)
                    if not target.is_file():
                        fetch.url_file(source, target, report)
            final = store.status(engine, declared)
        if final.state != "present":
            raise ModelError(f"{engine} model {model!r} is still incomplete after fetching: missing "
                             f"{', '.join(final.missing)}")
        self._emit(DownloadFinished(engine, model, time.perf_counter() - start))
        return final.files

    def remove(self, engine: str, model: str, others: list[tuple[str, str]]) -> list[Path]:
        """Delete the fetched files of `model`, keeping files that the `others` models also use."""
        declared = self.declared(engine, model)
        if declared is None:
            raise ModelError(f"{engine} model {model!r} declares no weights polyvox manages")
        keep: set[Path] = set()
        for other_engine, other_model in others:
            if (other_engine, other_model) == (engine, model):
                continue
            other = self.status(other_engine, other_model)
            if other is not None:
                keep |= {p.resolve() for p in other.files.all()}
        return store.remove(engine, declared, keep)


__all__ = ["Files", "HubFiles", "LocalFiles", "ModelWeights", "UrlFile", "Weights", "offline", "pull_command",
           "resolve_policy"]
