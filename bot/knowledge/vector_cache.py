"""A cache of passage vectors shared by every store and process on the machine.

Embedding the starter corpus takes about a minute on two cores, and every fresh store (a
new deployment, a test run, each replica) would pay it again for the same texts. Vectors
depend only on the model and the text, so they are kept in one SQLite file keyed by both.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bot.knowledge.embedder import Embedder


class CachedEmbedder:
    """An :class:`Embedder` whose passage vectors are read from and written to a cache."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS passage_vector ("
                " model TEXT NOT NULL, digest TEXT NOT NULL, vector BLOB NOT NULL,"
                " PRIMARY KEY (model, digest))"
            )

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def encode_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        digests = [hashlib.sha256(text.encode()).hexdigest() for text in texts]
        found = self._read(digests)
        # One text repeated in a batch (the same clause in many entries) is embedded once.
        first = {digest: i for i, digest in reversed(list(enumerate(digests)))}
        missing = [i for digest, i in first.items() if digest not in found]
        if missing:
            vectors = self.inner.encode_passages([texts[i] for i in missing])
            fresh = {digests[i]: vectors[row] for row, i in enumerate(missing)}
            self._write(fresh)
            found.update(fresh)
        if not digests:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([found[digest] for digest in digests]).astype(np.float32)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def _read(self, digests: list[str]) -> dict[str, NDArray[np.float32]]:
        found: dict[str, NDArray[np.float32]] = {}
        with self._connect() as conn:
            for start in range(0, len(digests), 500):
                chunk = digests[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT digest, vector FROM passage_vector WHERE model = ? AND digest IN ({marks})",
                    (self.model_id, *chunk),
                )
                for digest, blob in rows:
                    found[digest] = np.frombuffer(blob, dtype=np.float32)
        return found

    def _write(self, vectors: dict[str, NDArray[np.float32]]) -> None:
        with self._connect() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO passage_vector (model, digest, vector) VALUES (?, ?, ?)",
                [
                    (self.model_id, digest, np.ascontiguousarray(v, dtype=np.float32).tobytes())
                    for digest, v in vectors.items()
                ],
            )
