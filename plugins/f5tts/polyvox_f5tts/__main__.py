"""``python -m polyvox_f5tts``: the old spelling of ``polyvox models``, kept as an alias.

``models`` lists F5-TTS's models (``polyvox models --engine f5tts``); ``download NAME ...``
fetches them (``polyvox models pull f5tts:NAME``). Vocos comes with every model now. Each runs
the ``polyvox`` command itself (``python -m polyvox``, this Python): the command line is the
CLI's public face, so the plugin never imports the CLI's modules.
"""

from __future__ import annotations

import subprocess
import sys


def main(argv: list[str] | None = None) -> int:
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
        status = subprocess.call([sys.executable, "-m", "polyvox", *command])
        if status:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
