"""The core sub-commands: run the whole assistant, run one process, train the model."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path
from typing import Any

from bot.settings import Settings


def register_core_commands(commands: Any) -> None:
    run = commands.add_parser("run", help="start Rasa, the action server and the gateway")
    run.set_defaults(handler=_run)
    gateway = commands.add_parser("gateway", help="run the gateway process only")
    gateway.set_defaults(handler=_gateway)
    train = commands.add_parser(
        "train", help="train the Rasa and routing models if their inputs changed"
    )
    train.set_defaults(handler=_train)
    relay = commands.add_parser(
        "workorder-relay", help="deliver accepted requests from the outbox to the work-order system"
    )
    relay.add_argument("--redis-prefix", default=None, help="key prefix of the Redis outbox")
    relay.add_argument("--lease", type=float, default=30.0, help="seconds an entry stays leased")
    relay.set_defaults(handler=_relay)
    nlu = commands.add_parser("nlu-summary", help="per-intent table from a rasa test report")
    nlu.add_argument("report_dir", type=Path)
    nlu.set_defaults(handler=_nlu_summary)


def _run(args: argparse.Namespace) -> int:
    from bot.launcher import run_forever
    from bot.logs import configure_logging

    settings = Settings.from_env()
    configure_logging("launcher", settings.log_level)
    return run_forever(settings)


def _gateway(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.gateway.app import create_app
    from bot.logs import configure_logging

    settings = Settings.from_env()
    configure_logging("gateway", settings.log_level)
    web.run_app(create_app(settings), host=settings.host, port=settings.gateway_port, print=None)
    return 0


def _train(args: argparse.Namespace) -> int:
    from bot.rasa_runtime import ensure_model
    from bot.routing.cli import ensure_routing_model

    settings = Settings.from_env()
    print(ensure_model(settings))
    ensure_routing_model(settings)
    return 0


def _relay(args: argparse.Namespace) -> int:
    from bot.logs import configure_logging

    settings = Settings.from_env()
    configure_logging("workorder-relay", settings.log_level)
    asyncio.run(_run_relay(settings, args.redis_prefix, args.lease))
    return 0


async def _run_relay(settings: Settings, redis_prefix: str | None, lease_s: float) -> None:
    from bot.wiring import workorder_system
    from bot.workorders.desk import relay_poll_s
    from bot.workorders.outbox import DEFAULT_REDIS_PREFIX, OutboxRelay, create_outbox

    outbox = create_outbox(settings, redis_prefix or DEFAULT_REDIS_PREFIX)
    await outbox.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    system = workorder_system(settings)
    relay = OutboxRelay(outbox, system, lease_s=lease_s, idle_poll_s=relay_poll_s(settings))
    try:
        await relay.run(stop)
    finally:
        await system.aclose()
        await outbox.close()


def _nlu_summary(args: argparse.Namespace) -> int:
    from bot.nlu_report import summarise

    print(summarise(args.report_dir))
    return 0
