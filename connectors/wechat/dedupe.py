"""Remembering which WeChat deliveries were already handled, across restarts and replicas.

WeChat retries a message three times when it gets no answer in 5 seconds, and may retry
after a network failure even when the gateway did answer. A retried message must never
produce a second answer or a second work order, so the first delivery claims its key
durably (a database row, or a Redis key shared by all replicas) before anything is done.

The same stores remember the nonces of signed callback URLs: in plain mode the signature
does not cover the body, so a captured URL replayed with another body is refused by its
reused timestamp and nonce.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import Column, DateTime, Index, String, Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage import metadata
from connectors.wechat.signature import MAX_CLOCK_SKEW_S

# WeChat gives up after its third retry within a minute; a day is a generous memory.
DEDUPE_TTL_S = 24 * 3600
# A signed callback URL is accepted while its timestamp lies within the skew either side of
# our clock; its nonce must be remembered for at least that window.
NONCE_TTL_S = 2 * MAX_CLOCK_SKEW_S + 60

dedupe_table = Table(
    "wechat_dedupe",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_wechat_dedupe_created", "created_at"),
)


class SqlDeduplicator:
    """Claims keys as rows; ``prefix`` keeps kinds of keys with their own TTL apart."""

    def __init__(self, engine: AsyncEngine, ttl_s: int = DEDUPE_TTL_S, prefix: str = "") -> None:
        self.engine = engine
        self.ttl_s = ttl_s
        self.prefix = prefix
        self._last_purge = 0.0

    async def first_time(self, key: str) -> bool:
        now = datetime.now(UTC)
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    dedupe_table.insert().values(key=self.prefix + key, created_at=now)
                )
        except IntegrityError:
            return False
        await self._purge(now)
        return True

    async def _purge(self, now: datetime) -> None:
        """Drops old keys, at most once an hour per process."""
        if time.monotonic() - self._last_purge < min(3600, self.ttl_s):
            return
        self._last_purge = time.monotonic()
        cutoff = now - timedelta(seconds=self.ttl_s)
        async with self.engine.begin() as conn:
            await conn.execute(
                dedupe_table.delete().where(
                    dedupe_table.c.created_at < cutoff,
                    dedupe_table.c.key.startswith(self.prefix, autoescape=True),
                )
            )


class RedisDeduplicator:
    def __init__(self, redis: Redis, prefix: str, ttl_s: int = DEDUPE_TTL_S) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_s = ttl_s

    async def first_time(self, key: str) -> bool:
        return bool(await self.redis.set(self.prefix + key, b"1", nx=True, ex=self.ttl_s))
