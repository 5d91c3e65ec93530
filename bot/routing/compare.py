"""``python -m bot routing compare``: which routing method, chosen by cross-validation.

Every candidate is scored with the same stratified 5-fold split of the labelled files:
request-type macro-F1 on the citizen messages and department top-1/top-3 on the Q&A rows
(mapped through data/routing/label_mapping.yml, so a Beijing 交通委 counts right for any of the
Jinan units it covers). The catalogue rules need no training and are scored on every row.
Sentence embeddings are cached on disk by text (``embedder``), so a second run costs minutes,
not the quarter of an hour the first embedding of the development files takes.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from bot.routing.catalogue import Catalogue
from bot.routing.departments import DepartmentRouter
from bot.routing.embedder import Embedder
from bot.routing.evaluation import LabelMapping, read_jsonl
from bot.routing.history import Labels, TrainingRow, catalogue_rows, rows_of
from bot.routing.learners import (
    EmbeddingLearner,
    Learner,
    LinearLearner,
    Matrix,
    NeighbourLearner,
    align,
    char_vectorizer,
    word_vectorizer,
)
from bot.routing.request_type import classify_request_type
from bot.settings import Settings

logger = logging.getLogger(__name__)

FOLDS = 5
SEED = 12345
# Fusion weights are a short fixed list, not tuned per fold: the learned models share the vote
# equally and the catalogue (or the cue rules, for the type) adds its own share.
FUSION_CATALOGUE_WEIGHTS = (0.25, 0.5)


@dataclass(frozen=True)
class Task:
    name: str
    rows: list[TrainingRow]
    labels: list[str]
    gold: list[frozenset[str]]


def _type_task(path: Path, labels: Labels) -> Task:
    rows = [r for r in rows_of(read_jsonl(path), labels, path.name) if r.type_group]
    names = [str(r.type_group) for r in rows]
    return Task("type", rows, names, [frozenset({n}) for n in names])


def _department_task(path: Path, labels: Labels) -> Task:
    rows: list[TrainingRow] = []
    gold: list[frozenset[str]] = []
    for raw in read_jsonl(path):
        units = labels.gold_departments(raw.get("department"))
        row = next(rows_of([raw], labels, path.name), None)
        if row is None or row.department is None or not units:
            continue
        rows.append(row)
        gold.append(units)
    return Task("department", rows, [str(r.department) for r in rows], gold)


def _rules_proba(task: Task, catalogue: Catalogue, labels: Labels, classes: list[str]) -> Matrix:
    """The hand-written rules as probabilities over the task's classes."""
    out = np.zeros((len(task.rows), len(classes)))
    column = {label: i for i, label in enumerate(classes)}
    router = DepartmentRouter(catalogue) if task.name == "department" else None
    for i, row in enumerate(task.rows):
        if router is None:
            for kind, share in classify_request_type(row.text).shares:
                group = labels.type_group(kind)
                if group in column:
                    out[i, column[group]] += share
        else:
            for score in router.rank(row.text):
                if score.department.id in column:
                    out[i, column[score.department.id]] += score.confidence
        remainder = max(1.0 - out[i].sum(), 0.0)
        out[i] += remainder / len(classes)
    return out


def _candidates(embed: Callable[[Sequence[str]], Any] | None) -> dict[str, Callable[[], Learner]]:
    found: dict[str, Callable[[], Learner]] = {
        "char n-gram TF-IDF + LR": lambda: LinearLearner(char_vectorizer),
        "word (jieba) n-gram TF-IDF + LR": lambda: LinearLearner(word_vectorizer),
    }
    if embed is not None:
        found["e5 embeddings + LR"] = lambda: EmbeddingLearner(embed)
        found["kNN over past cases (e5, k=15)"] = lambda: NeighbourLearner(embed)
    return found


def _scores(task: Task, proba: Matrix, classes: list[str]) -> dict[str, float]:
    order = np.argsort(-proba, axis=1)
    if task.name == "department":
        top1 = [classes[o[0]] in g for o, g in zip(order, task.gold, strict=True)]
        top3 = [
            bool(g & {classes[c] for c in o[:3]}) for o, g in zip(order, task.gold, strict=True)
        ]
        return {"top1": round(float(np.mean(top1)), 4), "top3": round(float(np.mean(top3)), 4)}
    predicted = [classes[o[0]] for o in order]
    f1s = []
    for label in classes:
        tp = sum(p == label and g == label for p, g in zip(predicted, task.labels, strict=True))
        fp = sum(p == label and g != label for p, g in zip(predicted, task.labels, strict=True))
        fn = sum(p != label and g == label for p, g in zip(predicted, task.labels, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    accuracy = np.mean([p == g for p, g in zip(predicted, task.labels, strict=True)])
    return {"macro_f1": round(float(np.mean(f1s)), 4), "accuracy": round(float(accuracy), 4)}


def _ece(proba: Matrix, task: Task, classes: list[str], bins: int = 10) -> float:
    """Expected calibration error of the top prediction: is 0.8 confidence right 80 % of the time?"""
    confidence = proba.max(axis=1)
    right = np.array(
        [classes[int(i)] in g for i, g in zip(proba.argmax(axis=1), task.gold, strict=True)]
    )
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in itertools.pairwise(edges):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            total += inside.mean() * abs(right[inside].mean() - confidence[inside].mean())
    return round(float(total), 4)


def fuse(learned: Matrix, catalogue: Matrix, weight: float, kind: str) -> Matrix:
    """Linear: a weighted mean. Geometric: a weighted product (renormalised), where two experts
    agreeing count for more and a diffuse one defers to a confident one."""
    if kind == "linear":
        return (1 - weight) * learned + weight * catalogue
    logs = (1 - weight) * np.log(np.clip(learned, 1e-6, 1.0))
    logs += weight * np.log(np.clip(catalogue, 1e-6, 1.0))
    logs -= logs.max(axis=1, keepdims=True)
    product = np.exp(logs)
    return np.asarray(product / product.sum(axis=1, keepdims=True), dtype=np.float64)


def sharpness(proba: Matrix, task: Task, classes: list[str]) -> float:
    """The exponent ``a`` for which ``p**a`` (renormalised) best fits the gold labels.

    Averaging calibrated models with the catalogue flattens the result; this refits the
    temperature of the fused output on the out-of-fold predictions (``a = 1/T``).
    """
    from scipy.optimize import minimize_scalar

    column = {label: i for i, label in enumerate(classes)}
    gold = np.array([column[label] for label in task.labels])
    logp = np.log(np.clip(proba, 1e-9, 1.0))

    def loss(a: float) -> float:
        scaled = a * logp
        scaled -= scaled.max(axis=1, keepdims=True)
        norm = np.log(np.exp(scaled).sum(axis=1))
        return float(-(scaled[np.arange(len(gold)), gold] - norm).mean())

    return round(float(minimize_scalar(loss, bounds=(0.3, 10.0), method="bounded").x), 2)


def sharpen(proba: Matrix, a: float) -> Matrix:
    scaled = np.power(np.clip(proba, 1e-12, 1.0), a)
    return np.asarray(scaled / scaled.sum(axis=1, keepdims=True), dtype=np.float64)


def cross_validate(
    task: Task,
    catalogue: Catalogue,
    labels: Labels,
    embed: Callable[[Sequence[str]], Any] | None,
) -> dict[str, dict[str, float]]:
    """Out-of-fold probabilities of every candidate, then the table rows of this task."""
    classes = sorted(set(task.labels))
    extra = catalogue_rows(catalogue) if task.name == "department" else []
    classes = sorted(set(classes) | {str(r.department) for r in extra})
    learners = _candidates(embed)
    oof = {name: np.zeros((len(task.rows), len(classes))) for name in learners}
    oof_plus = {name: np.zeros((len(task.rows), len(classes))) for name in learners}
    texts = [row.text for row in task.rows]
    split = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for fold, (train, test) in enumerate(split.split(texts, task.labels)):
        logger.info("%s fold %d/%d", task.name, fold + 1, FOLDS)
        train_texts = [texts[i] for i in train]
        train_labels = [task.labels[i] for i in train]
        test_texts = [texts[i] for i in test]
        for name, make in learners.items():
            learner = make().fit(train_texts, train_labels)
            oof[name][test] = align(learner.predict_proba(test_texts), learner.classes, classes)
            if extra:
                learner = make().fit(
                    train_texts + [r.text for r in extra],
                    train_labels + [str(r.department) for r in extra],
                )
                oof_plus[name][test] = align(
                    learner.predict_proba(test_texts), learner.classes, classes
                )
    rules = _rules_proba(task, catalogue, labels, classes)
    table: dict[str, dict[str, float]] = {
        "hand-written rules (catalogue, cues)": _scores(task, rules, classes)
    }
    for name in learners:
        table[name] = {**_scores(task, oof[name], classes), "ece": _ece(oof[name], task, classes)}
        if extra:
            table[f"{name}, + catalogue matters"] = {
                **_scores(task, oof_plus[name], classes),
                "ece": _ece(oof_plus[name], task, classes),
            }
    pool = oof_plus if extra else oof
    linear = [pool[name] for name in learners if "TF-IDF" in name]
    everything = [pool[name] for name in learners]
    for label, parts in (("fusion: char + word", linear), ("fusion: all learned", everything)):
        mean = np.mean(parts, axis=0)
        table[label] = {**_scores(task, mean, classes), "ece": _ece(mean, task, classes)}
        for weight, kind in [(w, "linear") for w in FUSION_CATALOGUE_WEIGHTS] + [
            (0.5, "geometric")
        ]:
            fused = fuse(mean, rules, weight, kind)
            a = sharpness(fused, task, classes)
            table[f"{label} + catalogue score, {kind} ×{weight}"] = {
                **_scores(task, fused, classes),
                "ece": _ece(fused, task, classes),
                "sharpness": a,
                "ece_sharpened": _ece(sharpen(fused, a), task, classes),
            }
    return table


def compare(
    type_file: Path | None,
    department_file: Path | None,
    catalogue: Catalogue,
    mapping: LabelMapping,
    settings: Settings,
    embeddings: bool = True,
) -> dict[str, Any]:
    labels = Labels(mapping, catalogue)
    tasks = []
    if type_file is not None:
        tasks.append(_type_task(type_file, labels))
    if department_file is not None:
        tasks.append(_department_task(department_file, labels))
    embed: Callable[[Sequence[str]], Any] | None = None
    if embeddings:
        embedder = Embedder(settings)
        texts = [r.text for task in tasks for r in task.rows]
        embedder.cached(texts + [r.text for r in catalogue_rows(catalogue)])  # embed once
        embed = embedder.cached
    report: dict[str, Any] = {"folds": FOLDS, "seed": SEED, "tasks": {}}
    for task in tasks:
        started = time.perf_counter()
        report["tasks"][task.name] = {
            "rows": len(task.rows),
            "methods": cross_validate(task, catalogue, labels, embed),
            "seconds": round(time.perf_counter() - started, 1),
        }
    return report


def markdown_table(report: dict[str, Any]) -> str:
    """One row per method: type macro-F1 and accuracy, department top-1 and top-3."""
    tasks = report["tasks"]
    names: list[str] = []
    for task in tasks.values():
        names.extend(name for name in task["methods"] if name not in names)
    lines = [
        "| method | type macro-F1 | type accuracy | type ECE | dept top-1 | dept top-3 | dept ECE |",
        "|---|---|---|---|---|---|---|",
    ]

    def cell(task: str, name: str, key: str) -> str:
        value = tasks.get(task, {}).get("methods", {}).get(name, {}).get(key)
        return f"{value:.3f}" if isinstance(value, float) else "–"

    for name in names:
        lines.append(
            f"| {name} | {cell('type', name, 'macro_f1')} | {cell('type', name, 'accuracy')} "
            f"| {cell('type', name, 'ece')} | {cell('department', name, 'top1')} "
            f"| {cell('department', name, 'top3')} | {cell('department', name, 'ece')} |"
        )
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown_table(report), encoding="utf-8")
    out.with_suffix(".json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
