"""`make bench-import` (``python -m bot bench import``): a large catalogue import, the same
import repeated, and how soon a published edit is found by another process's search.

The catalogue is generated from the real sports-facility catalogue (or the starter
standards when ``../shared`` is absent): every row gets its own number and a title mixed
from two real titles, so every passage is new text the model must embed. Everything lives
in a scratch folder under /tmp: its own SQLite store and its own passage-vector cache, so
nothing is served from an earlier run's vectors.

Phases, as ``make run`` and the console meet them:

1. ``import``: ``kb import FILE --kind standard`` (read, upsert, embed with every core);
2. ``index``: what a search process then does once (load rows, tokenise, build BM25);
3. ``repeat``: the same command again (skipped: unchanged file) and with ``--force``
   (every row read and compared, nothing embedded);
4. ``adopt``: the console taking the imported entries in as versioned records;
5. ``live``: a reviewer publishes an edit; a second process (a replica, polling every
   ``KB_RELOAD_POLL_S``) reports when its search finds the new text.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from bot.settings import PROJECT_ROOT, Settings

CATALOGUE = (
    PROJECT_ROOT.parent
    / "shared"
    / "data"
    / "standards"
    / "sports_facility_standards_catalogue.jsonl"
)
STARTER_STANDARDS = PROJECT_ROOT / "data" / "knowledge" / "standards.jsonl"
SEED = 12345
_PREFIX = re.compile(r"^[A-Z]+(?:/[A-Z])?")
_SPLIT = re.compile(r"(?<=[\s:：　])|(?<=第\d部分)")


def synthetic_catalogue(rows: int, path: Path, source: Path) -> None:
    """``rows`` catalogue lines with distinct numbers and titles, built from ``source``."""
    base = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line]
    rng = random.Random(SEED)
    with path.open("w", encoding="utf-8") as out:
        for i in range(rows):
            row = dict(base[i % len(base)])
            key = "code" if "code" in row else "number"
            prefix = _PREFIX.match(str(row[key]))
            year = rng.randint(1990, 2025)
            row[key] = f"{prefix.group(0) if prefix else 'GB/T'} {80000 + i}-{year}"
            row["title"] = _mixed_title(row["title"], base[rng.randrange(len(base))]["title"])
            for name in ("replaces", "replacedBy", "replaced_by"):
                row.pop(name, None)
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def _mixed_title(first: str, second: str) -> str:
    head = _SPLIT.split(first)[0] or first[: len(first) // 2]
    tail = second[len(second) // 2 :]
    return f"{head.strip()}{tail}"


def run_bench(settings: Settings, rows: int, edits: int, source: Path) -> dict[str, Any]:
    from bot.knowledge.embedder import batch_embedder
    from bot.knowledge.engine import KnowledgeBase
    from bot.knowledge.ingest import ImportOptions, import_file
    from bot.knowledge.store import KnowledgeStore

    report: dict[str, Any] = {"rows": rows, "source": str(source), "cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="kb-import-bench-") as tmp:
        folder = Path(tmp)
        catalogue = folder / "catalogue.jsonl"
        synthetic_catalogue(rows, catalogue, source)
        settings = settings.with_overrides(
            var_dir=folder / "var", model_cache_dir=folder / "cache" / "models", database_url=None
        )
        store = KnowledgeStore.from_settings(settings)
        embedder = batch_embedder(settings)
        report["load_avg_before"] = os.getloadavg()
        t0 = time.perf_counter()
        _ = embedder.model_id  # loads the model, which the import would otherwise time
        report["model_load_s"] = round(time.perf_counter() - t0, 1)

        options = ImportOptions(kind="standard", skip_unchanged=True)
        _note(f"导入 {rows} 条…")
        t0, cpu0 = time.perf_counter(), time.process_time()
        first = import_file(catalogue, store, embedder, options)
        import_s = time.perf_counter() - t0
        report["import"] = {
            "seconds": round(import_s, 1),
            # What the import would take alone on the machine (it embeds on one core): the
            # wall time above grows with whatever else runs.
            "cpu_s": round(time.process_time() - cpu0, 1),
            "added": len(first.added),
            "embedded": first.embedded,
            "errors": len(first.errors),
            "passages_per_s": round(first.embedded / import_s, 1),
        }

        _note("建索引…")
        t0 = time.perf_counter()
        kb = KnowledgeBase.open(store, embedder, cache_dir=None)
        report["index"] = {"seconds": round(time.perf_counter() - t0, 1), "passages": kb.index.size}

        _note("再次导入…")
        repeat: dict[str, Any] = {}
        for name, again in (
            ("unchanged", options),
            ("forced", replace(options, skip_unchanged=False)),
        ):
            t0 = time.perf_counter()
            result = import_file(catalogue, store, embedder, again)
            repeat[name] = {
                "seconds": round(time.perf_counter() - t0, 2),
                "skipped": result.skipped_since is not None,
                "unchanged_rows": len(result.unchanged),
                "embedded": result.embedded,
            }
        report["repeat"] = repeat
        report["live"] = _publish_to_live(settings, store, embedder, edits, report)
        report["load_avg_after"] = os.getloadavg()
        store.close()
    return report


def _publish_to_live(
    settings: Settings, store: Any, embedder: Any, edits: int, report: dict[str, Any]
) -> dict[str, Any]:
    from bot.knowledge.editing.service import KnowledgeEditor
    from bot.knowledge.engine import embed_missing
    from bot.knowledge.models import Standard

    _note("控制台接管、发布…")
    editor = KnowledgeEditor(store)
    t0 = time.perf_counter()
    adopted = editor.adopt(date.today())
    report["adopt"] = {"seconds": round(time.perf_counter() - t0, 2), "records": adopted}

    env = {**os.environ, **settings.to_env(), "KB_PRELOAD": "0", "LOG_LEVEL": "INFO"}
    watcher = subprocess.Popen(
        [sys.executable, "-m", "bot.bench.kb_import"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert watcher.stdin is not None and watcher.stdout is not None
    try:
        if watcher.stdout.readline().strip() != "ready":
            raise RuntimeError("the watching process did not start")
        ids = sorted(store.content_hashes())
        latencies = []
        for k in range(edits):
            record_id = ids[(k * 7919) % len(ids)]
            entry = store.get(record_id)
            assert isinstance(entry, Standard)
            title = f"发布验证第{k + 1}号{entry.title}"
            editor.save(replace(entry, title=title), "bench-editor", creating=False)
            editor.submit(record_id, "bench-editor")
            watcher.stdin.write(f"{title}\t{record_id}\n")
            watcher.stdin.flush()
            published = time.time()
            editor.publish(record_id, "bench-reviewer", date.today(), embedder)
            embed_missing(store, embedder)  # what the console's go_live does next
            found = float(watcher.stdout.readline())
            latencies.append(found - published)
        watcher.stdin.close()  # the watcher then reports its swap times and ends
        swaps = json.loads(watcher.stdout.readline())
    finally:
        watcher.stdin.close()
        watcher.wait(timeout=60)
    return {
        "poll_s": settings.kb_reload_poll_s,
        "seconds": [round(x, 2) for x in latencies],
        "median_s": round(statistics.median(latencies), 2),
        "max_s": round(max(latencies), 2),
        "swap_s": swaps,
    }


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def watch() -> None:
    """The second process: a search replica that reports when it finds each published title."""
    from bot.knowledge.runtime import LazyKnowledgeBase

    swaps: list[float] = []

    class SwapTimes(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            took = re.search(r"swapped in after ([\d.]+) s", record.getMessage())
            if took:
                swaps.append(float(took.group(1)))

    logging.getLogger("bot.knowledge.runtime").addHandler(SwapTimes())
    logging.getLogger("bot.knowledge.runtime").setLevel(logging.INFO)
    live = LazyKnowledgeBase(Settings.from_env())
    live.get_sync()
    print("ready", flush=True)
    for line in sys.stdin:
        title, record_id = line.rstrip("\n").split("\t")
        while True:
            revision = live.revision
            hits = live.get_sync().search(title, top_k=1).hits
            if hits and hits[0].entry.id == record_id and hits[0].entry.title == title:
                print(time.time(), flush=True)
                break
            live.wait_for_revision(revision + 1, 60)
    print(json.dumps(swaps), flush=True)
    live.close()


def format_bench(report: dict[str, Any]) -> str:
    imp, rep, live = report["import"], report["repeat"], report["live"]
    lines = [
        f"CPU 核数 {report['cpu_count']}，负载 {report['load_avg_before'][0]:.1f}"
        f" → {report['load_avg_after'][0]:.1f}",
        f"加载向量模型 {report['model_load_s']} s（另计）",
        f"导入 {report['rows']} 条：{imp['seconds']} s，占用 CPU {imp['cpu_s']} s（新增 {imp['added']}，向量化 "
        f"{imp['embedded']} 段，{imp['passages_per_s']} 段/s，错误 {imp['errors']}）",
        f"检索进程建索引：{report['index']['seconds']} s（{report['index']['passages']} 段）",
        f"再次导入：未变文件 {rep['unchanged']['seconds']} s（跳过 {rep['unchanged']['skipped']}），"
        f"--force {rep['forced']['seconds']} s（未变 {rep['forced']['unchanged_rows']} 条，"
        f"向量化 {rep['forced']['embedded']} 段）",
        f"控制台接管为记录：{report['adopt']['seconds']} s（{report['adopt']['records']} 条）",
        f"发布到另一进程可检索（轮询 {live['poll_s']} s）：中位 {live['median_s']} s，"
        f"最长 {live['max_s']} s；各次 {live['seconds']}；换索引耗时 {live['swap_s']}",
        json.dumps(report, ensure_ascii=False),
    ]
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    source = args.source or (CATALOGUE if CATALOGUE.is_file() else STARTER_STANDARDS)
    report = run_bench(Settings.from_env(), args.rows, args.edits, source)
    print(format_bench(report))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    watch()
