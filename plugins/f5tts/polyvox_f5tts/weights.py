"""A model's files: declared to the kernel (which fetches what a registry entry's repository
holds into the Hugging Face cache, asking the user first), or found in the weights folders the
user names. Nothing here downloads."""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

import attrs

from polyvox import Files, HubFiles, LocalFiles, ModelWeights
from polyvox.errors import ModelError

from .registry import DEFAULT_MODEL, Entry, Registry

VOCOS_REPO = "charactr/vocos-mel-24khz"
VOCOS_FILES = ("config.yaml", "pytorch_model.bin")
CHECKPOINT_SUFFIXES = (".safetensors", ".pt")


@attrs.frozen
class ModelFiles:
    """Everything `load` needs, all present on disk."""

    entry: Entry
    checkpoint: Path
    vocab: Path
    #: Architecture YAML in the shape of the configs shipped with f5-tts.
    config: Path
    #: Folder holding the Vocos ``config.yaml`` and ``pytorch_model.bin``.
    vocoder: Path

    def all(self) -> list[Path]:
        return [self.checkpoint, self.vocab, self.config, *(self.vocoder / f for f in VOCOS_FILES)]


def _packaged(relative: str) -> Path:
    return Path(str(files("f5_tts").joinpath(relative)))


def _hf_cached(repo: str, filename: str, cache_dir: Path | None = None) -> Path | None:
    """The file from the local Hugging Face cache, without touching the network."""
    from huggingface_hub import try_to_load_from_cache

    from polyvox.weights import hub_cache

    found = try_to_load_from_cache(repo_id=repo, filename=filename, cache_dir=cache_dir or hub_cache())
    return Path(found) if isinstance(found, str) and os.path.isfile(found) else None


def _dirs(value: str | os.PathLike | Sequence[str | os.PathLike] | None) -> list[Path]:
    if value is None:
        return []
    items = value.split(os.pathsep) if isinstance(value, str) else [value] if isinstance(value, os.PathLike) else value
    return [Path(v).expanduser() for v in items if str(v)]


@attrs.define
class Locator:
    """Resolves model names and paths to `ModelFiles`, raising `ModelError`s that say where it looked."""

    registry: Registry
    weights_dirs: list[Path] = attrs.field(factory=list)
    vocoder_dir: Path | None = None
    #: The Hugging Face hub cache to read (None: huggingface_hub's own default, HF_HUB_CACHE/HF_HOME).
    hf_cache: Path | None = None

    @classmethod
    def from_settings(cls, registry: Registry, weights_dirs: Sequence[str | os.PathLike] | str | None = None,
                      vocoder_dir: str | os.PathLike | None = None) -> Locator:
        """Folders from the arguments, else ``POLYVOX_F5TTS_DIR`` / ``POLYVOX_F5TTS_VOCODER``, else the config file."""
        dirs = _dirs(weights_dirs) or _dirs(os.environ.get("POLYVOX_F5TTS_DIR")) \
            or _dirs(registry.settings.get("weights_dir"))
        vocoder = vocoder_dir or os.environ.get("POLYVOX_F5TTS_VOCODER") or registry.settings.get("vocoder_dir")
        return cls(registry, dirs, Path(vocoder).expanduser() if vocoder else None)

    # -- names -------------------------------------------------------------------------
    def entry(self, model: str) -> Entry:
        """The registry entry of `model`, or an entry for a checkpoint file given by path."""
        found = self.registry.get(model)
        if found is not None:
            return found
        path = Path(model).expanduser()
        if path.suffix in CHECKPOINT_SUFFIXES:
            if not path.is_file():
                raise ModelError(f"F5-TTS checkpoint {model!r} does not exist")
            vocab = path.parent / "vocab.txt"
            config = path.parent / "config.yaml"
            return Entry(name=model, checkpoint=str(path.resolve()), vocab=str(vocab) if vocab.is_file() else "",
                         config=str(config) if config.is_file() else DEFAULT_MODEL, origin="path")
        known = ", ".join(self.registry.names())
        raise ModelError(f"unknown F5-TTS model {model!r}: use one of {known}, a .safetensors/.pt checkpoint "
                         "path, or add [models.NAME] to your f5tts.toml")

    # -- files -------------------------------------------------------------------------
    def _candidates(self, entry: Entry, relative: str) -> list[Path]:
        path = Path(relative).expanduser()
        if path.is_absolute():
            return [path]
        out = [entry.base / path] if entry.base is not None else []
        for d in self.weights_dirs:
            out += [d / path, d / entry.name / path.name]
        return out

    def _local(self, entry: Entry, relative: str) -> Path | None:
        return next((c for c in self._candidates(entry, relative) if c.is_file()), None)

    def _local_vocoder(self) -> Path | None:
        tried = [self.vocoder_dir] if self.vocoder_dir else [d / "vocos" for d in self.weights_dirs]
        return next((f for f in tried if all((f / n).is_file() for n in VOCOS_FILES)), None)

    def declare(self, model: str) -> ModelWeights | None:
        """What `model` needs: files in the user's folders as they are, the rest from the entry's
        repository (and Vocos from its own). None when a file is neither here nor in a repository
        (a user entry's file that is missing): `find` then says where it looked."""
        try:
            entry = self.entry(model)
        except ModelError:
            return None
        sources: list = []
        from_hub: list[str] = []
        for relative in (entry.checkpoint, entry.vocab):
            if not relative:
                continue
            local = self._local(entry, relative)
            if local is not None:
                sources.append(LocalFiles([local]))
            elif entry.repo and not Path(relative).expanduser().is_absolute():
                from_hub.append(relative)
            else:
                return None
        if from_hub:
            sources.append(HubFiles(str(entry.repo), from_hub))
        vocoder = self._local_vocoder()
        sources.append(LocalFiles([vocoder / n for n in VOCOS_FILES]) if vocoder is not None
                       else HubFiles(VOCOS_REPO, VOCOS_FILES))
        return ModelWeights(sources, license=entry.license, license_url=entry.url)

    def from_files(self, model: str, files: Files) -> ModelFiles:
        """`ModelFiles` from the paths the kernel hands over (hub files are keyed by their path in
        the repository, local ones by their file name)."""
        entry = self.entry(model)

        def pick(relative: str) -> Path:
            return files.get(relative) or files[Path(relative).name]

        vocab = pick(entry.vocab) if entry.vocab else _packaged("infer/examples/vocab.txt")
        return ModelFiles(entry, pick(entry.checkpoint), vocab, self._config(entry),
                          files["pytorch_model.bin"].parent)

    def _find(self, entry: Entry, relative: str, what: str) -> Path:
        tried = self._candidates(entry, relative)
        for candidate in tried:
            if candidate.is_file():
                return candidate
        if entry.repo and not Path(relative).is_absolute():
            cached = _hf_cached(entry.repo, relative, self.hf_cache)
            if cached is not None:
                return cached
        where = [str(p) for p in dict.fromkeys(tried)]
        if entry.repo:
            where.append(f"the Hugging Face cache ({entry.repo}/{relative})")
        if not self.weights_dirs and entry.base is None:
            where.append("no weights folder (set POLYVOX_F5TTS_DIR)")
        hint = f"; fetch it with `polyvox models pull f5tts:{entry.name}`" if entry.repo else ""
        raise ModelError(f"F5-TTS model {entry.name!r}: {what} {Path(relative).name!r} not found; "
                         f"looked in: {', '.join(where)}{hint}")

    def _config(self, entry: Entry) -> Path:
        value = entry.config or DEFAULT_MODEL
        if value.endswith((".yaml", ".yml")) or os.sep in value or "/" in value:
            return self._find(entry, value, "architecture config")
        packaged = _packaged(f"configs/{value}.yaml")
        if not packaged.is_file():
            shipped = sorted(p.stem for p in _packaged("configs").iterdir() if p.suffix == ".yaml")
            raise ModelError(f"F5-TTS model {entry.name!r}: config {value!r} is not shipped with f5-tts; "
                             f"use one of {', '.join(shipped)} or a YAML path")
        return packaged

    def vocoder(self) -> Path:
        """The Vocos folder: the named one, else ``<weights>/vocos``, else the Hugging Face cache."""
        tried = [self.vocoder_dir] if self.vocoder_dir else [d / "vocos" for d in self.weights_dirs]
        for folder in tried:
            if all((folder / f).is_file() for f in VOCOS_FILES):
                return folder
        cached = [_hf_cached(VOCOS_REPO, f, self.hf_cache) for f in VOCOS_FILES]
        if all(cached) and cached[0].parent == cached[1].parent:  # type: ignore[union-attr]
            return cached[0].parent  # type: ignore[union-attr]
        where = [str(p) for p in tried] + [f"the Hugging Face cache ({VOCOS_REPO})"]
        raise ModelError(f"F5-TTS vocoder (Vocos {' + '.join(VOCOS_FILES)}) not found; looked in: "
                         f"{', '.join(where)}; fetch it with `polyvox models pull f5tts`")

    def find(self, model: str) -> ModelFiles:
        """All files of `model`, or a `ModelError` naming the first one missing and where it looked."""
        entry = self.entry(model)
        checkpoint = self._find(entry, entry.checkpoint, "checkpoint")
        vocab = self._find(entry, entry.vocab, "vocab") if entry.vocab else _packaged("infer/examples/vocab.txt")
        return ModelFiles(entry, checkpoint, vocab, self._config(entry), self.vocoder())

    def files(self, model: str) -> list[Path]:
        """The files of `model` if they are all here, else [] (the model is not available yet)."""
        try:
            return self.find(model).all()
        except ModelError:
            return []

