"""The SQLite connections of bot.sqlite_driver behave as aiosqlite's under SQLAlchemy:
long results arrive whole, transactions commit and roll back, a failing statement fails;
on the connection's thread and inline alike. An inline transaction never holds up the
event loop while another process writes: it waits for the lock on the thread."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import sqlite_driver
from bot.storage import open_engine, quick_read, write_transaction

INLINE = pytest.mark.parametrize("inline", [False, True], ids=["thread", "inline"])


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = open_engine(None, tmp_path / "driver.db")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, word TEXT)"))
    yield engine
    await engine.dispose()


async def _words(engine: AsyncEngine) -> list[str]:
    async with quick_read(engine) as conn:
        return list((await conn.execute(text("SELECT word FROM t ORDER BY id"))).scalars())


@INLINE
async def test_a_result_longer_than_one_trip_arrives_whole(
    engine: AsyncEngine, inline: bool
) -> None:
    async with write_transaction(engine, inline=inline) as conn:
        await conn.execute(
            text("INSERT INTO t (word) VALUES (:word)"), [{"word": f"w{n}"} for n in range(700)]
        )
    assert await _words(engine) == [f"w{n}" for n in range(700)]
    async with engine.connect() as conn:
        streamed = await conn.stream(text("SELECT word FROM t ORDER BY id"))
        assert [word async for word in streamed.scalars()] == [f"w{n}" for n in range(700)]


@INLINE
async def test_transactions_commit_and_roll_back(engine: AsyncEngine, inline: bool) -> None:
    async with write_transaction(engine, inline=inline) as conn:
        inserted = await conn.execute(text("INSERT INTO t (word) VALUES ('kept')"))
        assert inserted.rowcount == 1 and inserted.lastrowid == 1
    with pytest.raises(RuntimeError):
        async with write_transaction(engine, inline=inline) as conn:
            await conn.execute(text("INSERT INTO t (word) VALUES ('undone')"))
            raise RuntimeError("changed my mind")
    async with write_transaction(engine, inline=inline):
        pass  # a transaction with no statement
    assert await _words(engine) == ["kept"]


@INLINE
async def test_a_failing_statement_fails_and_leaves_the_connection_usable(
    engine: AsyncEngine, inline: bool
) -> None:
    with pytest.raises(OperationalError, match="no such table"):
        async with write_transaction(engine, inline=inline) as conn:
            await conn.execute(text("INSERT INTO missing (word) VALUES ('x')"))
    async with write_transaction(engine, inline=inline) as conn:
        await conn.execute(text("INSERT INTO t (word) VALUES ('after')"))
    assert await _words(engine) == ["after"]


async def test_an_inline_write_waits_for_another_process_on_the_thread(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = sqlite3.connect(tmp_path / "driver.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process is writing
    on_thread = asyncio.Event()
    trip = sqlite_driver.Connection.on_thread

    async def spy(self: sqlite_driver.Connection, function: Callable[..., Any], *args: Any) -> Any:
        if function is sqlite_driver._run and not self.inline:
            on_thread.set()
        return await trip(self, function, *args)

    monkeypatch.setattr(sqlite_driver.Connection, "on_thread", spy)

    async def write() -> None:
        async with write_transaction(engine, inline=True) as conn:
            await conn.execute(text("INSERT INTO t (word) VALUES ('second')"))

    writing = asyncio.create_task(write())
    await on_thread.wait()  # the loop runs this test meanwhile: it is not held up
    assert not writing.done()
    other.execute("INSERT INTO t (word) VALUES ('first')")
    other.execute("COMMIT")
    await writing
    other.close()
    assert await _words(engine) == ["first", "second"]
    on_thread.clear()
    async with write_transaction(engine, inline=True) as conn:  # the lock is free: inline
        await conn.execute(text("INSERT INTO t (word) VALUES ('third')"))
    assert not on_thread.is_set()
    assert await _words(engine) == ["first", "second", "third"]


@INLINE
async def test_a_commit_with_deferred_sync_is_written_unsynced_and_the_next_one_syncs(
    engine: AsyncEngine, inline: bool
) -> None:
    """The bot's replies skip the fsync the citizen's row pays: in WAL mode a commit at
    ``synchronous = NORMAL`` is written to the log unsynced, and the next commit at FULL
    syncs the log with it."""
    statements: list[str] = []

    def trace(dbapi_connection: Any, record: Any) -> None:
        record.driver_connection._conn.set_trace_callback(statements.append)

    await engine.dispose()
    event.listen(engine.sync_engine, "connect", trace)
    async with write_transaction(engine, inline=inline, deferred_sync=True) as conn:
        await conn.execute(text("INSERT INTO t (word) VALUES ('reply')"))
    async with write_transaction(engine, inline=inline) as conn:
        await conn.execute(text("INSERT INTO t (word) VALUES ('next turn')"))
        assert (await conn.execute(text("PRAGMA synchronous"))).scalar() == 2  # FULL

    ends = [s for s in statements if s.startswith(("PRAGMA synchronous =", "COMMIT"))]
    assert ends == [
        "PRAGMA synchronous = NORMAL",
        "COMMIT",
        "PRAGMA synchronous = FULL",
        "COMMIT",
    ]
    assert await _words(engine) == ["reply", "next turn"]


_PROJECT = Path(__file__).resolve().parents[2]
_WRITE_THEN_WAIT = """
import asyncio, sys
from pathlib import Path
from sqlalchemy import text
from bot.storage import open_engine, write_transaction

async def main() -> None:
    engine = open_engine(None, Path(sys.argv[1]))
    async with write_transaction(engine, inline=True, deferred_sync=True) as conn:
        await conn.execute(text("INSERT INTO t (word) VALUES ('reply')"))
    print("committed", flush=True)
    await asyncio.Event().wait()  # killed here, before any later commit could sync it

asyncio.run(main())
"""


async def test_a_commit_with_deferred_sync_survives_the_process_being_killed(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """What "safe from the gateway dying at once" means: a kill -9 right after the commit
    (no later sync, no clean shutdown) leaves the row in the database."""
    await engine.dispose()
    writer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _WRITE_THEN_WAIT,
        str(tmp_path / "driver.db"),
        stdout=asyncio.subprocess.PIPE,
        cwd=_PROJECT,
    )
    assert writer.stdout is not None
    assert await writer.stdout.readline() == b"committed\n"
    writer.kill()
    await writer.wait()
    assert await _words(engine) == ["reply"]
