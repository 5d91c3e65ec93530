"""``python -m bot console …`` (alias ``supervisor``): the console's maintenance commands (its benchmark is
``python -m bot bench console``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import Settings
from bot.storage import create_engine, create_tables


def register_console_commands(commands: Any) -> None:
    parser = commands.add_parser(
        "console", aliases=["supervisor"], help="supervisor console: reindex, retention, export-nlu"
    )
    sub = parser.add_subparsers(dest="console_command", required=True)

    reindex = sub.add_parser("reindex", help="rebuild conversation summaries from the transcript")
    reindex.set_defaults(handler=_reindex)

    retention = sub.add_parser("retention", help="apply RETENTION_DAYS / RETENTION_MODE once")
    retention.set_defaults(handler=_retention)

    export = sub.add_parser("export-nlu", help="write corrected messages as Rasa NLU YAML")
    export.add_argument("--only-new", action="store_true", help="only corrections not exported yet")
    export.add_argument("--mark-exported", action="store_true")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    export.set_defaults(handler=_export)


def _with_engine(work: Callable[[AsyncEngine, Settings], Awaitable[int]]) -> int:
    async def main() -> int:
        settings = Settings.from_env()
        engine = create_engine(settings)
        try:
            await create_tables(engine)
            return await work(engine, settings)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _reindex(args: argparse.Namespace) -> int:
    from bot.console.index import ConversationIndex

    async def work(engine: AsyncEngine, settings: Settings) -> int:
        index = ConversationIndex(engine)
        await index.setup()
        print(f"已重建 {await index.rebuild()} 个会话的索引。")
        return 0

    return _with_engine(work)


def _retention(args: argparse.Namespace) -> int:
    from bot.accounts import AuditLog
    from bot.console.index import ConversationIndex
    from bot.console.retention import Retention

    async def work(engine: AsyncEngine, settings: Settings) -> int:
        if settings.retention_days <= 0:
            print("RETENTION_DAYS 为 0：未设置保留期限，不做处理。")
            return 0
        index = ConversationIndex(engine)
        await index.setup()
        retention = Retention.build(settings, engine, index.search)
        try:
            result = await retention.run(settings.retention_days, settings.retention_mode)
        finally:
            await retention.close()
        await AuditLog(engine).record(
            "retention.run",
            result.mode,
            username="cli",
            detail={"conversations": result.conversations, "cutoff": result.cutoff.isoformat()},
        )
        print(f"{result.mode}: {result.conversations} 个会话（早于 {result.cutoff:%Y-%m-%d}）。")
        return 0

    return _with_engine(work)


def _export(args: argparse.Namespace) -> int:
    from bot.accounts import AuditLog
    from bot.console.nlu_export import load_corrections, mark_exported, to_yaml

    async def work(engine: AsyncEngine, settings: Settings) -> int:
        corrections = await load_corrections(engine, only_new=args.only_new)
        body = to_yaml(corrections)
        if args.output:
            args.output.write_text(body, encoding="utf-8")
        else:
            sys.stdout.write(body)
        if args.mark_exported:
            await mark_exported(engine, [c.id for c in corrections])
        await AuditLog(engine).record(
            "export.nlu_yaml",
            "nlu_correction",
            username="cli",
            detail={"count": len(corrections), "only_new": args.only_new},
        )
        return 0

    return _with_engine(work)
