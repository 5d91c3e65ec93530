"""`make eval-search`: retrieval quality on any JSONL of question/answer rows, and calibration.

Every distinct answer becomes a knowledge point in a fresh store (identical answers share
one entry, so a question is right when any row with its answer comes back); every question
is asked once per mode, and recall@1/5/10 and MRR@10 are reported for hybrid, BM25-only and
dense-only search from the same index.

``--calibrate`` fits the confidence model (see ``confidence``): it re-asks the questions
against an index holding only half of the answers, so that questions whose answer is
missing count as cases where the assistant must not answer, optionally adds labelled
questions about the starter corpus, and fits a logistic model on the top hit's features.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.knowledge.confidence import DEFAULT_CALIBRATION, Calibration
from bot.knowledge.embedder import Embedder
from bot.knowledge.engine import KnowledgeBase, embed_missing
from bot.knowledge.index import Mode
from bot.knowledge.ingest import seed
from bot.knowledge.models import Entry, KnowledgePoint
from bot.knowledge.store import KnowledgeStore

CUTOFFS = (1, 5, 10)
HELD_OUT_SEED = 0


@dataclass(frozen=True)
class Question:
    text: str
    expected: frozenset[str]


@dataclass(frozen=True)
class Features:
    cosine: float
    coverage: float
    margin: float
    correct: bool


class QueryCache:
    """An embedder that embeds every known question once, in batches, up front.

    Evaluation asks each question in several modes and several indexes; embedding them
    one at a time would dominate its run time.
    """

    def __init__(self, embedder: Embedder, questions: Iterable[str]) -> None:
        self._embedder = embedder
        unique = list(dict.fromkeys(questions))
        self._vectors: dict[str, NDArray[np.float32]] = {}
        for start in range(0, len(unique), 64):
            batch = unique[start : start + 64]
            self._vectors.update(zip(batch, embedder.encode_queries(batch), strict=True))

    @property
    def model_id(self) -> str:
        return self._embedder.model_id

    @property
    def dimension(self) -> int:
        return self._embedder.dimension

    def encode_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        missing = [t for t in texts if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self._embedder.encode_queries(missing), strict=True))
        return np.stack([self._vectors[t] for t in texts])

    def encode_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._embedder.encode_passages(texts)


def load_qa(path: Path) -> tuple[list[KnowledgePoint], list[Question]]:
    """Answers as knowledge points (deduplicated) and questions with their answer's id."""
    points: dict[str, KnowledgePoint] = {}
    questions: list[Question] = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        question, answer = str(row.get("question", "")).strip(), str(row.get("answer", "")).strip()
        if not question or not answer:
            raise ValueError(f"{path}:{line_no}: a row needs non-empty question and answer")
        point_id = "qa:" + hashlib.sha1(answer.encode("utf-8")).hexdigest()[:16]
        points.setdefault(point_id, KnowledgePoint(id=point_id, title="", content=answer))
        questions.append(Question(question, frozenset({point_id})))
    return list(points.values()), questions


def load_questions(path: Path) -> list[Question]:
    """Labelled questions about a corpus: ``expected`` lists acceptable entry ids (or none)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [Question(r["question"], frozenset(_entry_id(e) for e in r["expected"])) for r in rows]


def rank_of_answer(
    kb: KnowledgeBase, question: Question, mode: Mode, depth: int = 10
) -> int | None:
    hits = kb.search(question.text, top_k=depth, mode=mode).hits
    return next((i for i, h in enumerate(hits) if h.entry.id in question.expected), None)


def retrieval_metrics(ranks: Sequence[int | None]) -> dict[str, float]:
    n = max(1, len(ranks))
    result = {
        f"recall@{k}": round(sum(1 for r in ranks if r is not None and r < k) / n, 4)
        for k in CUTOFFS
    }
    mrr = sum(1 / (r + 1) for r in ranks if r is not None and r < 10) / n
    result["mrr@10"] = round(mrr, 4)
    return result


def evaluate(kb: KnowledgeBase, questions: Sequence[Question]) -> dict[str, dict[str, float]]:
    return {
        mode.value: retrieval_metrics([rank_of_answer(kb, q, mode) for q in questions])
        for mode in (Mode.HYBRID, Mode.BM25, Mode.DENSE)
    }


def features(kb: KnowledgeBase, questions: Iterable[Question]) -> list[Features]:
    """The confidence features of each question's top hit, labelled right or wrong."""
    found = []
    for question in questions:
        ranked = kb.rank_entries(question.text)
        if not ranked:
            found.append(Features(0.0, 0.0, 0.0, False))
            continue
        top = ranked[0]
        following = ranked[1].fused if len(ranked) > 1 else 0.0
        correct = kb.entries[top.entry].id in question.expected
        found.append(Features(top.cosine, top.coverage, top.fused - following, correct))
    return found


def fit_calibration(sources: Sequence[Sequence[Features]], threshold: float) -> Calibration:
    """Logistic regression (L2, gradient descent on standardised features).

    Each source weighs the same in total, so a large evaluation file does not drown the
    questions that look like the deployment (titled knowledge points, citizens' wording).
    """
    samples = [s for source in sources for s in source]
    weights = np.concatenate([np.full(len(src), 1 / len(src)) for src in sources if src])
    weights /= weights.sum()
    x = np.array([[s.cosine, s.coverage, s.margin] for s in samples], dtype=np.float64)
    y = np.array([1.0 if s.correct else 0.0 for s in samples])
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / std
    w = np.zeros(3)
    b = 0.0
    for _ in range(20_000):
        error = (1 / (1 + np.exp(-(z @ w + b))) - y) * weights
        w -= 0.5 * (z.T @ error + 1e-3 * w)
        b -= 0.5 * float(error.sum())
    raw = w / std
    bias = b - float(np.sum(w * mean / std))
    return Calibration(
        round(float(raw[0]), 2),
        round(float(raw[1]), 2),
        round(float(raw[2]), 2),
        round(bias, 2),
        threshold,
    )


def threshold_table(
    calibration: Calibration, samples: Sequence[Features], answerable: Sequence[bool]
) -> list[dict[str, float]]:
    """For each threshold: share answered, precision of what is answered, recall."""
    scores = np.array([calibration.confidence(s.cosine, s.coverage, s.margin) for s in samples])
    correct = np.array([s.correct for s in samples])
    can = np.array(answerable)
    table = []
    for t in (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8):
        answered = scores >= t
        table.append(
            {
                "threshold": t,
                "answered": round(float(answered.mean()), 3),
                "precision": round(float(correct[answered].mean()) if answered.any() else 1.0, 3),
                "recall": round(float((answered & correct).sum() / max(1, can.sum())), 3),
                "declined_unanswerable": round(
                    float((~answered[~can]).mean()) if (~can).any() else 1.0, 3
                ),
            }
        )
    return table


def auc(scores: NDArray[np.float64], labels: NDArray[np.bool_]) -> float:
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    pos = labels.sum()
    neg = len(labels) - pos
    if pos == 0 or neg == 0:
        return math.nan
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def run_eval(
    path: Path,
    embedder: Embedder,
    *,
    cache_dir: Path | None = None,
    calibrate: bool = False,
    questions_path: Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    points, questions = load_qa(path)
    extra = load_questions(questions_path) if calibrate and questions_path else []
    embedder = QueryCache(embedder, [q.text for q in questions + extra])
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        work = cache_dir or Path(tmp)
        kb = _index(points, work / "eval.db", embedder, progress)
        report: dict[str, Any] = {
            "eval_file": str(path),
            "questions": len(questions),
            "answers_indexed": len(points),
            "passages": kb.index.size,
            "model": embedder.model_id,
            "metrics": evaluate(kb, questions),
        }
        if calibrate:
            report["calibration"] = _calibrate(
                kb, questions, embedder, work, questions_path, progress
            )
    return report


def _calibrate(
    kb: KnowledgeBase,
    questions: list[Question],
    embedder: Embedder,
    work: Path,
    questions_path: Path | None,
    progress: bool,
) -> dict[str, Any]:
    half = _held_out_half(kb)
    samples = features(half, questions)
    answerable = [bool(q.expected & {e.id for e in half.entries}) for q in questions]
    sources = {"held_out_eval": (samples, answerable)}
    if questions_path is not None:
        store = KnowledgeStore(f"sqlite:///{work / 'starter.db'}")
        seed(store, embedder, progress=progress)
        starter = KnowledgeBase.open(store, embedder, cache_dir=None)
        labelled = load_questions(questions_path)
        sources["starter_questions"] = (
            features(starter, labelled),
            [bool(q.expected) for q in labelled],
        )
        store.close()
    all_samples = [s for feats, _ in sources.values() for s in feats]
    all_answerable = [a for _, ans in sources.values() for a in ans]
    fitted = fit_calibration([f for f, _ in sources.values()], DEFAULT_CALIBRATION.threshold)
    result: dict[str, Any] = {"fitted": fitted.__dict__, "current": DEFAULT_CALIBRATION.__dict__}
    for name, (feats, ans) in {**sources, "combined": (all_samples, all_answerable)}.items():
        scores = np.array([fitted.confidence(s.cosine, s.coverage, s.margin) for s in feats])
        labels = np.array([s.correct for s in feats])
        result[name] = {
            "samples": len(feats),
            "auc": round(auc(scores, labels), 3),
            "fitted": threshold_table(fitted, feats, ans),
            "current": threshold_table(DEFAULT_CALIBRATION, feats, ans),
        }
    return result


def _held_out_half(kb: KnowledgeBase) -> KnowledgeBase:
    """The same index with a random half of the entries, reusing their vectors."""
    rng = np.random.default_rng(HELD_OUT_SEED)
    keep_ids = {e.id for e in kb.entries if rng.random() < 0.5}
    entries: list[Entry] = [e for e in kb.entries if e.id in keep_ids]
    rows = [i for i, p in enumerate(kb.index.passages) if p.entry_id in keep_ids]
    return KnowledgeBase.from_rows(
        entries,
        [kb.index.passages[i] for i in rows],
        kb.index.vectors[rows],
        kb.embedder,
    )


def _index(
    points: list[KnowledgePoint], db: Path, embedder: Embedder, progress: bool
) -> KnowledgeBase:
    db.parent.mkdir(parents=True, exist_ok=True)
    store = KnowledgeStore(f"sqlite:///{db}")
    try:
        store.upsert(points, origin="eval")
        embed_missing(store, embedder, progress=progress)
        return KnowledgeBase.open(store, embedder, cache_dir=None)
    finally:
        store.close()


def _entry_id(expected: str) -> str:
    return expected if expected.startswith(("std:", "kp", "qa:", "doc:")) else f"std:{expected}"


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"评测文件 {report['eval_file']}：{report['questions']} 个问题，"
        f"{report['answers_indexed']} 条答案（{report['passages']} 段），模型 {report['model']}",
        f"{'mode':<8} {'R@1':>7} {'R@5':>7} {'R@10':>7} {'MRR@10':>7}",
    ]
    for mode, m in report["metrics"].items():
        lines.append(
            f"{mode:<8} {m['recall@1']:>7.3f} {m['recall@5']:>7.3f} "
            f"{m['recall@10']:>7.3f} {m['mrr@10']:>7.3f}"
        )
    calibration = report.get("calibration")
    if calibration:
        lines.append(f"fitted calibration: {calibration['fitted']}")
        for name, part in calibration.items():
            if not isinstance(part, dict) or "auc" not in part:
                continue
            lines.append(f"[{name}] samples={part['samples']} auc={part['auc']}")
            for label in ("fitted", "current"):
                for row in part[label]:
                    lines.append(f"  {label:<7} {row}")
    return "\n".join(lines)
