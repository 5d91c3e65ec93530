"""The SQLite connections of bot.sqlite_driver behave as aiosqlite's under SQLAlchemy:
long results arrive whole, transactions commit and roll back, a failing statement fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage import open_engine, write_transaction


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = open_engine(None, tmp_path / "driver.db")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, word TEXT)"))
    yield engine
    await engine.dispose()


async def _words(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(text("SELECT word FROM t ORDER BY id"))).scalars())


async def test_a_result_longer_than_one_trip_arrives_whole(engine: AsyncEngine) -> None:
    async with write_transaction(engine) as conn:
        await conn.execute(
            text("INSERT INTO t (word) VALUES (:word)"), [{"word": f"w{n}"} for n in range(700)]
        )
    assert await _words(engine) == [f"w{n}" for n in range(700)]
    async with engine.connect() as conn:
        streamed = await conn.stream(text("SELECT word FROM t ORDER BY id"))
        assert [word async for word in streamed.scalars()] == [f"w{n}" for n in range(700)]


async def test_transactions_commit_and_roll_back(engine: AsyncEngine) -> None:
    async with write_transaction(engine) as conn:
        inserted = await conn.execute(text("INSERT INTO t (word) VALUES ('kept')"))
        assert inserted.rowcount == 1 and inserted.lastrowid == 1
    with pytest.raises(RuntimeError):
        async with write_transaction(engine) as conn:
            await conn.execute(text("INSERT INTO t (word) VALUES ('undone')"))
            raise RuntimeError("changed my mind")
    async with write_transaction(engine):
        pass  # a transaction with no statement
    assert await _words(engine) == ["kept"]


async def test_a_failing_statement_fails_and_leaves_the_connection_usable(
    engine: AsyncEngine,
) -> None:
    with pytest.raises(OperationalError, match="no such table"):
        async with write_transaction(engine) as conn:
            await conn.execute(text("INSERT INTO missing (word) VALUES ('x')"))
    async with write_transaction(engine) as conn:
        await conn.execute(text("INSERT INTO t (word) VALUES ('after')"))
    assert await _words(engine) == ["after"]
