"""Sentence embeddings (e5) for routing, cached on disk by text.

Embedding a centre's history costs minutes on two cores (the development files: 13 minutes
while Rasa trained beside it), and most of it is the same text at every retraining, so each
text's vector is kept under the cache folder by a digest of the model name and the text.
The object pickles without the loaded model: a saved routing model names its embedding model
and loads it (shared with knowledge search, ``bot.embedding.model``) on first use.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.routing.history import feature_text
from bot.settings import DEFAULT_EMBEDDING_MODEL, Settings

Vectors = npt.NDArray[np.float32]
# Messages are cut here: the matter is stated early, and e5's cost grows with length.
MAX_CHARS = 400
# Messages whose vectors a serving process keeps: one routing prediction asks for the same
# message's vector four times (the dense and the neighbour learner of the type head and of
# the department head), and a complaint's intake asks again at later steps. Encoding is
# most of an action server's CPU (py-spy under `make loadtest`).
RECENT_MESSAGES = 64


def embedder_for(settings: Settings) -> Embedder | None:
    """The embedder, unless ``EMBEDDING_MODEL`` names a folder that does not exist: routing
    then learns from n-grams alone rather than fail (the default folder is built on use)."""
    name = settings.embedding_model
    path = Path(name).expanduser()
    local = name.startswith(("/", ".", "~")) or path.exists()
    if local and not path.exists() and path != DEFAULT_EMBEDDING_MODEL:
        return None
    return Embedder(settings)


def _key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()[:24]


class Embedder:
    def __init__(self, settings: Settings) -> None:
        self.model = settings.embedding_model
        self.threads = settings.embedding_threads
        self.cache = settings.model_cache_dir.parent / "routing-embeddings"

    def __getstate__(self) -> dict[str, Any]:
        return {"model": self.model, "threads": self.threads, "cache": self.cache}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __call__(self, texts: Sequence[str]) -> Vectors:
        """Vectors for a prediction: not written to disk (a message is seldom seen again
        later), but taken from memory when this process has read the cache (evaluation, see
        ``cached``) or encoded the message moments ago (``RECENT_MESSAGES``)."""
        clean = [feature_text(t)[:MAX_CHARS] for t in texts]
        memory = self.__dict__.get("_memory")
        if memory is not None:
            keys = [_key(self.model, t) for t in clean]
            if keys and all(k in memory for k in keys):
                return np.stack([memory[k] for k in keys])
        if len(clean) != 1:
            return self._encode(clean)
        return self._recent(clean[0]).reshape(1, -1)

    def _recent(self, text: str) -> Vectors:
        # Created on first use: the object also travels pickled, without them.
        lock: threading.Lock = self.__dict__.setdefault("_recent_lock", threading.Lock())
        recent: OrderedDict[str, Vectors] = self.__dict__.setdefault(
            "_recent_vectors", OrderedDict()
        )
        with lock:
            known = recent.get(text)
            if known is not None:
                recent.move_to_end(text)
                return known
        vector: Vectors = self._encode([text])[0]
        with lock:
            recent[text] = vector
            while len(recent) > RECENT_MESSAGES:
                recent.popitem(last=False)
        return vector

    def cached(self, texts: Sequence[str]) -> Vectors:
        """Vectors for training or evaluation, read from and added to the disk cache."""
        clean = [feature_text(t)[:MAX_CHARS] for t in texts]
        keys = [_key(self.model, t) for t in clean]
        known: dict[str, Vectors] = self.__dict__.get("_memory") or self._load()
        missing = sorted({t for t, k in zip(clean, keys, strict=True) if k not in known})
        if missing:
            for text, vector in zip(missing, self._encode(missing), strict=True):
                known[_key(self.model, text)] = vector
            self._save(known)
        self._memory = known
        return np.stack([known[k] for k in keys]) if keys else self._encode([])

    def _encode(self, texts: list[str]) -> Vectors:
        from bot.embedding.model import encode_queries

        settings = Settings(embedding_model=self.model, embedding_threads=self.threads)
        return encode_queries(texts, settings)

    def _load(self) -> dict[str, Vectors]:
        path = self.cache / "vectors.npz"
        if not path.exists():
            return {}
        with np.load(path) as stored:
            return dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))

    def _save(self, known: dict[str, Vectors]) -> None:
        """One file, replaced at once, so that concurrent trainings never mix two versions."""
        self.cache.mkdir(parents=True, exist_ok=True)
        keys = list(known)
        staging = self.cache / f"vectors.{os.getpid()}.tmp.npz"
        with staging.open("wb") as handle:
            np.savez(handle, keys=np.array(keys), vectors=np.stack([known[k] for k in keys]))
        staging.replace(self.cache / "vectors.npz")
