"""``python -m bot safety eval [FILE…]``: how often the safety checks fire, and on what.

Run it on a centre's history (or the dev files in ../shared/data/eval-dev, the default when
that folder exists) after any change to ``bot/safety``: each trigger on history is almost
always a false alarm, and the triggering messages are printed so they can be read. The
project's own emergency examples are checked in the same run, so a change that buys fewer
false alarms with a missed emergency shows at once (and the exit status is 1).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bot.settings import PROJECT_ROOT

DEFAULT_HISTORY = PROJECT_ROOT.parent / "shared" / "data" / "eval-dev"
DEFAULT_FILES = ("citizen_messages_dev.jsonl", "gov_qa_dev.jsonl")
EXAMPLES = PROJECT_ROOT / "data" / "safety" / "emergency_examples.yml"
NLU_SAFETY = PROJECT_ROOT / "data" / "nlu" / "safety.yml"
SHOWN_CHARS = 160


def register_safety_commands(commands: Any) -> None:
    safety = commands.add_parser("safety", help="emergency and out-of-scope checks")
    actions = safety.add_subparsers(dest="safety_command", required=True)
    evaluate = actions.add_parser(
        "eval", help="trigger counts on message files, recall on the emergency examples"
    )
    evaluate.add_argument(
        "files",
        nargs="*",
        type=Path,
        help="JSONL files with message or question (default: the dev files in "
        "../shared/data/eval-dev when present)",
    )
    evaluate.add_argument("--out", type=Path, help="also write the figures as JSON here")
    evaluate.add_argument(
        "--quiet", action="store_true", help="counts only, without the triggering messages"
    )
    evaluate.set_defaults(handler=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from bot.safety.evaluation import evaluate_examples, scan_file

    files: list[Path] = list(args.files) or [
        DEFAULT_HISTORY / name for name in DEFAULT_FILES if (DEFAULT_HISTORY / name).exists()
    ]
    if not files:
        print(f"no message files given and none at {DEFAULT_HISTORY}; examples only")
    reports = [scan_file(path) for path in files]
    for report in reports:
        print(
            f"{report.path}: {report.messages} messages, "
            f"emergency {sum(report.emergency.values())} {dict(report.emergency)}, "
            f"out of scope {sum(report.out_of_scope.values())} {dict(report.out_of_scope)}"
        )
        if not args.quiet:
            for trigger in report.triggers:
                text = trigger.text.replace("\n", " ")[:SHOWN_CHARS]
                print(f"  {trigger.check} {trigger.kind} {trigger.row_id}: {text}")
    examples = evaluate_examples(EXAMPLES, NLU_SAFETY)
    print(
        f"emergency examples: {examples.caught}/{examples.emergencies} caught "
        f"(recall {examples.recall:.1%}), {len(examples.wrong_number)} with the wrong number; "
        f"false alarms on written mentions: {len(examples.false_alarms)}/{examples.mentions}"
    )
    for label, texts in (
        ("missed", examples.missed),
        ("wrong number", examples.wrong_number),
        ("false alarm", examples.false_alarms),
    ):
        for text in texts:
            print(f"  {label}: {text}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        figures = {"files": [r.to_dict() for r in reports], "examples": examples.to_dict()}
        args.out.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0 if not (examples.missed or examples.wrong_number) else 1
