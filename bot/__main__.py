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

    from bot.wechat.cli import register_wechat_menu_command

    register_wechat_menu_command(commands)

    from bot.accounts.cli import register_user_commands

    register_user_commands(commands)

    from bot.workorder_service.cli import register_workorder_service_commands

    register_workorder_service_commands(commands)

    from bot.bench import register_bench_commands

    register_bench_commands(commands)

    from bot.routing.cli import register_routing_commands

    register_routing_commands(commands)

    from bot.embedding.cli import register_embedding_commands

    register_embedding_commands(commands)

    from bot.console.cli import register_console_commands

    register_console_commands(commands)

    from bot.knowledge.cli import register_knowledge_commands

    register_knowledge_commands(commands)

    from bot.evaluation import register_evaluation_commands

    register_evaluation_commands(commands)

    from bot.safety.cli import register_safety_commands

    register_safety_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
