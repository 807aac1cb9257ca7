"""`madoguchi --help` and every subcommand's help say what it does, in Japanese and in English (issue 19)."""
from __future__ import annotations

import argparse
import re

from bot.cli import build_parser

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
ENGLISH = re.compile(r"\b[a-z]{3,}\b.*\b[a-z]{3,}\b", re.I)


def subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for name, sub in action.choices.items():
                yield from subcommands(sub, (*path, name))


def test_every_command_says_what_it_does_in_japanese_and_english():
    commands = list(subcommands(build_parser()))
    assert len(commands) > 10
    for path, parser in commands:
        text = parser.description or ""
        assert JAPANESE.search(text) and ENGLISH.search(text), (" ".join(path) or "madoguchi", text)


def test_kb_load_takes_folders():
    args = build_parser().parse_args(["kb", "load", "data/kb"])
    assert args.paths == ["data/kb"]
