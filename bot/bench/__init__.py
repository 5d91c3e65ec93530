"""``python -m bot bench [turns|outbox|search|console]``: every benchmark of the project.

Each one starts what it measures itself (processes on free ports, scratch databases) and
prints its figures; ``turns`` (the default, ``make bench``) is the one a newcomer runs.
The modules are imported only when their benchmark runs: they pull in heavy libraries.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def register_bench_commands(commands: Any) -> None:
    bench = commands.add_parser(
        "bench", help="benchmarks: turns (default), outbox, search, console"
    )
    bench.set_defaults(handler=_turns)
    sub = bench.add_subparsers(dest="bench")

    turns = sub.add_parser("turns", help="turn latency through the gateway and straight to Rasa")
    turns.set_defaults(handler=_turns)

    outbox = sub.add_parser(
        "outbox", help="work-order outbox throughput and recovery after an outage"
    )
    outbox.add_argument("--backend", choices=["sqlite", "postgres", "redis"], default="sqlite")
    outbox.add_argument("--orders", type=int, default=2000)
    outbox.add_argument("--concurrency", type=int, default=16)
    outbox.add_argument("--interactive", type=int, default=200)
    outbox.add_argument("--outage", type=float, default=60.0, help="outage length in seconds")
    outbox.add_argument("--outage-rate", type=float, default=20.0, help="requests/s during it")
    outbox.add_argument("--json", type=Path, default=None, help="also write the figures here")
    outbox.set_defaults(handler=_outbox)

    search = sub.add_parser(
        "search", help="knowledge index build, latency and memory at 1k/10k/100k"
    )
    search.add_argument("--sizes", default="1000,10000,100000")
    search.add_argument("--out", type=Path, default=None)
    search.set_defaults(handler=_search)

    console = sub.add_parser("console", help="console list/search latency, generated conversations")
    console.add_argument("--conversations", type=int, default=100_000)
    console.add_argument("--repeat", type=int, default=20, help="timed runs per query")
    console.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    console.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES,
        help="server to create (and drop) a scratch database on",
    )
    console.set_defaults(handler=_console)


def _turns(args: argparse.Namespace) -> int:
    from bot.bench import turns

    return turns.main(args)


def _outbox(args: argparse.Namespace) -> int:
    from bot.bench import outbox

    return outbox.main(args)


def _search(args: argparse.Namespace) -> int:
    from bot.bench import search

    return search.main(args)


def _console(args: argparse.Namespace) -> int:
    from bot.bench import console

    return console.main(args)
