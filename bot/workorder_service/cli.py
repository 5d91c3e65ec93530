"""Sub-commands of the reference work-order service: run it, issue its tokens."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.settings import Settings


def register_workorder_service_commands(commands: Any) -> None:
    service = commands.add_parser(
        "workorder-service", help="run the reference 12345 work-order service (WORKORDER_PORT)"
    )
    service.set_defaults(handler=_service)
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
