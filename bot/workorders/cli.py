"""Sub-commands of the work-order subsystem: the reference service, the relay, tokens."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from bot.settings import Settings


def register_workorder_commands(commands: Any) -> None:
    service = commands.add_parser(
        "workorder-service", help="run the reference 12345 work-order service (WORKORDER_PORT)"
    )
    service.set_defaults(handler=_service)
    relay = commands.add_parser(
        "workorder-relay", help="deliver accepted requests from the outbox to the work-order system"
    )
    relay.add_argument("--redis-prefix", default=None, help="key prefix of the Redis outbox")
    relay.add_argument("--lease", type=float, default=30.0, help="seconds an entry stays leased")
    relay.set_defaults(handler=_relay)
    token = commands.add_parser(
        "workorder-token", help="issue a centre or department token (WORKORDER_TOKEN_SECRET)"
    )
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument("--center", action="store_true", help="the 12345 hotline centre")
    who.add_argument("--department", help="the department's name, e.g. 市城市管理局")
    token.set_defaults(handler=_token)


def _service(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.logs import configure_logging
    from bot.workorder_service.app import create_app

    settings = Settings.from_env()
    configure_logging("workorder-service", settings.log_level)
    try:
        app = create_app(settings)
    except ValueError as exc:
        print(f"cannot start the work-order service: {exc}", file=sys.stderr)
        return 2
    web.run_app(app, host=settings.host, port=settings.workorder_port, print=None)
    return 0


def _relay(args: argparse.Namespace) -> int:
    from bot.logs import configure_logging

    settings = Settings.from_env()
    configure_logging("workorder-relay", settings.log_level)
    asyncio.run(_run_relay(settings, args.redis_prefix, args.lease))
    return 0


async def _run_relay(settings: Settings, redis_prefix: str | None, lease_s: float) -> None:
    import aiohttp

    from bot.workorders.outbox import DEFAULT_REDIS_PREFIX, OutboxRelay, create_outbox
    from connectors.workorders.http import HttpWorkOrderSystem

    outbox = create_outbox(settings, redis_prefix or DEFAULT_REDIS_PREFIX)
    await outbox.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with aiohttp.ClientSession() as session:
        system = HttpWorkOrderSystem(
            session,
            settings.workorder_url,
            settings.workorder_api_token,
            timeout_s=settings.workorder_timeout_s,
        )
        relay = OutboxRelay(
            outbox, system, lease_s=lease_s, idle_poll_s=0.05 if settings.redis_url else 0.5
        )
        try:
            await relay.run(stop)
        finally:
            await outbox.close()


def _token(args: argparse.Namespace) -> int:
    from bot.workorder_service.auth import Kind, issue_token

    settings = Settings.from_env()
    if not settings.workorder_token_secret:
        print("WORKORDER_TOKEN_SECRET is not set")
        return 2
    if args.center:
        print(issue_token(settings.workorder_token_secret, Kind.CENTER))
    else:
        print(issue_token(settings.workorder_token_secret, Kind.DEPARTMENT, args.department))
    return 0
