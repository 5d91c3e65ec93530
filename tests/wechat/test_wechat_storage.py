"""The database-backed de-duplication and choice lists, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.conversation import Button
from bot.settings import Settings
from bot.storage import create_engine, create_tables
from connectors.wechat.choices import SqlChoiceStore
from connectors.wechat.dedupe import SqlDeduplicator


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[AsyncEngine]:
    if request.param == "postgres":
        settings = settings.with_overrides(database_url=request.getfixturevalue("postgres_url"))
    engine = create_engine(settings)
    await create_tables(engine)
    yield engine
    await engine.dispose()


async def test_sql_dedupe_claims_each_key_once(engine: AsyncEngine) -> None:
    key = f"msg:{uuid.uuid4().int % 10**19}"
    replica_a, replica_b = SqlDeduplicator(engine), SqlDeduplicator(engine)
    assert await replica_a.first_time(key)
    assert not await replica_b.first_time(key)
    assert not await replica_a.first_time(key)
    assert await replica_b.first_time(key + "-other")


async def test_sql_choices_are_replaced_forgotten_and_expire(engine: AsyncEngine) -> None:
    openid = "o" + uuid.uuid4().hex[:27]
    store = SqlChoiceStore(engine)
    await store.remember(openid, [Button("需要", "/affirm"), Button("不需要", "/deny")])
    assert await store.recall(openid) == (Button("需要", "/affirm"), Button("不需要", "/deny"))
    await store.remember(openid, [Button("转人工", "/ask_human")])
    assert await store.recall(openid) == (Button("转人工", "/ask_human"),)
    assert await SqlChoiceStore(engine, ttl_s=-1).recall(openid) == ()
    await store.remember(openid, [])
    assert await store.recall(openid) == ()
