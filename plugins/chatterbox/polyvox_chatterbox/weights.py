"""What each ChatterBox model needs on disk, declared to the kernel (which fetches it from the
hub, asking the user first), or found in a directory the user names. Nothing here loads a model,
imports torch or touches the network."""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from polyvox import HubFiles, LocalFiles, ModelError, ModelWeights, UrlFile

from .params import ENGLISH, MULTILINGUAL, TURBO

REPO_ID = "ResembleAI/chatterbox"
TURBO_REPO_ID = "ResembleAI/chatterbox-turbo"
DIR_ENV = "POLYVOX_CHATTERBOX_DIR"
LICENSE = "MIT"
LICENSE_URL = "https://huggingface.co/ResembleAI/chatterbox"

#: The plugin's own optional file: overrides of upstream's T3 configuration for a checkpoint
#: that is not upstream's (a finetune of another size, the tests' tiny model). Absent for the
#: published weights, which then load with upstream's configuration.
T3_CONFIG = "polyvox_t3_config.json"

#: pkuseg's word segmenter model for Chinese (spacy-pkuseg's own URL and checksum).
SEGMENTER = UrlFile("https://github.com/explosion/spacy-pkuseg/releases/download/v0.0.26/spacy_ontonotes.zip",
                    "b216e7f92de7ae285aeab8feba2faa8ea8216e5995ff6fb3d391cc8356db1bfe")


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


@attrs.define
class Weights:
    """Declares and finds model files. `directory` (default ``$POLYVOX_CHATTERBOX_DIR``) holds
    the user's own copies; without one the kernel fetches upstream's into the Hugging Face cache."""

    directory: str | Path | None = None

    def user_dir(self) -> Path | None:
        value = self.directory if self.directory is not None else os.environ.get(DIR_ENV)
        return Path(value).expanduser() if value else None

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

    def _user_model_dir(self, model: str) -> Path | None:
        """The user's directory for a named model, if it holds every required file."""
        user = self.user_dir()
        if user is None or model not in LAYOUTS:
            return None
        layout = LAYOUTS[model]
        where = user / layout.subdir if layout.subdir else user
        return where if all((where / n).is_file() for n in layout.required) else None

    def declare(self, model: str) -> ModelWeights | None:
        """The files of a named model: the user's directory when it has them (nothing to fetch),
        else upstream's repository (and, for the multilingual model, pkuseg's segmenter for
        Chinese). None for a checkpoint directory: `find` uses it as it is."""
        if model not in LAYOUTS:
            return None
        layout = LAYOUTS[model]
        own = self._user_model_dir(model)
        if own is not None:
            names = [*layout.required, *(n for n in layout.optional if (own / n).is_file())]
            return ModelWeights(LocalFiles([own / n for n in names]), license="your own copy")
        # The optional files upstream lacks (our T3 override) cost one HEAD request each.
        sources: list = [HubFiles(layout.repo, layout.required, optional=layout.optional)]
        if model == MULTILINGUAL:
            sources.append(SEGMENTER)
        return ModelWeights(sources, license=LICENSE, license_url=LICENSE_URL)

    def candidates(self, model: str) -> list[Path]:
        """Directories that may hold `model`, best first (no network)."""
        if model not in LAYOUTS:
            return [Path(model).expanduser()]
        out = []
        user = self.user_dir()
        layout = self.layout(model)
        if user is not None:
            out += [user / layout.subdir, user] if layout.subdir else [user]
        cached = _hf_snapshot(layout)
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
        """The directory of `model` (found locally: the kernel fetches declared models before a
        load), else a `ModelError` naming what is missing and where it looked."""
        directory = self.find(model)
        if directory is not None:
            return directory
        layout = self.layout(model)
        places = [f"{where} (missing {', '.join(n for n in layout.required if not (where / n).is_file())})"
                  for where in self.candidates(model)]
        hint = f"; fetch it with `polyvox models pull chatterbox:{model}`" if model in LAYOUTS else ""
        raise ModelError(f"ChatterBox {model} weights not found: need {', '.join(layout.required)}; "
                         f"looked in {' and '.join(places) or 'no directory (set ' + DIR_ENV + ')'}{hint}")


def _hf_snapshot(layout: Layout) -> Path | None:
    """The cached snapshot of upstream's repository that holds `layout`'s first file, if any."""
    from huggingface_hub import try_to_load_from_cache

    from polyvox.weights import hub_cache

    found = try_to_load_from_cache(layout.repo, layout.t3, cache_dir=hub_cache())
    return Path(found).parent if isinstance(found, str) else None
