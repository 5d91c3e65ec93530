"""The text classifiers routing can learn, behind one small interface.

The comparison (``compare``) and the product model (``model``) build on the same learners, so
the figures in the README are the figures of the code that runs. Each learner maps texts to a
probability matrix over its ``classes``; the linear ones are calibrated by temperature scaling
on cross-validated predictions, because the dialogue acts on thresholds ("unsure" below a
floor) and uncalibrated logistic regression is under-confident on thousands of sparse features.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.routing.history import feature_text
from bot.routing.text import tokenizer

Matrix = npt.NDArray[np.float64]
Embed = Callable[[Sequence[str]], npt.NDArray[np.float32]]


class Learner(Protocol):
    classes: list[str]

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Learner: ...

    def predict_proba(self, texts: Sequence[str]) -> Matrix: ...


def jieba_words(text: str) -> list[str]:
    """Word n-gram analyzer input (module level so fitted vectorizers can be pickled)."""
    return [word for word in tokenizer().lcut(text) if word.strip()]


def char_vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char",
        ngram_range=(1, 3),
        min_df=2,
        sublinear_tf=True,
        max_features=200_000,
        preprocessor=feature_text,
    )


def word_vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="word",
        tokenizer=jieba_words,
        token_pattern=None,
        lowercase=False,
        preprocessor=feature_text,
        ngram_range=(1, 2),
        min_df=1,
        sublinear_tf=True,
    )


def _calibration_folds(labels: Sequence[str]) -> int:
    smallest = min(Counter(labels).values())
    return min(3, smallest)


class LinearLearner:
    """TF-IDF n-grams + multinomial logistic regression, temperature-calibrated."""

    def __init__(self, vectorizer: Callable[[], TfidfVectorizer], c: float = 10.0) -> None:
        self._make_vectorizer = vectorizer
        self.c = c
        self.classes: list[str] = []
        self.vectorizer: TfidfVectorizer | None = None
        self._model: Any = None

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> LinearLearner:
        self.vectorizer = self._make_vectorizer()
        features = self.vectorizer.fit_transform(texts)
        self._model = _calibrated(
            LogisticRegression(C=self.c, solver="saga", max_iter=3000), features, labels
        )
        self.classes = [str(label) for label in self._model.classes_]
        return self

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        assert self.vectorizer is not None, "fit first"
        return self.vectorizer.transform(texts)

    def predict_proba(self, texts: Sequence[str]) -> Matrix:
        return np.asarray(self._model.predict_proba(self.transform(texts)), dtype=np.float64)


class EmbeddingLearner:
    """Sentence embeddings (e5) + logistic regression: meaning beyond shared characters."""

    def __init__(self, embed: Embed, c: float = 10.0) -> None:
        self.embed = embed
        self.c = c
        self.classes: list[str] = []
        self._model: Any = None

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> EmbeddingLearner:
        vectors = self.embed(texts)
        self._model = _calibrated(LogisticRegression(C=self.c, max_iter=3000), vectors, labels)
        self.classes = [str(label) for label in self._model.classes_]
        return self

    def predict_proba(self, texts: Sequence[str]) -> Matrix:
        return np.asarray(self._model.predict_proba(self.embed(texts)), dtype=np.float64)


class NeighbourLearner:
    """k nearest past cases by cosine similarity, votes weighted by similarity.

    Also what the agents' explanation shows: the cases behind a prediction.
    """

    def __init__(self, encode: Callable[[Sequence[str]], Any], k: int = 15) -> None:
        self.encode = encode
        self.k = k
        self.classes: list[str] = []
        self._vectors: Any = None
        self._labels: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> NeighbourLearner:
        self.classes = sorted(set(labels))
        index = {label: i for i, label in enumerate(self.classes)}
        self._vectors = self.encode(texts)
        self._labels = np.array([index[label] for label in labels], dtype=np.int64)
        return self

    def predict_proba(self, texts: Sequence[str]) -> Matrix:
        similarity = _dense(self.encode(texts) @ self._vectors.T)
        k = min(self.k, similarity.shape[1])
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        out = np.full((similarity.shape[0], len(self.classes)), 1e-3)
        for row, columns in enumerate(nearest):
            for column in columns:
                out[row, self._labels[column]] += max(similarity[row, column], 0.0) ** 2
        return np.asarray(out / out.sum(axis=1, keepdims=True), dtype=np.float64)


def _dense(matrix: Any) -> Matrix:
    return np.asarray(matrix.toarray() if sparse.issparse(matrix) else matrix, dtype=np.float64)


def _calibrated(model: LogisticRegression, features: Any, labels: Sequence[str]) -> Any:
    folds = _calibration_folds(labels)
    if folds < 2 or len(set(labels)) < 2:
        return model.fit(features, labels)
    calibrated = CalibratedClassifierCV(model, method="temperature", cv=folds, ensemble=False)
    return calibrated.fit(features, labels)


def align(proba: Matrix, classes: Sequence[str], target: Sequence[str]) -> Matrix:
    """``proba`` with its columns reordered (and zero-filled) to the ``target`` class order."""
    out = np.zeros((proba.shape[0], len(target)))
    where = {label: i for i, label in enumerate(classes)}
    for column, label in enumerate(target):
        if label in where:
            out[:, column] = proba[:, where[label]]
    return out
