"""The core sub-commands: run the whole assistant, run one process, train the model."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from bot.settings import Settings


def register_core_commands(commands: Any) -> None:
    run = commands.add_parser("run", help="start Rasa, the action server and the gateway")
    run.set_defaults(handler=_run)
    scaled = commands.add_parser(
        "run-scaled",
        help="start replicas of the gateway, Rasa and the action server behind HAProxy"
        " (SCALED_GATEWAYS, SCALED_RASA, SCALED_ACTIONS; needs DATABASE_URL and REDIS_URL)",
    )
    scaled.add_argument(
        "--check", action="store_true", help="only check the settings and HAProxy, start nothing"
    )
    scaled.set_defaults(handler=_run_scaled)
    lb = commands.add_parser(
        "lb-config", help="print HAProxy's configuration for replicas on several machines"
    )
    lb.add_argument("--gateways", required=True, help="host:port of each gateway, comma separated")
    lb.add_argument("--rasa", required=True, help="host:port of each Rasa server")
    lb.add_argument("--actions", required=True, help="host:port of each action server")
    lb.add_argument("--public-bind", default="0.0.0.0:8080", help="where citizens connect")
    lb.add_argument("--rasa-bind", default="0.0.0.0:5005", help="the gateways' RASA_URL")
    lb.add_argument("--action-bind", default="0.0.0.0:5055", help="Rasa's action endpoint")
    lb.add_argument("--stats-socket", default="/run/haproxy/hotline.sock", type=Path)
    lb.set_defaults(handler=_lb_config)
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


def _run_scaled(args: argparse.Namespace) -> int:
    from bot.loadbalancer import LoadBalancerMissing
    from bot.logs import configure_logging
    from bot.scaled import ScaledModeError, ScaledStack, run_scaled_forever

    settings = Settings.from_env()
    configure_logging("launcher", settings.log_level)
    try:
        if args.check:
            ScaledStack.from_settings(settings)
            return 0
        return run_scaled_forever(settings)
    except (ScaledModeError, LoadBalancerMissing) as exc:
        print(exc, file=sys.stderr)
        return 2


def _lb_config(args: argparse.Namespace) -> int:
    from bot.loadbalancer import Topology, parse_replicas, render
    from bot.scaled import SERVER_TIMEOUT_MARGIN_S

    try:
        topology = Topology(
            public_bind=args.public_bind,
            rasa_bind=args.rasa_bind,
            action_bind=args.action_bind,
            gateways=parse_replicas("gateway", args.gateways),
            rasa=parse_replicas("rasa", args.rasa),
            actions=parse_replicas("actions", args.actions),
        )
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    timeout_s = Settings.from_env().rasa_timeout_s + SERVER_TIMEOUT_MARGIN_S
    print(render(topology, args.stats_socket, timeout_s), end="")
    return 0


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
