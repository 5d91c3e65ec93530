"""The learned routing model: request-type group and department from labelled history.

The method is the one the cross-validation in ``compare`` chose (see the README's routing
section): character and jieba-word n-gram TF-IDF with logistic regression, averaged and
calibrated. The catalogue's score is fused in later, by the classifier, which already ranks
the catalogue for its explanation. The model also keeps the past cases it learned from, so
an agent can see the most similar ones next to a prediction.
"""

from __future__ import annotations

import json
import pickle
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bot.privacy import mask_personal_data
from bot.routing.catalogue import Catalogue
from bot.routing.departments import register_catalogue_words
from bot.routing.embedder import Embedder
from bot.routing.history import TrainingRow
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

SNIPPET_CHARS = 60
SIMILAR_CASES = 3
# Below this cosine similarity a past case says nothing an agent could check.
MIN_CASE_SIMILARITY = 0.15
FORMAT = 1


@dataclass(frozen=True)
class SimilarCase:
    """A past case close to the message: what the agent compares the prediction with."""

    snippet: str
    request_type: str | None
    department: str | None
    similarity: float
    department_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "snippet": self.snippet,
            "request_type": self.request_type,
            "department": self.department,
            "department_name": self.department_name,
            "similarity": round(self.similarity, 3),
        }


@dataclass(frozen=True)
class Prediction:
    type_groups: tuple[tuple[str, float], ...]
    departments: tuple[tuple[str, float], ...]
    cases: tuple[SimilarCase, ...]


class _Head:
    """Linear models on character and word n-grams, and with an ``embedder`` also e5 with a
    linear head and kNN over the past cases; their probabilities averaged."""

    def __init__(
        self, texts: Sequence[str], labels: Sequence[str], embedder: Embedder | None = None
    ) -> None:
        self.char = LinearLearner(char_vectorizer).fit(texts, labels)
        word = LinearLearner(word_vectorizer).fit(texts, labels)
        self.learners: list[Learner] = [self.char, word]
        self.classes = sorted(set(labels))
        for linear in (self.char, word):
            assert linear.vectorizer is not None
            linear.vectorizer.stop_words_ = None  # pruned terms: megabytes nobody reads
        if embedder is not None:
            # Trained on cached vectors; a prediction embeds its one message afresh.
            dense = EmbeddingLearner(embedder.cached).fit(texts, labels)
            neighbours = NeighbourLearner(embedder.cached).fit(texts, labels)
            dense.embed = neighbours.encode = embedder
            self.learners += [dense, neighbours]

    def predict(self, texts: Sequence[str]) -> Matrix:
        parts = [align(x.predict_proba(texts), x.classes, self.classes) for x in self.learners]
        return np.asarray(np.mean(parts, axis=0), dtype=np.float64)


@dataclass
class RoutingModel:
    type_head: _Head | None
    department_head: _Head | None
    case_texts: list[str]
    case_types: list[str | None]
    case_departments: list[str | None]
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def train(
        cls,
        rows: Sequence[TrainingRow],
        catalogue: Catalogue,
        embedder: Embedder | None = None,
        info: dict[str, Any] | None = None,
    ) -> RoutingModel:
        """Trains both heads; a head whose label has fewer than two classes is left out.

        The ``embedder`` (e5) serves the department only: it raised department top-1 by
        3.5 points in the comparison, the type by less than one, at seconds per message."""
        register_catalogue_words(catalogue)
        typed = [r for r in rows if r.type_group]
        routed = [r for r in rows if r.department]
        type_head = _head([r.text for r in typed], [str(r.type_group) for r in typed])
        department_head = _head(
            [r.text for r in routed], [str(r.department) for r in routed], embedder
        )
        cases = [r for r in rows if r.source != "catalogue"]
        counts = Counter(r.source.split(":")[0] for r in rows)
        details = {
            "format": FORMAT,
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rows": len(rows),
            "rows_by_source": dict(counts),
            "type_rows": len(typed),
            "department_rows": len(routed),
            "type_classes": type_head.classes if type_head else [],
            "departments": len(department_head.classes) if department_head else 0,
            "embedding_model": embedder.model if embedder else None,
            "history": sorted({r.source.split(":", 1)[1] for r in rows if ":" in r.source}),
            **(info or {}),
        }
        return cls(
            type_head=type_head,
            department_head=department_head,
            case_texts=[r.text for r in cases],
            case_types=[r.type_group for r in cases],
            case_departments=[r.department for r in cases],
            info=details,
        )

    @property
    def version(self) -> str:
        return str(self.info.get("version", "unsaved"))

    @property
    def learned_types(self) -> bool:
        """Whether history taught the type (not only our own handful of examples)."""
        return bool(self.info.get("rows_by_source", {}).get("history"))

    def predict(self, text: str, cases: int = SIMILAR_CASES) -> Prediction:
        types = _ranked(self.type_head, text)
        departments = _ranked(self.department_head, text)
        return Prediction(types, departments, self.similar_cases(text, cases))

    def similar_cases(self, text: str, count: int = SIMILAR_CASES) -> tuple[SimilarCase, ...]:
        """The nearest past cases in character n-grams (the features the model weighs most),
        those naming a handling unit first: they are what an agent checks a unit against."""
        head = self.department_head or self.type_head
        if head is None or not self.case_texts or count <= 0:
            return ()
        learner = head.char
        if not hasattr(self, "_case_matrix"):
            self._case_matrix = learner.transform(self.case_texts)
        similarity = (self._case_matrix @ learner.transform([text]).T).toarray().ravel()
        near = [
            i for i in np.argsort(-similarity)[: count * 10] if similarity[i] >= MIN_CASE_SIMILARITY
        ]
        near.sort(key=lambda i: self.case_departments[i] is None)  # stable: by similarity within
        return tuple(
            SimilarCase(
                snippet=snippet(self.case_texts[i]),
                request_type=self.case_types[i],
                department=self.case_departments[i],
                similarity=float(similarity[i]),
            )
            for i in near[:count]
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        state = dict(self.__dict__)
        state.pop("_case_matrix", None)
        staging = path.with_suffix(".tmp")
        with staging.open("wb") as handle:
            pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
        staging.replace(path)
        # The description beside it, readable without unpickling (live_model_info).
        path.with_suffix(".json").write_text(
            json.dumps(self.info, ensure_ascii=False, indent=2), encoding="utf-8"
        )

    @classmethod
    def load(cls, path: Path, catalogue: Catalogue) -> RoutingModel:
        """Loads a model this code wrote (a pickle: only ever from the project's own cache)."""
        register_catalogue_words(catalogue)  # word features need the vocabulary of training
        with path.open("rb") as handle:
            state = pickle.load(handle)
        if not isinstance(state, dict) or state.get("info", {}).get("format") != FORMAT:
            raise ValueError(f"{path} is not a routing model of this version")
        model = cls.__new__(cls)
        model.__dict__.update(state)
        return model


def snippet(text: str) -> str:
    """A short, masked excerpt of a past case: enough to recognise it, no personal data."""
    flat = " ".join(mask_personal_data(text).split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1] + "…"


def _head(texts: list[str], labels: list[str], embedder: Embedder | None = None) -> _Head | None:
    return _Head(texts, labels, embedder) if len(set(labels)) >= 2 else None


def _ranked(head: _Head | None, text: str) -> tuple[tuple[str, float], ...]:
    if head is None:
        return ()
    proba = head.predict([text])[0]
    order = np.argsort(-proba)
    return tuple((head.classes[i], float(proba[i])) for i in order)
