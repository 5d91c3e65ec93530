"""Scores of the product's routing on rows it never trained on.

``make eval-routing`` must not report training-set figures: the history the model learns from
is usually the only labelled data a centre has. So every history file is split into stratified
folds, a model is trained per fold on everything else (the other folds, the other files, the
catalogue and our own examples) and the whole classifier, catalogue fusion included, is scored
on the held-out fold. Files that are not part of the history are scored with the model trained
on all of it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sklearn.model_selection import StratifiedKFold

from bot.routing.catalogue import Catalogue, load_catalogue
from bot.routing.classifier import Classification, RequestClassifier
from bot.routing.embedder import Embedder, embedder_for
from bot.routing.evaluation import (
    LabelMapping,
    evaluate_departments,
    evaluate_types,
    message_text,
    read_jsonl,
)
from bot.routing.history import LABEL_MAPPING, Labels, TrainingRow, rows_of
from bot.routing.model import RoutingModel
from bot.routing.store import training_rows
from bot.settings import Settings

logger = logging.getLogger(__name__)

FOLDS = 5
SEED = 12345


class _Answers:
    """Classifications computed beforehand by the fold that held each text out."""

    def __init__(self) -> None:
        self.by_text: dict[str, Classification] = {}

    def classify(self, text: str) -> Classification:
        return self.by_text[text]


def _fold_of(raw: list[dict[str, Any]], labels: Labels) -> list[int]:
    """Stratified by the row's mapped label; rows without one are spread round-robin."""
    keys = []
    for row in raw:
        unit = labels.department(row.get("department"))
        keys.append(unit or labels.type_group(row.get("request_type")) or "-")
    counts = {key: keys.count(key) for key in set(keys)}
    strata = [key if counts[key] >= FOLDS else "rare" for key in keys]
    folds = [0] * len(raw)
    split = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for fold, (_, test) in enumerate(split.split(strata, strata)):
        for index in test:
            folds[index] = fold
    return folds


def _figures(answers: Any, rows: list[dict[str, Any]], mapping: LabelMapping) -> dict[str, Any]:
    fields = set().union(*(row.keys() for row in rows)) if rows else set()
    result: dict[str, Any] = {}
    if "request_type" in fields:
        result["request_type"] = evaluate_types(answers, rows, mapping)
    if "department" in fields:
        result["department"] = evaluate_departments(answers, rows, mapping)
    return result


def evaluate_history(
    settings: Settings, history: Sequence[Path], others: Sequence[Path] = ()
) -> dict[str, Any]:
    """Cross-validated figures per history file, held-out figures per other file."""
    catalogue = load_catalogue(settings.routing_catalogue)
    mapping = LabelMapping.load(LABEL_MAPPING)
    labels = Labels(mapping, catalogue)
    base = training_rows(settings, catalogue)
    embedder = embedder_for(settings)
    if embedder is not None:  # every text once, batched, before row-by-row classification
        embedder.cached(
            [
                message_text(r)
                for path in [*history, *others]
                for r in read_jsonl(path)
                if _has_text(r)
            ]
        )
    files = {path: [r for r in read_jsonl(path) if _has_text(r)] for path in history}
    folds = {path: _fold_of(rows, labels) for path, rows in files.items()}
    report: dict[str, Any] = {
        "cross_validated": [path.name for path in history],
        "folds": FOLDS,
        "held_out": [path.name for path in others],
        "files": {},
    }
    if files:
        answers = _Answers()
        for fold in range(FOLDS):
            logger.info("routing eval: fold %d/%d", fold + 1, FOLDS)
            train: list[TrainingRow] = list(base)
            held: list[dict[str, Any]] = []
            for path, rows in files.items():
                keep = [r for r, f in zip(rows, folds[path], strict=True) if f != fold]
                train.extend(rows_of(keep, labels, f"history:{path.name}"))
                held.extend(r for r, f in zip(rows, folds[path], strict=True) if f == fold)
            classifier = _classifier(train, catalogue, embedder)
            for row in held:
                text = message_text(row)
                answers.by_text[text] = classifier.classify(text)
        for path, rows in files.items():
            report["files"][path.name] = _figures(answers, rows, mapping)
    if others:
        train = list(base)
        for path, rows in files.items():
            train.extend(rows_of(rows, labels, f"history:{path.name}"))
        classifier = _classifier(train, catalogue, embedder)
        for path in others:
            rows = [r for r in read_jsonl(path) if _has_text(r)]
            report["files"][path.name] = _figures(classifier, rows, mapping)
    return report


def _classifier(
    rows: list[TrainingRow], catalogue: Catalogue, embedder: Embedder | None
) -> RequestClassifier:
    return RequestClassifier(catalogue, model=RoutingModel.train(rows, catalogue, embedder))


def _has_text(row: dict[str, Any]) -> bool:
    try:
        return bool(message_text(row).strip())
    except ValueError:
        return False
