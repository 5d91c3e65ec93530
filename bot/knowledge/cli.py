"""`python -m bot kb …`: import, seed, search and evaluate the knowledge base
(its benchmark is ``python -m bot bench search``)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from bot.settings import PROJECT_ROOT, Settings

DEFAULT_EVAL = PROJECT_ROOT.parent / "shared" / "data" / "eval-dev" / "gov_qa_dev.jsonl"


def register_knowledge_commands(commands: Any) -> None:
    kb = commands.add_parser("kb", help="standards and knowledge search")
    sub = kb.add_subparsers(dest="kb_command", required=True)

    importer = sub.add_parser("import", help="import a catalogue (CSV/JSONL/XLSX) or a document")
    importer.add_argument("file", type=Path)
    importer.add_argument(
        "--format", choices=("csv", "jsonl", "xlsx", "txt", "md", "html", "docx", "pdf")
    )
    importer.add_argument("--kind", choices=("auto", "standard", "knowledge"), default="auto")
    importer.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="列名=字段",
        help="column mapping, e.g. --map 标准编码=number (fields: number, title, status, …)",
    )
    importer.add_argument("--prune", action="store_true", help="delete entries no longer in FILE")
    importer.add_argument("--no-embed", action="store_true", help="embed later (at next search)")
    importer.add_argument(
        "--force",
        action="store_true",
        help="import even if FILE is unchanged since its last import",
    )
    importer.add_argument("--standard", help="document: the standard number it is the text of")
    importer.add_argument("--id", dest="entry_id", help="document: knowledge point id")
    importer.add_argument("--title", help="document: title (default: its first heading)")
    importer.add_argument("--category", default="", help="document: 类目 path, e.g. 社会保障/医保")
    importer.add_argument("--issuer", default="", help="document: 发文单位")
    importer.add_argument("--department", default="", help="document: owning department")
    importer.add_argument("--json", action="store_true", help="print the report as JSON")
    importer.set_defaults(handler=_import)

    seeder = sub.add_parser("seed", help="import the starter corpus in data/knowledge (idempotent)")
    seeder.add_argument("--force", action="store_true", help="import even unchanged files")
    seeder.set_defaults(handler=_seed)

    search = sub.add_parser("search", help="ask the knowledge base")
    search.add_argument("query")
    search.add_argument("--top-k", type=int, default=5)
    search.add_argument("--mode", choices=("hybrid", "bm25", "dense"), default="hybrid")
    search.add_argument("--status", action="append", default=[], help="现行, 废止, 有效 …")
    search.add_argument("--type", action="append", default=[], help="国家标准, 办事指南 …")
    search.add_argument("--kind", action="append", default=[], choices=("standard", "knowledge"))
    search.add_argument("--issuer", default="")
    search.add_argument("--department", default="")
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=_search)

    evaluation = sub.add_parser("eval", help="recall@k and MRR on question/answer JSONL")
    evaluation.add_argument("--eval", type=Path, default=None, help=f"default: {DEFAULT_EVAL}")
    evaluation.add_argument("--out", type=Path, default=None, help="also write JSON here")
    evaluation.add_argument("--calibrate", action="store_true", help="fit the confidence model")
    evaluation.add_argument(
        "--questions",
        type=Path,
        default=PROJECT_ROOT / "tests" / "knowledge" / "data" / "starter_questions.jsonl",
        help="labelled questions about the starter corpus, used by --calibrate",
    )
    evaluation.add_argument("--cache", type=Path, default=None, help="reuse stores/vectors here")
    evaluation.set_defaults(handler=_eval)


def _import(args: argparse.Namespace) -> int:
    from bot.knowledge.ingest import ImportOptions, import_file
    from bot.knowledge.store import KnowledgeStore

    try:
        mapping = dict(_pair(item) for item in args.map)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    settings = Settings.from_env()
    options = ImportOptions(
        format=args.format,
        kind=args.kind,
        mapping=mapping,
        prune=args.prune,
        progress=True,
        standard=args.standard,
        entry_id=args.entry_id,
        title=args.title,
        category=args.category,
        issuer=args.issuer,
        department=args.department,
        skip_unchanged=not args.force,
    )
    store = KnowledgeStore.from_settings(settings)
    try:
        embedder = None if args.no_embed else _embedder(settings)
        report = import_file(args.file, store, embedder, options)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    finally:
        store.close()
    print(
        json.dumps(report.to_json(), ensure_ascii=False, indent=2)
        if args.json
        else report.summary()
    )
    return 1 if report.errors and not (report.added or report.updated or report.unchanged) else 0


def _seed(args: argparse.Namespace) -> int:
    from bot.knowledge.ingest import seed_store

    settings = Settings.from_env()
    reports = seed_store(
        settings, _embedder(settings), progress=True, skip_unchanged=not args.force
    )
    for report in reports:
        print(report.summary())
    return 1 if any(r.errors for r in reports) else 0


def _search(args: argparse.Namespace) -> int:
    from bot.knowledge.answer import compose_answer
    from bot.knowledge.engine import Filters
    from bot.knowledge.index import Mode
    from bot.knowledge.models import Kind
    from bot.knowledge.runtime import open_knowledge_base
    from bot.knowledge.text import mark

    settings = Settings.from_env()
    kb = open_knowledge_base(settings, progress=True)
    filters = Filters(
        statuses=frozenset(args.status),
        types=frozenset(args.type),
        kinds=frozenset(Kind(k) for k in args.kind),
        issuer=args.issuer,
        department=args.department,
    )
    today = date.today()
    result = kb.search(
        args.query, top_k=args.top_k, filters=filters, mode=Mode(args.mode), today=today
    )
    answer = compose_answer(kb, result, today)
    if args.json:
        payload = {
            "answer": answer.text,
            "confident": answer.confident,
            "hits": [
                {"citation": h.citation.to_json(), "confidence": h.confidence, "scores": h.scores}
                for h in result.hits
            ],
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    print(answer.text)
    print()
    for i, hit in enumerate(result.hits, start=1):
        c = hit.citation
        print(f"{i}. {c.label} [{c.status}] 置信度 {hit.confidence:.2f} {hit.scores}")
        print(f"   {mark(c.snippet, c.highlights, '【', '】')}")
        if c.source:
            print(f"   来源：{c.source}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from bot.knowledge.evaluation import format_report, run_eval

    path = args.eval or DEFAULT_EVAL
    if not path.is_file():
        print(f"评测文件不存在：{path}（用 EVAL=路径 指定）", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    report = run_eval(
        path,
        _embedder(settings),
        cache_dir=args.cache,
        calibrate=args.calibrate,
        questions_path=args.questions if args.calibrate else None,
    )
    print(format_report(report))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


def _embedder(settings: Settings) -> Any:
    from bot.knowledge.embedder import batch_embedder

    return batch_embedder(settings, lambda: print("加载向量模型…", file=sys.stderr))


def _pair(item: str) -> tuple[str, str]:
    header, sep, field = item.partition("=")
    if not sep or not header.strip() or not field.strip():
        raise ValueError(f"--map 需要“列名=字段”的形式，收到：{item}")
    return header.strip(), field.strip()
