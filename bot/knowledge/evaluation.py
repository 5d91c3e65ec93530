"""`make eval-search`: retrieval quality on any JSONL of question/answer rows, and calibration.

Every distinct answer becomes a knowledge point in a fresh store (identical answers share
one entry, so a question is right when any row with its answer comes back); every question
is asked once per mode, and recall@1/5/10 and MRR@10 are reported for hybrid, BM25-only and
dense-only search from the same index.

``--calibrate`` fits the confidence model (see ``confidence``): it re-asks the questions
against an index holding only half of the answers, so that questions whose answer is
missing count as cases where the assistant must not answer, optionally adds labelled
questions about the starter corpus, and fits a logistic model on the top hit's score and
standing. For each threshold it prints the answer precision (confident answers that cite
the right entry) and the abstain precision (declined questions whose top hit was wrong or
whose answer is not in the base), for the fitted and for the current coefficients.
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
    """The top hit of one question: its confidence inputs, whether it was exact, and right."""

    score: float
    standing: float
    exact: bool
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


@dataclass(frozen=True)
class SkippedRow:
    line: int
    reason: str


def _jsonl(path: Path, skipped: list[SkippedRow]) -> Iterable[tuple[int, dict[str, Any]]]:
    """The file's JSON objects with their line numbers; a line that is not one is skipped
    and noted, so one bad row never costs the whole file."""
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            skipped.append(SkippedRow(line_no, "不是有效的 JSON"))
            continue
        if not isinstance(row, dict):
            skipped.append(SkippedRow(line_no, "不是 JSON 对象"))
            continue
        yield line_no, row


def load_qa(
    path: Path, skipped: list[SkippedRow] | None = None
) -> tuple[list[KnowledgePoint], list[Question]]:
    """Answers as knowledge points (deduplicated) and questions with their answer's id;
    rows without a question or an answer are skipped and added to ``skipped``."""
    notes = skipped if skipped is not None else []
    points: dict[str, KnowledgePoint] = {}
    questions: list[Question] = []
    for line_no, row in _jsonl(path, notes):
        question, answer = _field(row, "question"), _field(row, "answer")
        if not question or not answer:
            notes.append(SkippedRow(line_no, "问题或答案为空"))
            continue
        point_id = "qa:" + hashlib.sha1(answer.encode("utf-8")).hexdigest()[:16]
        points.setdefault(point_id, KnowledgePoint(id=point_id, title="", content=answer))
        questions.append(Question(question, frozenset({point_id})))
    return list(points.values()), questions


def load_questions(path: Path, skipped: list[SkippedRow] | None = None) -> list[Question]:
    """Labelled questions about a corpus: ``expected`` lists acceptable entry ids (or none);
    rows without a question or without an ``expected`` list are skipped and noted."""
    notes = skipped if skipped is not None else []
    questions: list[Question] = []
    for line_no, row in _jsonl(path, notes):
        question, expected = _field(row, "question"), row.get("expected")
        if not question or not isinstance(expected, list):
            notes.append(SkippedRow(line_no, "问题为空或缺少 expected 列表"))
            continue
        questions.append(Question(question, frozenset(_entry_id(str(e)) for e in expected)))
    return questions


def _field(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None or isinstance(value, dict | list) else str(value).strip()


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
    """What search returns first for each question (number and title matches included)."""
    found = []
    for question in questions:
        hits = kb.search(question.text, top_k=1).hits
        if not hits:
            found.append(Features(0.0, 0.0, False, False))
            continue
        top = hits[0]
        correct = top.entry.id in question.expected
        score, standing = top.scores.get("score", 0.0), top.scores.get("standing", 0.0)
        found.append(Features(score, standing, top.exact, correct))
    return found


def fit_calibration(sources: Sequence[Sequence[Features]], threshold: float) -> Calibration:
    """Logistic regression (gradient descent on standardised features, weights kept >= 0).

    Non-negative weights keep confidence monotone in rank. Exact hits are left out: their
    confidence is 1 whatever their score. Each source weighs the same in total, so a large
    evaluation file does not drown the questions that look like the deployment (titled
    knowledge points, citizens' wording).
    """
    kept = [[s for s in source if not s.exact] for source in sources]
    samples = [s for source in kept for s in source]
    weights = np.concatenate([np.full(len(src), 1 / len(src)) for src in kept if src])
    weights /= weights.sum()
    x = np.array([[s.score, s.standing] for s in samples], dtype=np.float64)
    y = np.array([1.0 if s.correct else 0.0 for s in samples])
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / std
    w = np.zeros(2)
    b = 0.0
    for _ in range(20_000):
        error = (1 / (1 + np.exp(-(z @ w + b))) - y) * weights
        w = np.maximum(0.0, w - 0.5 * (z.T @ error + 1e-3 * w))
        b -= 0.5 * float(error.sum())
    raw = w / std
    bias = b - float(np.sum(w * mean / std))
    return Calibration(round(float(raw[0]), 2), round(float(raw[1]), 2), round(bias, 2), threshold)


def confidences(calibration: Calibration, samples: Sequence[Features]) -> NDArray[np.float64]:
    return np.array(
        [1.0 if s.exact else calibration.confidence(s.score, s.standing) for s in samples]
    )


def threshold_table(
    calibration: Calibration, samples: Sequence[Features], answerable: Sequence[bool]
) -> list[dict[str, float]]:
    """For each threshold: share answered, answer and abstain precision, recall.

    An abstention is right when answering would have been wrong: the top hit is not the
    answer, or the answer is not in the base at all (``declined_unanswerable`` is the share
    of those out-of-base questions that were declined).
    """
    scores = confidences(calibration, samples)
    correct = np.array([s.correct for s in samples])
    can = np.array(answerable)
    table = []
    for t in (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8):
        answered = scores >= t
        table.append(
            {
                "threshold": t,
                "answered": round(float(answered.mean()), 3),
                "precision": _share(correct[answered]),
                "abstain_precision": _share(~correct[~answered]),
                "recall": round(float((answered & correct).sum() / max(1, can.sum())), 3),
                "declined_unanswerable": _share(~answered[~can]),
            }
        )
    return table


def _share(flags: NDArray[np.bool_]) -> float:
    """The share of true flags; 1.0 for none (nothing done, nothing done wrong)."""
    return round(float(flags.mean()), 3) if len(flags) else 1.0


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
    skipped: list[SkippedRow] = []
    points, questions = load_qa(path, skipped)
    extra = load_questions(questions_path) if calibrate and questions_path else []
    embedder = QueryCache(embedder, [q.text for q in questions + extra])
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        work = cache_dir or Path(tmp)
        kb = _index(points, work / "eval.db", embedder, progress)
        report: dict[str, Any] = {
            "eval_file": str(path),
            "questions": len(questions),
            "skipped_rows": [{"line": row.line, "reason": row.reason} for row in skipped],
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
        scores = confidences(fitted, feats)
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


def _skipped_lines(skipped: list[dict[str, Any]]) -> list[str]:
    if not skipped:
        return []
    lines = [f"跳过 {len(skipped)} 行："]
    return lines + [f"  第{row['line']}行：{row['reason']}" for row in skipped]


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"评测文件 {report['eval_file']}：{report['questions']} 个问题，"
        f"{report['answers_indexed']} 条答案（{report['passages']} 段），模型 {report['model']}",
        *_skipped_lines(report["skipped_rows"]),
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
