"""``python -m bot routing …``: classify, train, evaluate, compare, export field corrections.

``train`` learns type and unit from labelled JSONL (a centre's history, exported corrections)
and can promote the result; ``eval`` scores the model the configured history gives, on rows it
never trained on (``make eval-routing HISTORY=…``); ``compare`` re-runs the method comparison
of the README; ``export-training`` turns supervisors' corrections and the units that finally
handled closed work orders into training rows. The development data lives outside the project
(../shared/data/eval-dev): commands read it when present and say so when not.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from bot.settings import PROJECT_ROOT, Settings

DEFAULT_EVAL = PROJECT_ROOT.parent / "shared" / "data" / "eval-dev"
DEFAULT_MAPPING = PROJECT_ROOT / "data" / "routing" / "label_mapping.yml"
DEFAULT_COMPARISON = PROJECT_ROOT / "reports" / "routing" / "compare.md"


def register_routing_commands(commands: Any) -> None:
    routing = commands.add_parser("routing", help="request type and department routing")
    actions = routing.add_subparsers(dest="routing_command", required=True)
    classify = actions.add_parser("classify", help="classify a JSONL of messages")
    classify.add_argument("input", type=Path, help="JSONL with message, question or content")
    classify.add_argument("output", type=Path, help="JSONL of predictions, one per input line")
    classify.set_defaults(handler=_classify)
    evaluate = actions.add_parser("eval", help="held-out scores of the model trained on history")
    evaluate.add_argument(
        "--history",
        help="labelled JSONL files to train on, separated by commas (default: HOTLINE_HISTORY)",
    )
    evaluate.add_argument(
        "--eval",
        type=Path,
        help="further labelled JSONL files (a file or folder) scored with the model trained on "
        "all history; without history, the default is ../shared/data/eval-dev",
    )
    evaluate.add_argument("--out", type=Path, help="also write the figures as JSON here")
    evaluate.set_defaults(handler=_evaluate)
    train = actions.add_parser("train", help="train type and department models on JSONL files")
    train.add_argument("files", type=Path, nargs="*", help="labelled JSONL (message, type, unit)")
    train.add_argument("--out", type=Path, required=True, help="folder for model.pkl/model.json")
    train.add_argument("--with-history", action="store_true", help="add HOTLINE_HISTORY's files")
    train.add_argument("--promote", action="store_true", help="make it live unless scores fall")
    train.add_argument("--eval", type=Path, help="the fixed evaluation file (first promotion)")
    train.set_defaults(handler=_train)
    compare = actions.add_parser("compare", help="cross-validate the candidate methods")
    compare.add_argument("--types", type=Path, default=DEFAULT_EVAL / "citizen_messages_dev.jsonl")
    compare.add_argument("--departments", type=Path, default=DEFAULT_EVAL / "gov_qa_dev.jsonl")
    compare.add_argument("--no-embeddings", action="store_true", help="skip the e5 candidates")
    compare.add_argument("--out", type=Path, default=DEFAULT_COMPARISON)
    compare.set_defaults(handler=_compare)
    export = actions.add_parser("export-training", help="field corrections as training rows")
    export.add_argument("--out", type=Path, required=True)
    export.set_defaults(handler=_export)
    info = actions.add_parser("info", help="the live routing model: version, data, scores")
    info.set_defaults(handler=_info)


def ensure_routing_model(settings: Settings) -> Path:
    """``python -m bot train``: the live routing model, retrained when its inputs changed."""
    from bot.routing.store import ensure_live_model, live_model_info

    path = ensure_live_model(settings)
    info = live_model_info(settings) or {}
    history = info.get("history") or []
    source = "、".join(history) if history else "无历史数据（仅派单目录典型事项和项目自带示例）"
    print(f"routing model {info.get('version')} ({path}); 训练数据：{source}")
    return path


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
    from bot.routing.heldout import evaluate_history

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings.from_env()
    if args.history is not None:
        settings = settings.with_overrides(hotline_history=args.history or "none")
    history = [path for path in settings.history_files if path.is_file()]
    missing = [path for path in settings.history_files if not path.is_file()]
    if missing:
        print(f"history files not found: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    target = args.eval if args.eval is not None else (None if history else DEFAULT_EVAL)
    others = [p for p in _eval_files(target) if p.resolve() not in {h.resolve() for h in history}]
    if not history and not others:
        print(f"no history and no labelled JSONL files at {target}", file=sys.stderr)
        return 2
    print("history: " + (", ".join(map(str, history)) or "none (catalogue and examples only)"))
    started = time.perf_counter()
    report = evaluate_history(settings, history, others)
    report["seconds"] = round(time.perf_counter() - started, 1)
    for name, result in report["files"].items():
        _print_summary(name, result)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", "utf-8")
        print(f"figures written to {args.out}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from bot.routing.history import LabelReport
    from bot.routing.store import inputs_hash, promote, train

    settings = Settings.from_env()
    files = [*args.files, *(settings.history_files if args.with_history else ())]
    missing = [path for path in files if not path.is_file()]
    if missing or not files:
        print(f"training files not found: {', '.join(map(str, missing)) or 'none given'}")
        return 2
    report = LabelReport()
    model = train(settings, files, report)
    model.info.update(version=inputs_hash(settings, files), kind="trained", labels=report.summary())
    path = args.out / "model.pkl"
    model.save(path)
    print(f"{report.summary()}\nmodel {model.version} → {path}")
    if not args.promote:
        return 0
    decision = promote(settings, path, args.eval)
    for key in sorted(set(decision.old) | set(decision.new)):
        old, new = decision.old.get(key), decision.new.get(key)
        print(
            f"  {key}: {'–' if old is None else f'{old:.4f}'} → {'–' if new is None else f'{new:.4f}'}"
        )
    print(decision.reason)
    return 0 if decision.promoted else 1


def _compare(args: argparse.Namespace) -> int:
    from bot.routing.catalogue import load_catalogue
    from bot.routing.compare import compare, markdown_table, write_report
    from bot.routing.evaluation import LabelMapping

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    missing = [p for p in (args.types, args.departments) if not p.is_file()]
    if missing:
        print(f"labelled files not found: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    report = compare(
        args.types,
        args.departments,
        load_catalogue(settings.routing_catalogue),
        LabelMapping.load(DEFAULT_MAPPING),
        settings,
        embeddings=not args.no_embeddings,
    )
    write_report(report, args.out)
    print(markdown_table(report))
    print(f"table written to {args.out} (figures: {args.out.with_suffix('.json')})")
    return 0


def _export(args: argparse.Namespace) -> int:
    import asyncio

    from bot.routing.feedback import export_training

    counts = asyncio.run(export_training(Settings.from_env(), args.out))
    print(f"exported {sum(counts.values())} training rows → {args.out} ({dict(counts)})")
    return 0


def _info(args: argparse.Namespace) -> int:
    from bot.routing.store import live_model_info

    info = live_model_info(Settings.from_env())
    print(json.dumps(info, ensure_ascii=False, indent=2) if info else "no live routing model yet")
    return 0


def _eval_files(target: Path | None) -> list[Path]:
    if target is None:
        return []
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
