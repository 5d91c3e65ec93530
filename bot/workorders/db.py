"""Database helpers for the work-order tables (the outbox and the reference service).

SQLite is shared between processes here (the action server writes the outbox, the relay
process delivers from it), so it runs in WAL mode with a busy timeout, ``synchronous=FULL``
(an accepted request must survive a power cut, not only a crash), and write transactions
take the write lock up front (``BEGIN IMMEDIATE``) so two writers queue instead of
failing with "database is locked" when they both upgrade a read lock.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Column, Integer, MetaData, String, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

_IMMEDIATE = "workorders_immediate"


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def create_engine(database_url: str | None, sqlite_path: Path) -> AsyncEngine:
    """PostgreSQL (asyncpg) when ``database_url`` is set, else the SQLite file."""
    if database_url:
        url = urlsplit(database_url)._replace(scheme="postgresql+asyncpg").geturl()
        return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(f"sqlite+aiosqlite:///{sqlite_path}", connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


_WRITERS: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that will write: takes SQLite's write lock at BEGIN.

    Writers of one process queue on an asyncio lock first: SQLite's busy handler makes a
    blocked writer sleep in growing steps (up to 100 ms), which under load costs far more
    than waiting in line; the busy timeout still covers writers in other processes.
    """
    if engine.dialect.name != "sqlite":
        async with engine.begin() as conn:
            yield conn
        return
    lock = _WRITERS.setdefault(engine.sync_engine, asyncio.Lock())
    async with lock, engine.connect() as conn:
        await conn.execution_options(**{_IMMEDIATE: True})
        async with conn.begin():
            yield conn


def sequence_table(metadata: MetaData, name: str) -> Table:
    """Per-day counters behind GD/SL numbers, incremented inside the caller's transaction."""
    return Table(
        name,
        metadata,
        Column("name", String(32), primary_key=True),
        Column("value", Integer, nullable=False),
    )


async def next_in_sequence(conn: AsyncConnection, table: Table, name: str) -> int:
    insert: Any = (
        postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)
    )
    statement = (
        insert.values(name=name, value=1)
        .on_conflict_do_update(index_elements=[table.c.name], set_={"value": table.c.value + 1})
        .returning(table.c.value)
    )
    return int((await conn.execute(statement)).scalar_one())
