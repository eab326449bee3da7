"""Where a model's files are: the user's directory, the Hugging Face cache, or (only when the
user allows it) a download. Nothing here loads a model or imports torch."""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from polyvox import ModelError

from .params import ENGLISH, MULTILINGUAL, TURBO

REPO_ID = "ResembleAI/chatterbox"
TURBO_REPO_ID = "ResembleAI/chatterbox-turbo"
DIR_ENV = "POLYVOX_CHATTERBOX_DIR"
DOWNLOAD_ENV = "POLYVOX_CHATTERBOX_DOWNLOAD"

#: The plugin's own optional file: overrides of upstream's T3 configuration for a checkpoint
#: that is not upstream's (a finetune of another size, the tests' tiny model). Absent for the
#: published weights, which then load with upstream's configuration.
T3_CONFIG = "polyvox_t3_config.json"


@attrs.frozen
class Layout:
    """The upstream file names of one model."""

    ve: str
    t3: str
    s3gen: str
    tokenizer: str
    #: Files used when present: the built-in voice, Chinese conversion table, config overrides.
    optional: tuple[str, ...] = ("conds.pt", T3_CONFIG)
    #: Upstream's Hugging Face repository, and the sub-folder of the user's directory it may sit in.
    repo: str = REPO_ID
    subdir: str | None = None

    @property
    def required(self) -> tuple[str, ...]:
        return (self.ve, self.t3, self.s3gen, self.tokenizer)


LAYOUTS = {
    ENGLISH: Layout("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors", "tokenizer.json"),
    MULTILINGUAL: Layout("ve.pt", "t3_mtl23ls_v2.safetensors", "s3gen.pt", "grapheme_mtl_merged_expanded_v1.json",
                         optional=("conds.pt", "Cangjie5_TC.json", T3_CONFIG)),
    # Turbo's repository has its own conds.pt, so it lives in a folder of its own: DIR/turbo.
    TURBO: Layout("ve.safetensors", "t3_turbo_v1.safetensors", "s3gen_meanflow.safetensors", "tokenizer_config.json",
                  repo=TURBO_REPO_ID, subdir="turbo",
                  # The Hugging Face tokenizer reads whichever of these the folder has.
                  optional=("conds.pt", T3_CONFIG, "tokenizer.json", "vocab.json", "merges.txt",
                            "special_tokens_map.json", "added_tokens.json")),
}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def offline() -> bool:
    """True when Hugging Face downloads are switched off for the whole process."""
    return _truthy(os.environ.get("HF_HUB_OFFLINE"))


@attrs.define
class Weights:
    """Finds model directories. `directory` and `download` default to the environment."""

    directory: str | Path | None = None
    download: bool | None = None

    def user_dir(self) -> Path | None:
        value = self.directory if self.directory is not None else os.environ.get(DIR_ENV)
        return Path(value).expanduser() if value else None

    def may_download(self) -> bool:
        allowed = self.download if self.download is not None else _truthy(os.environ.get(DOWNLOAD_ENV))
        return allowed and not offline()

    def kind(self, model: str) -> str:
        """Which upstream model `model` is: a model name, or a checkpoint directory (a finetune a
        language pack maps a language to) told apart by its upstream file names."""
        if model in LAYOUTS:
            return model
        path = Path(model).expanduser()
        if path.is_dir():  # multilingual first: a folder with both sets serves every language
            for kind in (MULTILINGUAL, TURBO, ENGLISH):
                layout = LAYOUTS[kind]
                if all((path / name).is_file() for name in layout.required):
                    return kind
            expected = "; or ".join(", ".join(layout.required) for layout in LAYOUTS.values())
            raise ModelError(f"{path} holds no ChatterBox checkpoint: expected {expected}")
        raise ModelError(f"ChatterBox has no model {model!r}; its models: {', '.join(LAYOUTS)}, "
                         f"or a checkpoint directory")

    def layout(self, model: str) -> Layout:
        return LAYOUTS[self.kind(model)]

    def candidates(self, model: str) -> list[Path]:
        """Directories that may hold `model`, best first (no network)."""
        if model not in LAYOUTS:
            return [Path(model).expanduser()]
        out = []
        user = self.user_dir()
        layout = self.layout(model)
        if user is not None:
            out += [user / layout.subdir, user] if layout.subdir else [user]
        cached = _hf_snapshot(self.layout(model))
        if cached is not None:
            out.append(cached)
        return out

    def find(self, model: str) -> Path | None:
        """The first directory holding every required file of `model`, or None."""
        layout = self.layout(model)
        for directory in self.candidates(model):
            if all((directory / name).is_file() for name in layout.required):
                return directory
        return None

    def files(self, model: str) -> list[str]:
        """The local files of `model` (for the cache key), [] when it is not here."""
        directory = self.find(model)
        if directory is None:
            return []
        layout = self.layout(model)
        names = [*layout.required, *(n for n in layout.optional if (directory / n).is_file())]
        return [str(directory / n) for n in names]

    def require(self, model: str) -> Path:
        """The directory of `model`; downloads it only when allowed, else a `ModelError`."""
        directory = self.find(model)
        if directory is not None:
            return directory
        layout = self.layout(model)
        if self.may_download():
            return _hf_download(layout)
        raise ModelError(self._missing_message(model, layout))

    def _missing_message(self, model: str, layout: Layout) -> str:
        user = self.user_dir()
        places = []
        if user is not None:
            where = user / layout.subdir if layout.subdir else user
            missing = [n for n in layout.required if not (where / n).is_file()]
            places.append(f"{where} (missing {', '.join(missing)})")
        else:
            places.append(f"no directory given (set {DIR_ENV})")
        places.append(f"the Hugging Face cache of {layout.repo} ({_hf_cache_dir()})")
        why = "HF_HUB_OFFLINE is set" if offline() else f"set {DOWNLOAD_ENV}=1 to allow it"
        return (f"ChatterBox {model} weights not found: need {', '.join(layout.required)}; "
                f"looked in {' and '.join(places)}; download is off ({why})")


def _hf_cache_dir() -> str:
    try:
        from huggingface_hub import constants

        return str(constants.HF_HUB_CACHE)
    except Exception:  # noqa: BLE001 - only used in a message
        return "~/.cache/huggingface/hub"


def _hf_snapshot(layout: Layout) -> Path | None:
    """The cached snapshot of upstream's repository that holds `layout`'s first file, if any."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(layout.repo, layout.t3)
    return Path(found).parent if isinstance(found, str) else None


def _hf_download(layout: Layout) -> Path:
    from huggingface_hub import snapshot_download

    patterns = [*layout.required, *(n for n in layout.optional if n != T3_CONFIG)]
    if layout.repo == TURBO_REPO_ID:  # upstream's own patterns: the tokenizer's files vary
        patterns = ["*.safetensors", "*.json", "*.txt", "*.pt", "*.model"]
    try:
        return Path(snapshot_download(repo_id=layout.repo, allow_patterns=patterns))
    except Exception as exc:  # network, authentication, disk
        raise ModelError(f"downloading ChatterBox weights from {layout.repo} failed: {exc}") from exc
