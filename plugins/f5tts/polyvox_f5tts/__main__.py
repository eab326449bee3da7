"""``python -m polyvox_f5tts``: the old spelling of ``polyvox models``, kept as an alias.

``models`` lists F5-TTS's models (``polyvox models --engine f5tts``); ``download NAME ...``
fetches them (``polyvox models pull f5tts:NAME``). Vocos comes with every model now.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from polyvox.cli import cli

    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["models"]:
        commands = [["models", "--engine", "f5tts", *args[1:]]]
    elif args[:1] == ["download"] and args[1:]:
        commands = [["models", "pull", "f5tts" if name == "vocos" else f"f5tts:{name}"] for name in args[1:]]
    else:
        print("usage: python -m polyvox_f5tts models | download NAME...  "
              "(now `polyvox models` and `polyvox models pull f5tts:NAME`)", file=sys.stderr)
        return 2
    for command in commands:
        try:
            cli.main(command, prog_name="polyvox")
        except SystemExit as done:
            if done.code:
                return int(done.code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
