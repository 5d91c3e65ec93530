"""The project's command line: ``python -m bot <command> ...``.

Each capability registers its own sub-command here with one line, so this file stays
a table of contents.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="12345 assistant tools")
    commands = parser.add_subparsers(dest="command", required=True)

    from bot.cli import register_core_commands

    register_core_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
