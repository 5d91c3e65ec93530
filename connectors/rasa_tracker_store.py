"""Rasa's SQL tracker store, made to ride out a restart of its PostgreSQL server.

Runs inside the Rasa runtime (Python 3.10, rasa 3.6), loaded by module path from the
rendered ``endpoints.yml`` (``type: connectors.rasa_tracker_store.DurableSQLTrackerStore``)
when ``DATABASE_URL`` is set.

Why not Rasa's own ``SQLTrackerStore``: Rasa wraps every tracker store in a
``FailSafeTrackerStore``, which answers a failed read with *no tracker* and keeps a failed
write in memory only. After PostgreSQL restarts, every pooled connection of the stock store
is dead, so the next turn on each fails: Rasa carries on with an empty tracker (the citizen
in the middle of filing a complaint is greeted as if the conversation had just begun) and
the turn's events never reach the database, as the fault drills showed (``make drill``,
"restart postgresql"). Here a connection is tested before use (``pool_pre_ping``), and a
read or write that fails because the server is unreachable is tried again for a bounded
time, so a restart costs a turn a short wait instead of its context and its record. The
conversation lock is held meanwhile, so no other turn of the conversation interleaves.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import DBAPIError, OperationalError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Below the gateway's wait for Rasa (RASA_TIMEOUT_S, 30 s by default): a turn that cannot
# reach the database for this long fails, and the citizen gets the polite "请稍后再试".
DEFAULT_RETRY_FOR_S = 15.0
RETRY_PAUSE_S = 0.5


def _unreachable(error: Exception) -> bool:
    """The server went away (restart, network), as opposed to a bad query."""
    return isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


class DurableSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` with pre-pinged connections and bounded retries on a lost server.

    Endpoint settings: those of Rasa's SQL tracker store, plus ``retry_for`` (seconds a read
    or write keeps trying while the server is unreachable).
    """

    engine: sa.engine.Engine

    def __init__(self, *args: Any, retry_for: float = DEFAULT_RETRY_FOR_S, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self.retry_for = float(retry_for)

    async def _retrying(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        deadline = time.monotonic() + self.retry_for
        while True:
            try:
                return await call()
            except DBAPIError as error:
                if not _unreachable(error) or time.monotonic() >= deadline:
                    raise
                logger.warning("tracker store unreachable (%s), trying again: %s", what, error)
            await asyncio.sleep(RETRY_PAUSE_S)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return await self._retrying("read", lambda: SQLTrackerStore.retrieve(self, sender_id))

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        return await self._retrying(
            "read", lambda: SQLTrackerStore.retrieve_full_tracker(self, sender_id)
        )

    async def save(self, tracker: DialogueStateTracker) -> None:
        """A write that failed committed nothing: trying it again appends exactly the
        events the database does not have yet (and publishes them to the event broker
        again, whose consumer applies each event once)."""
        await self._retrying("write", lambda: SQLTrackerStore.save(self, tracker))
