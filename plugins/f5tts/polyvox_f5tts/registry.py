"""The model registry: which checkpoint, vocab and architecture a model name stands for, and which
model speaks which language.

Three sources, later ones winning for the same name: the `finetunes.toml` shipped in this
package, entries other plugins add with `register_finetune`, and the ``[models.NAME]`` tables of
the user's config file (``POLYVOX_F5TTS_CONFIG``, else ``$XDG_CONFIG_HOME/polyvox/f5tts.toml``).
A user table that names a shipped model only overrides the fields it gives.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

import attrs

from polyvox.errors import ModelError

#: The model a request gets when no language-specific entry applies (English and Chinese).
DEFAULT_MODEL = "F5TTS_v1_Base"
_FIELDS = ("languages", "repo", "checkpoint", "vocab", "config", "license", "url")


def _languages(value: Iterable[str] | str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else list(value)
    return tuple(str(v).strip().lower().replace("_", "-") for v in items if str(v).strip())


@attrs.frozen
class Entry:
    """One named model: where its files come from and what it speaks."""

    name: str
    languages: tuple[str, ...] = attrs.field(default=(), converter=_languages)
    #: Hugging Face repository, for the cache lookup and `download`; None for purely local models.
    repo: str | None = None
    #: Checkpoint path: inside `repo` / a weights folder, or absolute (user entries).
    checkpoint: str = ""
    #: Vocab path like `checkpoint`; "" means the vocab shipped in the f5-tts package.
    vocab: str = ""
    #: Architecture: a config name shipped with f5-tts, or a YAML path.
    config: str = DEFAULT_MODEL
    license: str = ""
    url: str = ""
    #: Folder that relative paths of a user entry are relative to (its config file's folder).
    base: Path | None = None
    #: Where the entry was declared, for messages: "package", "plugin" or a config file path.
    origin: str = "package"


def config_path() -> Path:
    """The user's config file (it need not exist)."""
    env = os.environ.get("POLYVOX_F5TTS_CONFIG")
    if env:
        return Path(env).expanduser()
    root = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(root) / "polyvox" / "f5tts.toml"


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a dict; a `ModelError` naming the file when it is malformed."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"F5-TTS config {str(path)!r} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ModelError(f"cannot read F5-TTS config {str(path)!r}: {exc.strerror}") from None


def _entries(table: Mapping[str, Any], origin: str, base: Path | None,
             inherit: Mapping[str, Entry]) -> dict[str, Entry]:
    out = {}
    for name, fields in table.items():
        if not isinstance(fields, Mapping):
            raise ModelError(f"F5-TTS config {origin}: [models.{name}] must be a table of fields")
        unknown = sorted(set(fields) - set(_FIELDS))
        if unknown:
            raise ModelError(f"F5-TTS config {origin}: [models.{name}] has unknown field {unknown[0]!r}; "
                             f"fields: {', '.join(_FIELDS)}")
        parent = inherit.get(name)
        values = {k: getattr(parent, k) for k in _FIELDS} if parent else {}
        values.update({k: v for k, v in fields.items()})
        if not values.get("checkpoint"):
            raise ModelError(f"F5-TTS config {origin}: [models.{name}] needs a checkpoint")
        # Paths the user wrote are relative to their file; inherited ones keep the package's meaning.
        own_paths = any(k in fields for k in ("checkpoint", "vocab", "config"))
        out[name] = Entry(name=name, base=base if own_paths else None, origin=origin, **values)
    return out


_extra: dict[str, Entry] = {}


def register_finetune(name: str, *, checkpoint: str, languages: Iterable[str] = (), vocab: str = "",
                      config: str = "F5TTS_Base", repo: str | None = None, license: str = "",
                      url: str = "") -> Entry:
    """Add a model to every registry built afterwards (for plugins that ship language packs).

    Call it at import time of your plugin module, before the kernel starts; user entries of the
    same name still win.
    """
    entry = Entry(name=name, languages=languages, repo=repo, checkpoint=checkpoint, vocab=vocab,
                  config=config, license=license, url=url, origin="plugin")
    _extra[name] = entry
    return entry


@attrs.frozen
class Registry:
    """Named models in lookup order: user entries, then plugin entries, then shipped ones."""

    entries: Mapping[str, Entry]
    #: Names in the order a language lookup tries them.
    order: tuple[str, ...]
    #: Settings from the user's config file (weights_dir, vocoder_dir), if any.
    settings: Mapping[str, Any] = attrs.field(factory=dict)

    @classmethod
    def load(cls, user_config: Path | None = None) -> Registry:
        """The shipped entries, plugin entries and the user's config file (if it exists)."""
        shipped_path = files("polyvox_f5tts").joinpath("finetunes.toml")
        shipped = _entries(tomllib.loads(shipped_path.read_text(encoding="utf-8")).get("models", {}),
                           "package", None, {})
        merged = dict(shipped)
        merged.update(_extra)
        settings: dict[str, Any] = {}
        user: dict[str, Entry] = {}
        path = user_config if user_config is not None else config_path()
        if path.is_file():
            data = read_toml(path)
            settings = {k: v for k, v in data.items() if k != "models"}
            user = _entries(data.get("models", {}), str(path), path.parent, merged)
            merged.update(user)
        order = [*user, *(n for n in _extra if n not in user), *(n for n in shipped if n not in user | _extra)]
        return cls(merged, tuple(order), settings)

    def get(self, name: str) -> Entry | None:
        return self.entries.get(name)

    def for_language(self, language: str) -> Entry | None:
        """The first entry (in lookup order) that speaks `language` exactly."""
        for name in self.order:
            if language in self.entries[name].languages:
                return self.entries[name]
        return None

    def languages(self) -> list[str]:
        """Every language some entry speaks, English and Chinese (the base models) first."""
        out = ["en", "zh"]
        for name in self.order:
            out += [code for code in self.entries[name].languages if code not in out]
        return out

    def names(self) -> list[str]:
        """Model names: the default first, then in lookup order."""
        rest = [n for n in self.order if n != DEFAULT_MODEL]
        return [DEFAULT_MODEL, *rest] if DEFAULT_MODEL in self.entries else rest
