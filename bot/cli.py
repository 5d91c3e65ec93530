"""The core sub-commands: run the whole assistant, run one process, train the model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.settings import Settings


def register_core_commands(commands: Any) -> None:
    run = commands.add_parser("run", help="start Rasa, the action server and the gateway")
    run.set_defaults(handler=_run)
    gateway = commands.add_parser("gateway", help="run the gateway process only")
    gateway.set_defaults(handler=_gateway)
    train = commands.add_parser("train", help="train the Rasa model if the data changed")
    train.set_defaults(handler=_train)
    bench = commands.add_parser("bench", help="turn latency through the gateway and Rasa")
    bench.set_defaults(handler=_bench)
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

    print(ensure_model(Settings.from_env()))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from bot.bench import run_bench

    return run_bench()


def _nlu_summary(args: argparse.Namespace) -> int:
    from bot.nlu_report import summarise

    print(summarise(args.report_dir))
    return 0
