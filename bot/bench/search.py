"""`make bench-search` (``python -m bot bench search``): index build throughput, query latency and memory at several sizes.

Passages are generated from the starter corpus's own sentences (recombined, so BM25 sees
realistic Chinese text and vocabulary). The real embedding model embeds the 1k corpus and
every query, and its throughput is reported; embedding 100k passages with it would take
hours on two cores, so above 1k each passage vector is a real 1k passage vector plus
Gaussian noise (cosine ≈ 0.86 to its origin), renormalised. That keeps the clustered shape
of real embeddings, which matters for ANN recall (uniformly random vectors are the worst
case for any graph index), and costs the same to index and search. The output says which
sizes use such vectors. Query latency is measured
for search itself with the query already embedded, and the model's query-embedding latency
is reported beside it: a citizen's question pays both.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.embedding.model import load_embedding_model
from bot.knowledge.embedder import Embedder, SentenceTransformerEmbedder
from bot.knowledge.engine import KnowledgeBase
from bot.knowledge.evaluation import QueryCache
from bot.knowledge.index import Mode, SearchIndex
from bot.knowledge.lexical import Bm25Index
from bot.knowledge.models import KnowledgePoint
from bot.knowledge.passages import passages_of
from bot.knowledge.text import sentences, tokens
from bot.knowledge.vectors import ExactIndex, HnswIndex
from bot.settings import PROJECT_ROOT, Settings

REAL_VECTORS_UP_TO = 1000
QUERY_ROUNDS = 300
EF_SWEEP = (128, 256, 512, 800)
SEED = 12345
_QUESTIONS = PROJECT_ROOT / "tests" / "knowledge" / "data" / "starter_questions.jsonl"
_CORPUS = PROJECT_ROOT / "data" / "knowledge"


def run_bench(settings: Settings, sizes: list[int]) -> dict[str, Any]:
    # Uncached on purpose: the benchmark measures the model, not the vector cache.
    model = SentenceTransformerEmbedder(load_embedding_model(settings))
    questions = _questions()
    started = time.perf_counter()
    query_latencies = []
    for question in questions[:100]:
        t0 = time.perf_counter()
        model.encode_queries([question])
        query_latencies.append((time.perf_counter() - t0) * 1000)
    embed_query = _latency(query_latencies)
    fixed = QueryCache(model, questions)
    sentences_pool = _sentences()
    report: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "model": model.model_id,
        "query_embedding_ms": embed_query,
        "sizes": [],
    }
    real = np.zeros((0, model.dimension), dtype=np.float32)
    for size in sorted(sizes):
        result, real = _bench_size(size, model, fixed, questions, sentences_pool, real)
        report["sizes"].append(result)
    report["total_s"] = round(time.perf_counter() - started, 1)
    return report


def _bench_size(
    size: int,
    model: Embedder,
    fixed: QueryCache,
    questions: list[str],
    pool: list[str],
    real: NDArray[np.float32],
) -> tuple[dict[str, Any], NDArray[np.float32]]:
    rng = random.Random(SEED + size)
    points = [_synthetic_point(i, rng, pool) for i in range(size)]
    passages = [p for point in points for p in passages_of(point)]
    result: dict[str, Any] = {"passages": len(passages), "entries": len(points)}

    if len(real) == 0:
        sample = [p.text for p in passages[:REAL_VECTORS_UP_TO]]
        t0 = time.perf_counter()
        real = model.encode_passages(sample)
        result["embed_passages_per_s"] = round(len(sample) / (time.perf_counter() - t0), 1)
    if len(passages) <= len(real):
        vectors = real[: len(passages)]
        result["vectors"] = "real model"
    else:
        vectors = _perturbed(real, len(passages), SEED + size)
        result["vectors"] = (
            f"real vectors of {len(real)} passages plus noise (the model is too slow for this size)"
        )
    rss_before = _rss_mb()

    t0 = time.perf_counter()
    token_lists = [tokens(p.text) for p in passages]
    tokenise_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    bm25 = Bm25Index.build(token_lists)
    bm25_s = time.perf_counter() - t0
    del token_lists
    result["bm25_build"] = {
        "tokenise_s": round(tokenise_s, 2),
        "index_s": round(bm25_s, 2),
        "passages_per_s": round(len(passages) / (tokenise_s + bm25_s), 1),
    }
    entry_of_row = np.arange(len(passages), dtype=np.int64)
    variants: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        for name in ("exact", "ann"):
            t0 = time.perf_counter()
            dense: ExactIndex | HnswIndex = (
                ExactIndex(vectors) if name == "exact" else HnswIndex.build(vectors)
            )
            build_s = time.perf_counter() - t0
            info: dict[str, Any] = {"vector_build_s": round(build_s, 2)}
            if isinstance(dense, HnswIndex):
                path = Path(tmp) / "hnsw.bin"
                dense.save(path)
                t0 = time.perf_counter()
                dense = HnswIndex.load(path, vectors)
                info["load_from_disk_s"] = round(time.perf_counter() - t0, 2)
                info["index_file_mb"] = round(path.stat().st_size / 2**20, 1)
                info["vector_passages_per_s"] = round(len(passages) / build_s, 1)
            index = SearchIndex(passages, entry_of_row, vectors, bm25, dense)
            kb = KnowledgeBase(list(points), index, fixed)
            info["search_ms"] = _query_latency(kb, questions)
            info["rss_mb_after_build"] = round(_rss_mb(), 1)
            variants[name] = info
            if isinstance(dense, HnswIndex):
                info["recall@10_vs_exact"] = _ann_recall(vectors, dense, fixed, questions)
                info["ef_sweep"] = _ef_sweep(vectors, dense, fixed, questions)
    result["variants"] = variants
    result["memory_mb"] = {
        "vectors": round(vectors.nbytes / 2**20, 1),
        "rss_growth_while_indexing": round(_rss_mb() - rss_before, 1),
    }
    return result, real


def _query_latency(kb: KnowledgeBase, questions: list[str]) -> dict[str, float]:
    for question in questions[:10]:
        kb.search(question, top_k=5, mode=Mode.HYBRID)
    latencies = []
    for i in range(QUERY_ROUNDS):
        question = questions[i % len(questions)]
        t0 = time.perf_counter()
        kb.search(question, top_k=5, mode=Mode.HYBRID)
        latencies.append((time.perf_counter() - t0) * 1000)
    return _latency(latencies)


def _ann_recall(
    vectors: NDArray[np.float32], ann: HnswIndex, fixed: QueryCache, questions: list[str]
) -> float:
    exact = ExactIndex(vectors)
    found = 0
    sample = questions[:100]
    for question in sample:
        q = fixed.encode_queries([question])[0]
        truth = set(exact.search(q, 10, None)[0].tolist())
        found += len(truth & set(ann.search(q, 10, None)[0].tolist()))
    return round(found / (10 * len(sample)), 4)


def _ef_sweep(
    vectors: NDArray[np.float32], ann: HnswIndex, fixed: QueryCache, questions: list[str]
) -> list[dict[str, Any]]:
    """Recall and vector-search latency at several search widths: the price of each."""
    queries = [fixed.encode_queries([q])[0] for q in questions[:100]]
    truth = [set(ExactIndex(vectors).search(q, 10, None)[0].tolist()) for q in queries]
    sweep = []
    for ef in EF_SWEEP:
        found, latencies = 0, []
        for query, exact in zip(queries, truth, strict=True):
            t0 = time.perf_counter()
            ids = ann.search(query, 10, None, ef=ef)[0]
            latencies.append((time.perf_counter() - t0) * 1000)
            found += len(exact & set(ids.tolist()))
        recall = round(found / (10 * len(queries)), 4)
        sweep.append({"ef": ef, "recall@10_vs_exact": recall, "ms": _latency(latencies)})
    return sweep


def _latency(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 2), "p99": round(p99, 2), "n": len(values)}


def _synthetic_point(i: int, rng: random.Random, pool: list[str]) -> KnowledgePoint:
    body = "".join(rng.sample(pool, k=rng.randint(2, 4)))[:380]
    return KnowledgePoint(id=f"bench-{i:06d}", title=rng.choice(pool)[:30], content=body)


def _perturbed(real: NDArray[np.float32], n: int, seed: int) -> NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    vectors = real[rng.integers(0, len(real), n)].copy()
    vectors += rng.standard_normal(vectors.shape).astype(np.float32) * 0.03
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def _questions() -> list[str]:
    rows = [json.loads(line) for line in _QUESTIONS.read_text(encoding="utf-8").splitlines()]
    return [r["question"] for r in rows]


def _sentences() -> list[str]:
    pool: list[str] = []
    for name, key in (("knowledge_points.jsonl", "content"), ("standards.jsonl", "scope")):
        for line in (_CORPUS / name).read_text(encoding="utf-8").splitlines():
            pool.extend(s for s in sentences(json.loads(line)[key]) if len(s) > 8)
    return pool


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def format_bench(report: dict[str, Any]) -> str:
    q = report["query_embedding_ms"]
    lines = [
        f"CPU 核数 {report['cpu_count']}，模型 {report['model']}；"
        f"问题向量化 p50 {q['p50']} ms / p99 {q['p99']} ms（未计入下表检索延迟）",
        f"{'passages':>9} {'index':<6} {'build s':>8} {'pass/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'RSS MB':>7}  vectors",
    ]
    for size in report["sizes"]:
        bm25 = size["bm25_build"]
        for name, v in size["variants"].items():
            build = bm25["tokenise_s"] + bm25["index_s"] + v["vector_build_s"]
            extra = ""
            if "recall@10_vs_exact" in v:
                extra = (
                    f"  ANN recall@10 {v['recall@10_vs_exact']}, "
                    f"load {v['load_from_disk_s']} s, file {v['index_file_mb']} MB"
                )
            lines.append(
                f"{size['passages']:>9} {name:<6} {build:>8.1f} "
                f"{size['passages'] / build:>9.0f} {v['search_ms']['p50']:>7} "
                f"{v['search_ms']['p99']:>7} {v['rss_mb_after_build']:>7}  {size['vectors']}{extra}"
            )
        if "embed_passages_per_s" in size:
            lines.append(f"{'':>9} model embeds {size['embed_passages_per_s']} passages/s")
    lines.append(json.dumps(report, ensure_ascii=False))
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    report = run_bench(Settings.from_env(), sizes)
    print(format_bench(report))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0
