"""The project's databases: SQLite files under var/ by default, PostgreSQL with DATABASE_URL.

Every engine comes from :func:`open_engine`. SQLite files are shared between processes
(the action server writes the work-order outbox, the relay delivers from it; the gateway
and the CLI write accounts), so they run in WAL mode with a busy timeout,
``synchronous=FULL`` (an accepted request must survive a power cut, not only a crash;
a transaction may leave its sync to the next one, see :func:`write_transaction`),
and write transactions take the write lock up front (``BEGIN IMMEDIATE``, see
:func:`write_transaction`) so two writers queue instead of failing with "database is
locked" when they both upgrade a read lock. Their connections come from
:mod:`bot.sqlite_driver`: one trip to the connection's thread per statement.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot import sqlite_driver
from bot.settings import Settings

metadata = MetaData()

_IMMEDIATE = "hotline_immediate"
_INLINE = "hotline_inline"
_DEFERRED_SYNC = "hotline_deferred_sync"


def create_engine(settings: Settings) -> AsyncEngine:
    """The engine of the project's own tables (:data:`metadata`)."""
    return open_engine(settings.database_url, settings.var_dir / "hotline.db")


async def create_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)


def open_engine(database_url: str | None, sqlite_path: Path) -> AsyncEngine:
    """PostgreSQL (asyncpg) when ``database_url`` is set, else the SQLite file."""
    if database_url:
        url = urlsplit(database_url)._replace(scheme="postgresql+asyncpg").geturl()
        return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{sqlite_path}",
        async_creator=functools.partial(sqlite_driver.connect, sqlite_path, 30.0),
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={sqlite_driver.SYNCHRONOUS}")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Deleted rows and freed pages are overwritten with zeros: a citizen's erased data
        # must not stay readable in the file (see bot.console.retention).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        options = conn.get_execution_options()
        conn.connection.driver_connection.begin_transaction(
            immediate=options.get(_IMMEDIATE, False),
            inline=options.get(_INLINE, False),
            deferred_sync=options.get(_DEFERRED_SYNC, False),
        )

    return engine


def dialect_insert(dialect_name: str) -> Any:
    """The ``insert`` of the engine's dialect, for ON CONFLICT (both backends have it)."""
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert


async def checkpoint(engine: AsyncEngine) -> None:
    """Copies a SQLite file's write-ahead log into it and empties the log, so that page
    versions from before a deletion do not linger there; no-op on PostgreSQL. A reader
    still open elsewhere can keep the log for now: its next checkpoint clears it."""
    if engine.dialect.name == "sqlite":
        async with engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


_WRITERS: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def write_transaction(
    engine: AsyncEngine, *, inline: bool = False, deferred_sync: bool = False
) -> AsyncIterator[AsyncConnection]:
    """A transaction that will write: takes SQLite's write lock at BEGIN.

    Writers of one process queue on an asyncio lock first: SQLite's busy handler makes a
    blocked writer sleep in growing steps (up to 100 ms), which under load costs far more
    than waiting in line; the busy timeout still covers writers in other processes.

    ``inline``: a transaction of a few small statements (a turn's transcript rows) runs
    on the event loop's thread (see :mod:`bot.sqlite_driver`); only SQLite reads it.

    ``deferred_sync``: the commit survives the process dying at once, and a power cut
    from the next synced commit on (see :mod:`bot.sqlite_driver`); for rows worth less
    than the ``fsync`` on a citizen's wait (the bot's replies). SQLite only: PostgreSQL
    has no such middle ground (``synchronous_commit = off`` loses commits when the server
    itself crashes), so there every commit is synced.
    """
    if engine.dialect.name != "sqlite":
        async with engine.begin() as conn:
            yield conn
        return
    lock = _WRITERS.setdefault(engine.sync_engine, asyncio.Lock())
    async with lock, engine.connect() as conn:
        await conn.execution_options(
            **{_IMMEDIATE: True, _INLINE: inline, _DEFERRED_SYNC: deferred_sync}
        )
        async with conn.begin():
            yield conn


@asynccontextmanager
async def quick_read(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for a read of a few rows by key, made in every turn: on SQLite it
    runs inline (see :mod:`bot.sqlite_driver`)."""
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            await conn.execution_options(**{_INLINE: True})
        yield conn
