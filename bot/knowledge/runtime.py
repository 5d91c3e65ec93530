"""Opening the knowledge base in a long-running process (action server, gateway, CLI).

Loading costs seconds (the embedding model, the store's vectors, the BM25 and ANN indexes),
so each process opens it once, lazily, on first use, in a worker thread so the event loop
keeps serving. A store that is still empty gets the starter corpus, so a fresh checkout
answers questions without a manual import step.

Published edits and imports must reach every replica without a restart: each process
watches the store's revision counter (one cheap query every ``KB_RELOAD_POLL_S``) and, when
it moved, builds a new knowledge base from the stored vectors (only changed passages were
embedded, by the writer) and swaps it in; questions keep using the old one meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

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


def _reopen(settings: Settings, current: KnowledgeBase) -> KnowledgeBase:
    """The store's entries with the vectors already there; the writer embeds what is new.

    Entries whose passages are not embedded yet are still found by number; they join the
    ranked search at the next revision, when the writer saved their vectors.
    """
    embedder = current.embedder
    if embedder is None:
        raise RuntimeError("a knowledge base without an embedder cannot be reloaded")
    store = KnowledgeStore.from_settings(settings)
    try:
        rows = store.index_rows(embedder.model_id, embedder.dimension)
        return KnowledgeBase.from_rows(
            store.all_entries(),
            rows.passages,
            rows.vectors,
            embedder,
            cache_dir=settings.var_dir / "knowledge-index",
            ann_threshold=settings.kb_ann_threshold,
            calibration=current.calibration,
            previous=current,
        )
    finally:
        store.close()


class LazyKnowledgeBase:
    """One knowledge base per process, opened on first use; safe from threads and loops.

    One given ready-made (tests) is never reloaded; one opened from the settings is
    watched for new revisions once loaded.
    """

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        knowledge_base: KnowledgeBase | None = None,
    ) -> None:
        self._settings = settings
        self._embedder = embedder
        self._kb: KnowledgeBase | None = knowledge_base
        self._watch = knowledge_base is None and settings.kb_reload_poll_s > 0
        self._lock = threading.Lock()
        self._reload_lock = threading.Lock()  # questions keep the old one meanwhile
        self._revision = -1
        self._store: KnowledgeStore | None = None
        self._stopped = threading.Event()
        self._swapped = threading.Condition()

    @property
    def revision(self) -> int:
        """The store revision the serving knowledge base reflects (-1 before it loads)."""
        return self._revision

    def get_sync(self) -> KnowledgeBase:
        with self._lock:
            if self._kb is None:
                revision = self._store_revision()
                self._kb = open_knowledge_base(self._settings, self._embedder)
                self._revision = revision
                logger.info(
                    "knowledge base ready: %d entries, %d passages, %s vectors",
                    len(self._kb.entries),
                    self._kb.index.size,
                    self._kb.index.dense.kind,
                )
                if self._watch:
                    threading.Thread(
                        target=self._watch_revisions, name="knowledge-watch", daemon=True
                    ).start()
            return self._kb

    def refresh_sync(self) -> bool:
        """Swaps in a new knowledge base if the store moved on; True when it did.

        The watcher calls this every poll; the console calls it right after a publish so
        the publishing process does not wait for its own poll.
        """
        if self._kb is None or not self._watch:
            return False
        with self._reload_lock:
            revision = self._store_revision()
            if revision == self._revision:
                return False
            started = time.perf_counter()
            self._kb = _reopen(self._settings, self._kb)
            self._revision = revision
        with self._swapped:
            self._swapped.notify_all()
        logger.info(
            "knowledge base revision %d swapped in after %.2f s (%d entries)",
            revision,
            time.perf_counter() - started,
            len(self._kb.entries),
        )
        return True

    async def refresh(self) -> bool:
        return await asyncio.to_thread(self.refresh_sync)

    def wait_for_revision(self, revision: int, timeout_s: float) -> bool:
        """Blocks until a knowledge base of at least ``revision`` serves (tests, tools)."""
        with self._swapped:
            return self._swapped.wait_for(lambda: self._revision >= revision, timeout_s)

    def close(self) -> None:
        self._stopped.set()
        if self._store is not None:
            self._store.close()

    def _watch_revisions(self) -> None:
        while not self._stopped.wait(self._settings.kb_reload_poll_s):
            try:
                self.refresh_sync()
            except Exception:
                logger.exception("reloading the knowledge base failed; the next poll retries")

    def _store_revision(self) -> int:
        if self._store is None:
            self._store = KnowledgeStore.from_settings(self._settings)
        return self._store.revision()

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
