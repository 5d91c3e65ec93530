"""The routing classifier as the handoff uses it: loaded once, in the background.

Loading the classifier (jieba, the address library, the 派单目录) takes seconds. A citizen
asking for a human must not wait for it, so the queue's summary skips classification
until the classifier is ready (the summary is refreshed as the citizen writes), while an
agent asking for assist waits for it in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from bot.routing import Classification, RequestClassifier

logger = logging.getLogger(__name__)


class WarmClassifier:
    def __init__(self, load: Callable[[], RequestClassifier]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._classifier: RequestClassifier | None = None
        self._warming: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self._classifier is not None

    def warm(self) -> None:
        """Starts loading in a worker thread, once; returns at once."""
        if self._classifier is None and self._warming is None:
            self._warming = asyncio.get_running_loop().create_task(self._warm())

    async def _warm(self) -> None:
        try:
            await asyncio.to_thread(self._get)
        except Exception:
            logger.exception("the routing classifier could not be loaded")
            self._warming = None

    def _get(self) -> RequestClassifier:
        with self._lock:
            if self._classifier is None:
                self._classifier = self._load()
            return self._classifier

    def __call__(self, text: str) -> Classification:
        """Classifies ``text`` (blocking: call it in a worker thread)."""
        return self._get().classify(text)
