"""`polyvox serve`: the speech server. The server package (FastAPI, uvicorn) is imported only
when the command runs, so `polyvox --help` stays instant."""

from __future__ import annotations

from typing import Any

import click

from polyvox.cli.options import debug_option, settings


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, target = value.partition("=")
        if not sep or not name.strip():
            raise click.UsageError(f"{option} {value!r} is not NAME=TARGET")
        out[name.strip()] = target.strip()
    return out


def _verify(verify: bool, listener: str | None, retakes: int | None) -> Any:
    if not verify:
        if listener is not None or retakes is not None:
            raise click.UsageError("--listener and --retakes only work with --verify")
        return None
    from polyvox import VerifyOptions

    return VerifyOptions(listener=listener, **({} if retakes is None else {"retakes": retakes}))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="HTTP port.")
@click.option("--api-key", "api_keys", multiple=True, metavar="KEY", envvar="POLYVOX_API_KEYS",
              help="A Bearer key clients must send, 16 characters or more (repeatable; env POLYVOX_API_KEYS, "
                   "space-separated). On the command line every user of the machine sees it: prefer the "
                   "variable or --api-key-file.")
@click.option("--api-key-file", "api_key_file", metavar="PATH", help="Read the API keys from a file, one a line.")
@click.option("--no-auth", is_flag=True, help="Allow a non-loopback --host without an API key.")
@click.option("--voices", "voices_dir", metavar="DIR", help="Server voices folder (uploads are stored here).")
@click.option("--model-alias", multiple=True, metavar="NAME=ENGINE[:MODEL]",
              help="Map an OpenAI model name (tts-1, ...) to an engine (repeatable).")
@click.option("--voice-map", multiple=True, metavar="NAME=VOICE",
              help="Map an OpenAI voice name (alloy, ...) to a server or engine voice (repeatable).")
@click.option("--max-queue", default=32, show_default=True, type=click.IntRange(1, 10_000),
              help="Speech requests rendering or waiting at once; more get 429.")
@click.option("--max-input", default=4096, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Longest input text, in characters.")
@click.option("--batch-size", default=None, type=click.IntRange(1, 1024),
              help="Segments per engine call for engines that batch, shared by concurrent requests of one "
                   "model and voice (1: none) [default: the size each engine declares for its device, else 1].")
@click.option("--cors-origin", "cors_origins", multiple=True, metavar="ORIGIN",
              help="A web origin whose pages may call the server from a browser (repeatable; * for any).")
@click.option("--max-connections", default=256, show_default=True, type=click.IntRange(1, 100_000),
              help="Connections open at once; a request on one more gets 503.")
@click.option("--timeout-keep-alive", "keep_alive_timeout", default=5.0, show_default=True,
              type=click.FloatRange(min=0.1), help="Seconds an idle connection stays open after a response.")
@click.option("--timeout-headers", "header_timeout", default=10.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds a request's headers may take to arrive (an idle new connection is closed then).")
@click.option("--timeout-body", "body_timeout", default=30.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds a request's whole body may take to arrive; then 408.")
@click.option("--timeout-send", "send_timeout", default=60.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds a response may wait for a client that stops reading; then its connection is closed.")
@click.option("--wyoming", metavar="tcp://HOST:PORT", help="Also serve the Wyoming protocol (Home Assistant).")
@click.option("--executor", type=click.Choice(("sequential", "ray")),
              help="Where engine calls run: this process, or Ray replicas [env POLYVOX_EXECUTOR].")
@click.option("--ray-address", metavar="ADDRESS", help="Ray cluster for --executor ray: auto, or ray://host:10001.")
@click.option("--cache", "cache_url", metavar="URL", help="A cache shared by every server that can reach it: "
              "redis://HOST:6379/0 (Redis or Valkey) [env POLYVOX_CACHE_URL; default: the cache directory].")
@click.option("--cache-local", is_flag=True, help="With --cache: keep a copy of what this server reads in the "
              "cache directory too (hits it made before are read from its own disk).")
@click.option("--keep-alive", multiple=True, metavar="[ENGINE[:MODEL]=]DURATION",
              help="How long an unused model stays loaded: 10m, 30s, 1h; 0 unloads it after each request, -1 "
                   "never (the default). Repeatable: ENGINE=DURATION for one engine or model.")
@click.option("--max-memory", multiple=True, metavar="DEVICE=SIZE",
              help="Memory loaded models may hold on a device (cpu=4GB, cuda:0=20GB); past it the least "
                   "recently used are unloaded (repeatable).")
@click.option("--preload", multiple=True, metavar="ENGINE[:MODEL]",
              help="Load a model before listening (repeatable); it then stays as --keep-alive says.")
@click.option("--verify", is_flag=True, help="Hear every segment before sending it and retake the failures; "
              "the verdicts are in the SSE done event (docs/listening.md).")
@click.option("--listener", metavar="NAME[:MODEL]", help="With --verify: the listener [default: the best installed].")
@click.option("--retakes", type=click.IntRange(0, 100), help="With --verify: retakes per failing segment [default: 2].")
@click.option("--word-times", type=click.Choice(("auto", "heard")), default="auto", show_default=True,
              help="Word times of an answer with timestamps, where its engine gives none: estimated from the audio "
                   "(auto), or heard by the listener (docs/words.md).")
@debug_option
def serve(host: str, port: int, api_keys: tuple[str, ...], api_key_file: str | None, no_auth: bool,
          voices_dir: str | None,
          model_alias: tuple[str, ...], voice_map: tuple[str, ...], max_queue: int, max_input: int,
          batch_size: int | None, cors_origins: tuple[str, ...], wyoming: str | None, executor: str | None,
          ray_address: str | None, max_connections: int, keep_alive_timeout: float, header_timeout: float,
          body_timeout: float, send_timeout: float, verify: bool = False, listener: str | None = None,
          retakes: int | None = None,
          cache_url: str | None = None, cache_local: bool = False, keep_alive: tuple[str, ...] = (),
          max_memory: tuple[str, ...] = (), preload: tuple[str, ...] = (), word_times: str = "auto",
          **_: Any) -> None:
    """Serve speech over OpenAI's API (POST /v1/audio/speech) and, with --wyoming, Home Assistant's protocol.

    \b
      polyvox serve                                         http://127.0.0.1:8000/v1
      polyvox serve --host 0.0.0.0 --api-key-file keys.txt  reachable from the network
      polyvox serve --wyoming tcp://127.0.0.1:10200         also for Home Assistant
      polyvox serve --keep-alive 10m --cache redis://127.0.0.1:6379/0
                                                            unload idle models; share the cache

    Needs the extra: pip install 'polyvox[serve]'. See docs/serving.md.
    """
    from polyvox.serve import ServeConfig, parse_wyoming_uri, read_keys, run

    keys = tuple(k for value in api_keys for k in value.split())
    if api_key_file is not None:
        keys += read_keys(api_key_file)
    config = ServeConfig(host=host, port=port, api_keys=keys, no_auth=no_auth, voices_dir=voices_dir,
                         model_aliases=_pairs(model_alias, "--model-alias"),
                         voice_map=_pairs(voice_map, "--voice-map"), max_queue=max_queue, max_input_chars=max_input,
                         batch_size=batch_size, cors_origins=cors_origins, max_connections=max_connections,
                         keep_alive_timeout=keep_alive_timeout, header_timeout=header_timeout,
                         body_timeout=body_timeout, send_timeout=send_timeout,
                         verify=_verify(verify, listener, retakes), preload=preload,
                         word_times=word_times)
    if wyoming is not None:
        parse_wyoming_uri(wyoming, no_auth)  # a bad URI fails before anything starts
    # the settings every command shares (cache, device, seed, executor); a request never waits on a
    # multi-GB download: a missing model is a 503 naming `polyvox models pull`
    if cache_local and not cache_url:
        raise click.UsageError("--cache-local only works with --cache URL")
    kernel = settings(executor=executor, ray_address=ray_address, cache_url=cache_url).kernel(
        downloads="never", keep_alive=list(keep_alive) or None, max_memory=list(max_memory), cache_local=cache_local)
    run(config, kernel, wyoming=wyoming)
