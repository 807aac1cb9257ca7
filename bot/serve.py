"""The guide's servers with Madoguchi's start-up changes installed (bot.runtime): ``rasa`` with its own
arguments.

    .venv/bin/python -m bot.serve run --port 5005 --model models/madoguchi.tar.gz ...
    .venv/bin/python -m bot.serve run actions --actions actions --port 5055
"""
from __future__ import annotations

import sys

from bot import runtime


def main(argv: list[str] | None = None) -> None:
    try:
        runtime.install()
    except runtime.UnsupportedVersion as exc:
        print(f"起動できません / cannot start: {exc}", file=sys.stderr)
        raise SystemExit(3) from None
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *(sys.argv[1:] if argv is None else argv)]
    rasa_main()


if __name__ == "__main__":
    main()
