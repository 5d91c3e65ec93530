"""The numbered choices a citizen was last offered, so that a reply "2" means button 2.

WeChat text messages have no buttons; the assistant's buttons are shown as a numbered
list, and the list is kept per citizen (in the database, or in Redis when replicas share
the work) until the next answer replaces it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import JSON, Column, DateTime, String, Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.conversation import Button
from bot.storage import metadata

# A list offered yesterday no longer explains what "2" means today.
CHOICES_TTL_S = 6 * 3600

choices_table = Table(
    "wechat_choices",
    metadata,
    Column("openid", String(64), primary_key=True),
    Column("choices", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def _dump(choices: Sequence[Button]) -> list[dict[str, str]]:
    return [{"title": b.title, "payload": b.payload} for b in choices]


def _load(raw: object) -> tuple[Button, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(
        Button(title=str(item.get("title", "")), payload=str(item.get("payload", "")))
        for item in raw
        if isinstance(item, dict)
    )


class SqlChoiceStore:
    def __init__(self, engine: AsyncEngine, ttl_s: int = CHOICES_TTL_S) -> None:
        self.engine = engine
        self.ttl_s = ttl_s

    async def remember(self, openid: str, choices: Sequence[Button]) -> None:
        table = choices_table
        try:
            async with self.engine.begin() as conn:
                await conn.execute(table.delete().where(table.c.openid == openid))
                if choices:
                    await conn.execute(
                        table.insert().values(
                            openid=openid, choices=_dump(choices), updated_at=datetime.now(UTC)
                        )
                    )
        except IntegrityError:
            # Two answers to the same citizen stored at once; the other one's list stands.
            return

    async def recall(self, openid: str) -> tuple[Button, ...]:
        table = choices_table
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(table.c.choices, table.c.updated_at).where(table.c.openid == openid)
                )
            ).first()
        if row is None:
            return ()
        updated = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=UTC)
        if datetime.now(UTC) - updated > timedelta(seconds=self.ttl_s):
            return ()
        return _load(row.choices)


class RedisChoiceStore:
    def __init__(self, redis: Redis, prefix: str, ttl_s: int = CHOICES_TTL_S) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_s = ttl_s

    async def remember(self, openid: str, choices: Sequence[Button]) -> None:
        if choices:
            await self.redis.set(
                self.prefix + openid, json.dumps(_dump(choices), ensure_ascii=False), ex=self.ttl_s
            )
        else:
            await self.redis.delete(self.prefix + openid)

    async def recall(self, openid: str) -> tuple[Button, ...]:
        raw = await self.redis.get(self.prefix + openid)
        if raw is None:
            return ()
        try:
            return _load(json.loads(raw))
        except ValueError:
            return ()
