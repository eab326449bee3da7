"""Settings shared by the CLI and host apps: explicit values, then ``POLYVOX_*`` environment
variables, then an optional TOML user config file, then the built-in defaults.

    from polyvox.config import load_settings
    settings = load_settings({"engine": "piper"})   # explicit values win
    settings["engine"].value, settings["engine"].source
    kernel = settings.kernel()                        # a Kernel configured from them

The config file is ``config.toml`` in the platform's user config directory (``polyvox config``
prints it), or the file named by ``POLYVOX_CONFIG``. It holds the same keys as below::

    engine = "piper"
    voices = "~/voices"
    cache_size_limit = "8GB"

This module imports nothing heavy, so the CLI can read settings before ``--help``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from polyvox.errors import PolyvoxError
from polyvox.names import DEVICES, TIMING_MODES, check_device


def _size(value: Any) -> int:
    """Bytes from 4294967296, '4GB', '500 MiB', ..."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip().lower().replace(" ", "").removesuffix("b").removesuffix("i")
    factor = 1
    for suffix, power in (("k", 1), ("m", 2), ("g", 3), ("t", 4)):
        if text.endswith(suffix):
            factor, text = 1024**power, text[:-1]
            break
    number = float(text)
    if not 0 <= number < float("inf"):
        raise ValueError(value)
    return int(number * factor)


def _int(value: Any) -> int:
    if isinstance(value, bool):  # TOML `true` is no number
        raise ValueError(value)
    as_float = float(value)
    if not as_float.is_integer():
        raise ValueError(value)
    return int(as_float)


def _workers(value: Any) -> int:
    number = _int(value)
    if number < 1:
        raise ValueError(value)
    return number


def _executor(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in ("sequential", "ray"):
        raise ValueError(value)
    return text


def _timing_mode(value: Any) -> str:
    text = str(value).strip().lower().replace("-", "_")
    if text not in TIMING_MODES:
        raise ValueError(value)
    return text


def _device(value: Any) -> str:
    try:
        return check_device(_text(value))
    except PolyvoxError:
        raise ValueError(value) from None


def _cast(value: Any) -> str:
    text = _text(value).strip().lower()
    if text not in ("narrator", "auto"):
        raise ValueError(value)
    return text


def _text(value: Any) -> str:
    if not isinstance(value, str):  # a TOML list, number or boolean where text belongs
        raise ValueError(value)
    return value


def _seed(value: Any) -> int:
    seed = _int(value)
    if not 0 <= seed < 2**32:  # said here, with where it came from (config.toml, POLYVOX_SEED)
        raise ValueError(value)
    return seed


def _normalize(value: Any) -> bool | None:
    from polyvox.text.speech import check_mode

    try:
        return check_mode(value)
    except PolyvoxError:
        raise ValueError(value) from None


def _path(value: Any) -> str:
    return str(Path(_text(value)).expanduser())


class Option:
    """One setting: its environment variable, how to read a value, its default and help."""

    def __init__(self, name: str, convert: Callable[[Any], Any], default: Any, help: str, expect: str = "text"):
        self.name = name
        self.env = "POLYVOX_" + name.upper()
        self.convert = convert
        self.default = default
        self.help = help
        self.expect = expect


def _default_cache_dir() -> str:
    from polyvox.cache.store import default_cache_dir

    return str(default_cache_dir())


OPTIONS: dict[str, Option] = {o.name: o for o in (
    Option("engine", _text, None, "engine to use (default: the best installed for the language)"),
    Option("model", _text, None, "model of the engine (default: the engine's model for the language)"),
    Option("voices", _path, None, "voices folder (TTS Audio Suite layout)", "a folder"),
    Option("narrator", _text, None, "the narrator's voice (a character of the voices folder, a file or an id)"),
    Option("language", _text, None, "language of lines without a language tag (default: en)"),
    Option("cast", _cast, "narrator", "characters with no voice: the narrator's voice, or auto (a distinct "
           "installed voice each, the same on every run)", "narrator or auto"),
    Option("device", _device, "auto", "cpu, cuda, cuda:1, mps or auto", "one of " + ", ".join(DEVICES)),
    Option("seed", _seed, 42, "seed for engines that use one", "an integer in 0..4294967295"),
    Option("timing_mode", _timing_mode, "smart_natural", "how subtitles are fitted to their cue times",
           "one of " + ", ".join(TIMING_MODES)),
    Option("workers", _workers, 1, "threads for thread-safe engines", "an integer of 1 or more"),
    Option("batch_size", _workers, None, "segments of one voice per engine call, for engines that batch "
           "(Piper on a multi-core CPU, ChatterBox, F5-TTS, template); default: each engine's own for the device",
           "an integer of 1 or more"),
    Option("executor", _executor, "sequential", "where engine calls run: in this process, or on Ray replicas",
           "sequential or ray"),
    Option("ray_address", _text, None, "the Ray cluster for --executor ray: auto, host:port or "
           "ray://host:10001 (default: a Ray started in this process)"),
    Option("ray_replicas", _workers, 1, "Ray replicas (actors) per engine model", "an integer of 1 or more"),
    Option("ray_envs_dir", _text, None, "where isolated engines' environments live on the Ray nodes; a replica "
           "makes a missing one there (default: the driver's envs folder, at the same path)"),
    Option("normalize", _normalize, None, "numbers, dates, abbreviations in words: auto (for engines that do not "
           "read them themselves), true or false", "auto, true or false"),
    Option("lexicon", _path, None, "a pronunciation lexicon file: `word = respelling` lines (docs/text.md)",
           "a file"),
    Option("cache_dir", _path, None, "the content cache directory", "a folder"),
    Option("cache_size_limit", _size, 4 * 1024**3, "size limit of the cache (bytes, or 500MB, 8GB)",
           "a size such as 4GB"),
    Option("cache_url", _text, None, "a cache shared by many processes and machines, in place of the directory: "
           "redis://HOST:6379/0 (docs/deploy.md)", "a redis:// URL"),
)}


def config_path() -> Path:
    """``$POLYVOX_CONFIG``, else ``config.toml`` in the platform's user config directory."""
    env = os.environ.get("POLYVOX_CONFIG")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("polyvox")) / "config.toml"


class Setting:
    """A setting's effective value and where it came from."""

    def __init__(self, name: str, value: Any, source: str):
        self.name = name
        self.value = value
        self.source = source

    def __repr__(self) -> str:
        return f"Setting({self.name}={self.value!r} from {self.source})"


class Settings(Mapping[str, Setting]):
    """Every known setting, resolved. Read ``settings.value(name)`` or ``settings[name].source``."""

    def __init__(self, items: dict[str, Setting], path: Path, file_found: bool):
        self._items = items
        self.path = path
        self.file_found = file_found

    def __getitem__(self, name: str) -> Setting:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def value(self, name: str) -> Any:
        return self._items[name].value

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: {"value": s.value, "source": s.source} for name, s in self._items.items()}

    def kernel(self, **overrides: Any) -> Any:
        """A `Kernel` with these settings' cache directory, size limit, device, seed and executor."""
        from polyvox.kernel import Kernel

        kwargs: dict[str, Any] = {
            "cache_dir": self.value("cache_dir"), "cache_size_limit": self.value("cache_size_limit"),
            "device": self.value("device"), "seed": self.value("seed"),
        }
        if self.value("cache_url"):
            kwargs["cache_url"] = self.value("cache_url")
        if self.value("lexicon"):
            kwargs["lexicon"] = self.value("lexicon")
        if self.value("executor") == "ray":
            from polyvox.distributed import executor_from

            kwargs["executor"] = executor_from("ray", address=self.value("ray_address"),
                                               replicas=self.value("ray_replicas"),
                                               envs_dir=self.value("ray_envs_dir"))
        kwargs.update(overrides)
        return Kernel(**kwargs)


def _convert(option: Option, value: Any, where: str) -> Any:
    try:
        return option.convert(value)
    except (TypeError, ValueError, OverflowError):
        raise PolyvoxError(f"{where}: {option.name} = {value!r} is not valid; expected {option.expect}") from None


def read_config_file(path: Path) -> dict[str, Any]:
    """The TOML file's settings ({} when it does not exist); a bad file is a one-line error."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise PolyvoxError(f"cannot read config file {str(path)!r}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolyvoxError(f"config file {str(path)!r} is not valid TOML ({exc}); fix or remove it") from None
    unknown = sorted(set(data) - set(OPTIONS))
    if unknown:
        raise PolyvoxError(f"config file {str(path)!r}: unknown setting {unknown[0]!r}; "
                           f"known settings: {', '.join(OPTIONS)}")
    return data


def load_settings(explicit: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None,
                  path: str | Path | None = None) -> Settings:
    """Resolve every setting: `explicit` values (None means not given), then the environment,
    then the config file, then the defaults."""
    explicit = explicit or {}
    env = os.environ if environ is None else environ
    named = env.get("POLYVOX_CONFIG") if path is None else None
    file_path = Path(path) if path is not None else Path(named).expanduser() if named else config_path()
    if named and not file_path.exists():  # a file asked for by name must be there; the default may not
        raise PolyvoxError(f"POLYVOX_CONFIG names {named!r}, which does not exist: create it or unset "
                           "POLYVOX_CONFIG")
    data = read_config_file(file_path)
    items: dict[str, Setting] = {}
    for name, option in OPTIONS.items():
        if explicit.get(name) is not None:
            items[name] = Setting(name, _convert(option, explicit[name], "option"), "option")
        elif env.get(option.env):
            items[name] = Setting(name, _convert(option, env[option.env], option.env), f"env {option.env}")
        elif name in data:
            items[name] = Setting(name, _convert(option, data[name], str(file_path)), f"config {file_path}")
        elif name == "cache_dir":
            items[name] = Setting(name, _default_cache_dir(), "default")
        else:
            items[name] = Setting(name, option.default, "default")
    return Settings(items, file_path, bool(data) or file_path.is_file())
