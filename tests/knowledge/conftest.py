"""Session fixtures: the real embedding model and a knowledge base of the starter corpus.

Both are loaded once per test session; every quality test runs against the real model.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.embedder import Embedder, SentenceTransformerEmbedder, load_embedder
from bot.knowledge.engine import KnowledgeBase
from bot.knowledge.ingest import seed
from bot.knowledge.store import KnowledgeStore
from bot.settings import Settings


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return load_embedder(Settings())


@pytest.fixture(scope="session")
def seeded_store(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> KnowledgeStore:
    folder = tmp_path_factory.mktemp("seeded")
    store = KnowledgeStore(f"sqlite:///{folder / 'knowledge.db'}")
    reports = seed(store, embedder)
    assert all(not r.errors for r in reports), [r.summary() for r in reports]
    return store


@pytest.fixture(scope="session")
def seeded_kb(
    seeded_store: KnowledgeStore,
    embedder: SentenceTransformerEmbedder,
    tmp_path_factory: pytest.TempPathFactory,
) -> KnowledgeBase:
    return KnowledgeBase.open(seeded_store, embedder, cache_dir=tmp_path_factory.mktemp("index"))


@pytest.fixture
def store(tmp_path: Path) -> KnowledgeStore:
    return KnowledgeStore(f"sqlite:///{tmp_path / 'knowledge.db'}")
