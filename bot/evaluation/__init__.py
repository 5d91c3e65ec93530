"""``python -m bot eval-dialogue`` (``make eval-dialogue``): the whole assistant on real
first messages, through processes this command starts itself (bot/evaluation/dialogue.py).

The model is trained on ``--history`` (``HISTORY=``; default: ``HOTLINE_HISTORY``, else the
development files), and by default the evaluation draws its messages from the development
files, leaving out every row the NLU was trained on.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.settings import PROJECT_ROOT

DEFAULT_OUT = PROJECT_ROOT / "reports" / "eval-dialogue.json"


def register_evaluation_commands(commands: Any) -> None:
    command = commands.add_parser(
        "eval-dialogue", help="send real first messages through the assistant, count outcomes"
    )
    command.add_argument("--eval", type=Path, help="JSONL with message or question per row")
    command.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the JSON report")
    command.add_argument(
        "--history",
        help="history files the model is trained on (comma-separated, or none)",
    )
    command.add_argument("--sample", type=int, default=200, help="rows when --eval is not given")
    command.add_argument("--concurrency", type=int, default=4)
    command.set_defaults(handler=_eval_dialogue)


def _eval_dialogue(args: argparse.Namespace) -> int:
    from bot.evaluation.dialogue import run_evaluation
    from bot.settings import Settings

    settings = Settings.from_env()
    if args.history:
        settings = settings.with_overrides(hotline_history=args.history)
    return run_evaluation(settings, args.eval, args.out, args.sample, args.concurrency)
