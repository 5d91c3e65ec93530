"""Opening the knowledge base in a long-running process (action server, gateway, CLI).

Loading costs seconds (the embedding model, the store's vectors, the BM25 and ANN indexes),
so each process opens it once, lazily, on first use, in a worker thread so the event loop
keeps serving. A store that is still empty gets the starter corpus, so a fresh checkout
answers questions without a manual import step.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from sqlalchemy.exc import IntegrityError

from bot.knowledge.embedder import Embedder, load_embedder
from bot.knowledge.engine import KnowledgeBase
from bot.knowledge.ingest import seed
from bot.knowledge.store import KnowledgeStore
from bot.settings import Settings

logger = logging.getLogger(__name__)


def open_knowledge_base(
    settings: Settings, embedder: Embedder | None = None, progress: bool = False
) -> KnowledgeBase:
    embedder = embedder or load_embedder(settings)
    store = KnowledgeStore.from_settings(settings)
    try:
        if store.count() == 0:
            logger.info("knowledge store is empty: importing the starter corpus")
            try:
                reports = seed(store, embedder, progress=progress)
            except IntegrityError:
                # Another process (gateway or action server) seeded at the same moment;
                # a second pass finds its rows and only fills in what is missing.
                reports = seed(store, embedder, progress=progress)
            for report in reports:
                logger.info(report.summary().splitlines()[0])
        return KnowledgeBase.open(
            store,
            embedder,
            cache_dir=settings.var_dir / "knowledge-index",
            ann_threshold=settings.kb_ann_threshold,
            progress=progress,
        )
    finally:
        store.close()


class LazyKnowledgeBase:
    """One knowledge base per process, opened on first use; safe from threads and loops."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        knowledge_base: KnowledgeBase | None = None,
    ) -> None:
        self._settings = settings
        self._embedder = embedder
        self._kb: KnowledgeBase | None = knowledge_base
        self._lock = threading.Lock()

    def get_sync(self) -> KnowledgeBase:
        with self._lock:
            if self._kb is None:
                self._kb = open_knowledge_base(self._settings, self._embedder)
                logger.info(
                    "knowledge base ready: %d entries, %d passages, %s vectors",
                    len(self._kb.entries),
                    self._kb.index.size,
                    self._kb.index.dense.kind,
                )
            return self._kb

    def preload(self) -> None:
        """Starts loading in a background thread, so the first question does not wait."""
        threading.Thread(target=self._load_quietly, name="knowledge-preload", daemon=True).start()

    def _load_quietly(self) -> None:
        try:
            self.get_sync()
        except Exception:
            logger.exception("preloading the knowledge base failed; the first question retries")

    async def get(self) -> KnowledgeBase:
        if self._kb is not None:
            return self._kb
        return await asyncio.to_thread(self.get_sync)
