"""``python -m bot routing classify|eval``: batch classification and evaluation.

``classify`` turns a JSONL of messages into a JSONL of predictions (for agents' tools and for
inspecting errors); ``eval`` measures request type, domain and department against labelled
files (``make eval-routing EVAL=path OUT=path``). The development data lives outside the
project (../shared/data/eval-dev), so evaluation reads it when present and says so when not.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from bot.settings import PROJECT_ROOT, Settings

DEFAULT_EVAL = PROJECT_ROOT.parent / "shared" / "data" / "eval-dev"
DEFAULT_MAPPING = PROJECT_ROOT / "data" / "routing" / "label_mapping.yml"


def register_routing_commands(commands: Any) -> None:
    routing = commands.add_parser("routing", help="request type and department routing")
    actions = routing.add_subparsers(dest="routing_command", required=True)
    classify = actions.add_parser("classify", help="classify a JSONL of messages")
    classify.add_argument("input", type=Path, help="JSONL with message, question or content")
    classify.add_argument("output", type=Path, help="JSONL of predictions, one per input line")
    classify.set_defaults(handler=_classify)
    evaluate = actions.add_parser("eval", help="accuracy on labelled JSONL files")
    evaluate.add_argument(
        "--eval",
        type=Path,
        default=DEFAULT_EVAL,
        help="a labelled JSONL file or a folder of them (default: ../shared/data/eval-dev)",
    )
    evaluate.add_argument("--out", type=Path, help="also write the figures as JSON here")
    evaluate.add_argument("--mapping", type=Path, default=DEFAULT_MAPPING)
    evaluate.set_defaults(handler=_evaluate)


def _classify(args: argparse.Namespace) -> int:
    from bot.routing import load_classifier
    from bot.routing.evaluation import message_text, prediction_row, read_jsonl

    classifier = load_classifier(Settings.from_env())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with args.output.open("w", encoding="utf-8") as out:
        for row in read_jsonl(args.input):
            result = classifier.classify(message_text(row))
            out.write(json.dumps(prediction_row(row, result), ensure_ascii=False) + "\n")
            count += 1
    print(f"classified {count} messages → {args.output}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from bot.routing import load_classifier
    from bot.routing.evaluation import (
        LabelMapping,
        evaluate_departments,
        evaluate_types,
        read_jsonl,
    )

    files = _eval_files(args.eval)
    if not files:
        print(f"no labelled JSONL files at {args.eval}", file=sys.stderr)
        return 2
    mapping = LabelMapping.load(args.mapping)
    classifier = load_classifier(Settings.from_env())
    report: dict[str, Any] = {"mapping": str(args.mapping), "files": {}}
    for path in files:
        rows = list(read_jsonl(path))
        started = time.perf_counter()
        fields = set().union(*(row.keys() for row in rows)) if rows else set()
        result: dict[str, Any] = {}
        if "request_type" in fields:
            result["request_type"] = evaluate_types(classifier, rows, mapping)
        if "department" in fields:
            result["department"] = evaluate_departments(classifier, rows, mapping)
        if not result:
            continue
        result["seconds"] = round(time.perf_counter() - started, 2)
        report["files"][path.name] = result
        _print_summary(path.name, result)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", "utf-8")
        print(f"figures written to {args.out}")
    return 0


def _eval_files(target: Path) -> list[Path]:
    if target.is_file():
        return [target]
    if target.is_dir():
        return sorted(target.glob("*.jsonl"))
    return []


def _print_summary(name: str, result: dict[str, Any]) -> None:
    kinds = result.get("request_type")
    if kinds:
        print(
            f"{name}: request type accuracy {kinds['accuracy']:.3f}, "
            f"macro-F1 {kinds['macro_f1']:.3f} ({kinds['rows']} rows); "
            f"domain accuracy {kinds['domain']['accuracy']:.3f} ({kinds['domain']['rows']} rows)"
        )
    departments = result.get("department")
    if departments:
        print(
            f"{name}: department top-1 {departments['top1']:.3f}, "
            f"top-3 {departments['top3']:.3f} ({departments['rows']} rows, "
            f"{departments['skipped']} skipped)"
        )
