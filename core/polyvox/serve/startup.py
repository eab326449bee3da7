"""What `polyvox serve` checks, and says, before it listens: every ``--model-alias`` names an
installed engine (and model) and every ``--voice-map`` a voice that exists, each answered as a
request would be, so a typo is one line at start-up instead of a 404 on every request; then one
banner with the address, the engines, the voices folder and whether keys are required."""

from __future__ import annotations

from typing import Any

from polyvox.errors import PolyvoxError
from polyvox.serve.config import ServeConfig
from polyvox.serve.errors import ApiError


def check(config: ServeConfig, service: Any) -> None:
    """A `PolyvoxError` naming the option and what is installed, for the first mapping that a
    request could not use."""
    for alias, target in config.model_aliases.items():
        try:
            service.resolve_model(alias, None)
        except ApiError as exc:
            engines = ", ".join(service.engine_names()) or "none"
            raise PolyvoxError(f"serve: --model-alias {alias}={target}: {_reason(exc, target)} "
                               f"(installed engines: {engines})") from None
    for name, target in config.voice_map.items():
        try:
            service.resolve_voice(target, None)
        except ApiError as exc:
            raise PolyvoxError(f"serve: --voice-map {name}={target}: {_reason(exc, target)}; give a voice of the "
                               f"voices folder ({service.store.folder}) or an engine's voice "
                               f"({', '.join(_engine_voices(service)) or 'none'})") from None


def preload(config: ServeConfig, service: Any) -> None:
    """Load each ``--preload`` model now (a name no request could use is a one-line error)."""
    for name in config.preload:
        try:
            engine, model = service.resolve_model(name, None)
        except ApiError as exc:
            raise PolyvoxError(f"serve: --preload {name}: {_reason(exc, name)}") from None
        if engine is None:
            raise PolyvoxError(f"serve: --preload {name}: the engine of {name!r} depends on each request's "
                               "language; give ENGINE or ENGINE:MODEL")
        service.kernel.load(engine, model)


def banner(config: ServeConfig, service: Any, wyoming: str | None = None) -> str:
    """The lines printed once when the server starts."""
    host = f"[{config.host}]" if ":" in config.host else config.host
    served = f"http://{host}:{config.port}/v1" + (f" and Wyoming on {wyoming}" if wyoming else "")
    engines = ", ".join(service.engine_names()) or "none (polyvox install NAME)"
    voices = service.server_voices()
    keys = (f"required ({len(config.api_keys)} key{'s' if len(config.api_keys) != 1 else ''})" if config.api_keys
            else "not required (--no-auth)" if config.no_auth else "not required (this machine only)")
    return "\n".join([f"polyvox serve: {served}",
                      f"  engines: {engines}",
                      f"  voices folder: {service.store.folder} ({len({id(v) for v in voices.values()})} voices)",
                      f"  API keys: {keys}"])


def _reason(exc: ApiError, target: str) -> str:
    message = str(getattr(exc, "message", "") or exc)
    if "unknown model" in message:  # the alias's target is no installed engine
        return f"engine {target.partition(':')[0]!r} is not installed"
    return message.split(": GET /v1/audio/voices", 1)[0]


def _engine_voices(service: Any) -> list[str]:
    return [voice for spec in service.engine_names().values() for voice in spec.voices]
