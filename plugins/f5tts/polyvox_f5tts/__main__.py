"""``python -m polyvox_f5tts``: list the known models and where their files are, or download them.

Downloads happen only here, when the user asks; rendering never touches the network.
"""

from __future__ import annotations

import argparse
import sys

from polyvox.errors import PolyvoxError

from .engine import F5TTS
from .weights import download


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m polyvox_f5tts", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("models", help="known models, their languages, licences and whether their files are here")
    fetch = sub.add_parser("download", help="fetch models (or 'vocos') into the Hugging Face cache")
    fetch.add_argument("names", nargs="+", metavar="NAME")
    args = parser.parse_args(argv)
    settings = F5TTS().reload()
    try:
        if args.command == "models":
            for name in settings.registry.names():
                entry = settings.registry.entries[name]
                here = "local" if settings.locator.files(name) else "missing"
                print(f"{name:<16} {','.join(entry.languages):<8} {entry.license:<14} {here:<8} {entry.url}")
            return 0
        for name in args.names:
            for path in download(settings.locator, name):
                print(path)
        return 0
    except PolyvoxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
