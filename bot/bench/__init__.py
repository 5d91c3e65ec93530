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
        "bench", help="benchmarks: turns (default), outbox, search, console, drill, load"
    )
    bench.set_defaults(handler=_turns, levels=None)
    sub = bench.add_subparsers(dest="bench")

    turns = sub.add_parser("turns", help="turn latency through the gateway and straight to Rasa")
    turns.add_argument(
        "--levels",
        default=None,
        help="concurrent:conversations pairs, e.g. 1:30,50:150 (default 1:30,10:60,50:150)",
    )
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

    kb_import = sub.add_parser(
        "import", help="knowledge import at 10k rows, a repeated import, publish-to-live time"
    )
    kb_import.add_argument("--rows", type=int, default=10_000)
    kb_import.add_argument("--edits", type=int, default=5, help="published edits timed")
    kb_import.add_argument("--source", type=Path, default=None, help="catalogue JSONL to vary")
    kb_import.add_argument("--out", type=Path, default=None)
    kb_import.set_defaults(handler=_kb_import)

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

    load = sub.add_parser("load", help="capacity at 1 and 2 replicas with locust (make loadtest)")
    load.add_argument("--users", default="6,9,12,15,18,24,30", help="citizens at each step")
    load.add_argument("--duration", type=float, default=25.0, help="measured seconds per step")
    load.add_argument("--ramp", type=float, default=5.0, help="seconds to spawn a step's citizens")
    load.add_argument("--think", default="1,3", help="think time between turns: min,max seconds")
    load.add_argument("--p99", type=float, default=1.5, help="target p99 turn latency, seconds")
    load.add_argument("--max-errors", type=float, default=1.0, help="target error rate, percent")
    load.add_argument("--actions", type=int, default=1, help="action servers in both runs")
    load.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="server for scratch dbs")
    load.add_argument("--redis-url", default="redis://127.0.0.1:6379/0", help="server for a db")
    load.add_argument("--json", type=Path, default=None, help="also write every step here")
    load.set_defaults(handler=_load)

    drill = sub.add_parser(
        "drill", help="fault drills on the scaled deployment under load (make drill)"
    )
    drill.add_argument("--citizens", type=int, default=8, help="conversations at a time")
    drill.add_argument(
        "--only", action="append", help="run only the drills whose name contains this"
    )
    drill.add_argument("--json", type=Path, default=None, help="also write the counts here")
    drill.set_defaults(handler=_drill)


def _turns(args: argparse.Namespace) -> int:
    from bot.bench import turns

    return turns.main(args)


def _outbox(args: argparse.Namespace) -> int:
    from bot.bench import outbox

    return outbox.main(args)


def _search(args: argparse.Namespace) -> int:
    from bot.bench import search

    return search.main(args)


def _kb_import(args: argparse.Namespace) -> int:
    from bot.bench import kb_import

    return kb_import.main(args)


def _console(args: argparse.Namespace) -> int:
    from bot.bench import console

    return console.main(args)


def _drill(args: argparse.Namespace) -> int:
    from bot.bench import drill

    return drill.main(args)


def _load(args: argparse.Namespace) -> int:
    from bot.bench import load

    return load.main(args)
