"""The in-memory search index: BM25 and dense vectors over the same passages, fused.

Fusion adds to each passage's cosine similarity a lexical part and a coverage part:
``cosine + LEXICAL_WEIGHT · (bm25 / best bm25) · coverage + COVERAGE_WEIGHT · coverage``,
where *coverage* is the share of the query's IDF weight that the passage contains. The
product with coverage is the guard for queries that share no words with their answer: a
passage that matches only an incidental word of the question gets almost no lexical
credit, so it cannot push the semantically right answer down, and a query none of whose
words occur anywhere is ranked by the dense model alone.

The score is absolute (the raw cosine, not one rescaled over the candidates), so the same
number ranks the hits and, through the calibration in ``confidence``, says how sure search
is: a lower hit can never be more likely right than a higher one. The two weights were
chosen by 5-fold cross-validation on gov_qa_dev (bot/knowledge/README.md); every fold
picked 0.02–0.03 and 0.03–0.05, so they are not a fit to one split.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from bot.knowledge.lexical import Bm25Index, TokenIds, token_ids
from bot.knowledge.models import Passage
from bot.knowledge.text import tokens
from bot.knowledge.vectors import ExactIndex, HnswIndex, VectorIndex

logger = logging.getLogger(__name__)

LEXICAL_WEIGHT = 0.02
COVERAGE_WEIGHT = 0.05
CANDIDATES = 50


class Mode(StrEnum):
    HYBRID = "hybrid"
    BM25 = "bm25"
    DENSE = "dense"


@dataclass(frozen=True)
class Ranked:
    """One entry's best passage for a query, with the evidence behind its rank.

    ``fused`` orders the results of the mode asked for; ``score`` is the hybrid score in
    every mode, the one confidence is calibrated on (the two are equal in hybrid mode), and
    ``standing`` is that score standardised over all the query's candidate passages: how
    far the hit stands out from what the question vaguely resembles. Both rise together
    within one query, so neither lets a lower hit look surer than a higher one.
    """

    entry: int
    row: int
    fused: float
    cosine: float
    bm25: float
    coverage: float
    score: float
    standing: float


class Evidence(NamedTuple):
    """Per-candidate arrays, aligned with the candidate rows."""

    score: NDArray[np.float64]
    standing: NDArray[np.float64]
    cosine: NDArray[np.float32]
    bm25: NDArray[np.floating]
    coverage: NDArray[np.float64]


class SearchIndex:
    def __init__(
        self,
        passages: list[Passage],
        entry_of_row: NDArray[np.int64],
        vectors: NDArray[np.float32],
        bm25: Bm25Index,
        dense: VectorIndex,
    ) -> None:
        self.passages = passages
        self.entry_of_row = entry_of_row
        self.vectors = vectors
        self.bm25 = bm25
        self.dense = dense

    @property
    def size(self) -> int:
        return len(self.passages)

    @classmethod
    def build(
        cls,
        passages: list[Passage],
        entry_of_row: NDArray[np.int64],
        vectors: NDArray[np.float32],
        *,
        ann_threshold: int,
        cache_dir: Path | None = None,
        progress: bool = False,
        previous: SearchIndex | None = None,
    ) -> SearchIndex:
        """Builds (or loads from ``cache_dir``, keyed by the corpus fingerprint) both indexes;
        passages whose text ``previous`` already tokenised are not tokenised again."""
        fingerprint = corpus_fingerprint(passages, vectors.shape[1])
        bm25 = _load_or_build_bm25(passages, fingerprint, cache_dir, progress, previous)
        dense: VectorIndex
        if len(passages) < ann_threshold:
            dense = ExactIndex(vectors)
        else:
            dense = _load_or_build_hnsw(vectors, fingerprint, cache_dir)
        return cls(passages, entry_of_row, vectors, bm25, dense)

    def rank(
        self,
        query: str,
        query_vector: NDArray[np.float32] | None,
        mode: Mode,
        allowed: NDArray[np.bool_] | None = None,
        limit: int = 10,
    ) -> list[Ranked]:
        if self.size == 0:
            return []
        query_tokens = tokens(query)
        bm25 = self.bm25.scores(query_tokens) if mode is not Mode.DENSE else None
        rows: set[int] = set()
        if bm25 is not None:
            lexical = bm25 if allowed is None else np.where(allowed, bm25, 0.0)
            rows.update(int(r) for r in _top_rows(lexical, CANDIDATES))
        if query_vector is not None and mode is not Mode.BM25:
            ids, _ = self.dense.search(query_vector, CANDIDATES, allowed)
            rows.update(int(r) for r in ids)
        if not rows:
            return []
        candidates = np.fromiter(sorted(rows), dtype=np.int64)
        cosine = (
            (self.vectors[candidates] @ query_vector).astype(np.float32)
            if query_vector is not None
            else np.zeros(len(candidates), dtype=np.float32)
        )
        lexical_scores = bm25[candidates] if bm25 is not None else np.zeros(len(candidates))
        coverage = self._coverage(query_tokens, candidates)
        score = fuse(cosine, lexical_scores, coverage)
        standing = (score - score.mean()) / (score.std() + 1e-9)
        if mode is Mode.BM25:
            fused = lexical_scores.astype(np.float64)
        elif mode is Mode.DENSE:
            fused = cosine.astype(np.float64)
        else:
            fused = score
        evidence = Evidence(score, standing, cosine, lexical_scores, coverage)
        return self._by_entry(candidates, fused, evidence, limit)

    def _coverage(
        self, query_tokens: Sequence[str], rows: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """Share of the query's IDF mass present in each row (unknown words count as missing)."""
        unique = list(dict.fromkeys(query_tokens))
        if not unique:
            return np.zeros(len(rows))
        n = max(1, self.size)
        total = 0.0
        covered = np.zeros(len(rows))
        for token in unique:
            df = len(self.bm25.postings(token))
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            total += idf
            if df:
                covered += idf * self.bm25.contains(token, rows)
        return covered / total if total else covered

    def _by_entry(
        self,
        rows: NDArray[np.int64],
        fused: NDArray[np.float64],
        evidence: Evidence,
        limit: int,
    ) -> list[Ranked]:
        score, standing, cosine, bm25, coverage = evidence
        best: dict[int, Ranked] = {}
        for i in np.argsort(-fused, kind="stable"):
            row = int(rows[i])
            entry = int(self.entry_of_row[row])
            if entry in best:
                known = best[entry]
                best[entry] = Ranked(
                    entry,
                    known.row,
                    known.fused,
                    max(known.cosine, float(cosine[i])),
                    max(known.bm25, float(bm25[i])),
                    max(known.coverage, float(coverage[i])),
                    known.score,
                    known.standing,
                )
                continue
            best[entry] = Ranked(
                entry,
                row,
                float(fused[i]),
                float(cosine[i]),
                float(bm25[i]),
                float(coverage[i]),
                float(score[i]),
                float(standing[i]),
            )
        ranked = sorted(best.values(), key=lambda r: -r.fused)
        return ranked[:limit]


def fuse(
    cosine: NDArray[np.float32], bm25: NDArray[np.floating], coverage: NDArray[np.float64]
) -> NDArray[np.float64]:
    top = float(bm25.max()) if len(bm25) else 0.0
    lexical = (bm25 / top) * coverage if top > 0 else np.zeros(len(bm25))
    return cosine.astype(np.float64) + LEXICAL_WEIGHT * lexical + COVERAGE_WEIGHT * coverage


def _top_rows(scores: NDArray[np.floating], k: int) -> NDArray[np.int64]:
    """The ``k`` best rows with a positive score, best first: a partial sort among the rows
    that share a word with the query, not over the whole corpus (100k rows)."""
    rows = np.flatnonzero(scores > 0)
    if len(rows) > k:
        rows = rows[np.argpartition(-scores[rows], k - 1)[:k]]
    return rows[np.argsort(-scores[rows], kind="stable")].astype(np.int64)


def corpus_fingerprint(passages: Sequence[Passage], dimension: int) -> str:
    digest = hashlib.sha256(f"v1|{dimension}|".encode())
    for passage in passages:
        digest.update(f"{passage.id}\t{passage.text_hash}\n".encode())
    return digest.hexdigest()[:20]


def _load_or_build_bm25(
    passages: list[Passage],
    fingerprint: str,
    cache_dir: Path | None,
    progress: bool,
    previous: SearchIndex | None,
) -> Bm25Index:
    folder = cache_dir / f"bm25-{fingerprint}" if cache_dir else None
    if folder and (folder / "params.index.json").exists():
        try:
            return Bm25Index.load(folder, len(passages))
        except (OSError, ValueError) as exc:
            logger.warning("rebuilding the BM25 index, the saved one is unreadable: %s", exc)
    known: Mapping[str, TokenIds] = {}
    vocab = {"": 0}
    if previous is not None:
        known, vocab = previous.bm25.reusable([p.text_hash for p in previous.passages])
    doc_ids = []
    for passage in tqdm(passages, desc="分词", unit="段", disable=not progress):
        ids = known.get(passage.text_hash)
        doc_ids.append(ids if ids is not None else token_ids(tokens(passage.text), vocab))
    index = Bm25Index.from_ids(doc_ids, vocab)
    if folder and cache_dir:
        _replace_cached(cache_dir, "bm25-", folder, index.save)
    return index


def _load_or_build_hnsw(
    vectors: NDArray[np.float32], fingerprint: str, cache_dir: Path | None
) -> HnswIndex:
    path = cache_dir / f"hnsw-{fingerprint}.bin" if cache_dir else None
    if path and path.exists():
        try:
            return HnswIndex.load(path, vectors)
        except RuntimeError as exc:
            logger.warning("rebuilding the ANN index, the saved one is unreadable: %s", exc)
    index = HnswIndex.build(vectors)
    if path and cache_dir:
        cache_dir.mkdir(parents=True, exist_ok=True)
        index.save(path)
        for old in cache_dir.glob("hnsw-*.bin"):
            if old != path:
                old.unlink(missing_ok=True)
    return index


def _replace_cached(
    cache_dir: Path, prefix: str, folder: Path, save: Callable[[Path], None]
) -> None:
    """Writes a cache folder atomically and removes those of older corpora."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(partial, ignore_errors=True)
    save(partial)
    shutil.rmtree(folder, ignore_errors=True)
    try:
        partial.rename(folder)
    except OSError:  # another process saved the same corpus first
        shutil.rmtree(partial, ignore_errors=True)
    for old in cache_dir.glob(f"{prefix}*"):
        if old != folder and old.is_dir() and not old.name.endswith(".tmp"):
            shutil.rmtree(old, ignore_errors=True)
