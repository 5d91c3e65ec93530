"""The transcript and rate limits on both backends, against the real servers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.conversation.ratelimit import MemoryRateLimiter, RedisRateLimiter
from bot.conversation.transcript import TranscriptStore
from bot.settings import Settings
from bot.storage import create_engine, create_tables


async def _roundtrip(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        await create_tables(engine)
        store = TranscriptStore(engine)
        await store.append("c-1", "webchat", "citizen", "小区噪音太大")
        await store.append("c-1", "webchat", "bot", "非常抱歉给您带来了困扰。", {"status": "ok"})
        await store.append("c-2", "rest", "citizen", "别的会话")
        history = await store.history("c-1")
        assert [(row["role"], row["text"]) for row in history] == [
            ("citizen", "小区噪音太大"),
            ("bot", "非常抱歉给您带来了困扰。"),
        ]
        assert history[1]["data"] == {"status": "ok"}
    finally:
        await engine.dispose()


async def test_transcript_on_sqlite(settings: Settings) -> None:
    await _roundtrip(settings)
    assert (settings.var_dir / "hotline.db").exists()


@pytest.mark.postgres
async def test_transcript_on_postgresql(settings: Settings, postgres_url: str) -> None:
    await _roundtrip(settings.with_overrides(database_url=postgres_url))


async def test_memory_rate_limit_blocks_then_recovers() -> None:
    now = [100.0]
    limiter = MemoryRateLimiter(limit=3, window_s=30, clock=lambda: now[0])
    assert [await limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert await limiter.allow("b")  # other senders are not affected
    now[0] += 29.9
    assert not await limiter.allow("a")
    now[0] += 0.1
    assert await limiter.allow("a")


@pytest.mark.redis
async def test_redis_rate_limit_is_shared_between_replicas(redis_client: Redis) -> None:
    prefix = f"rl-test-{id(redis_client)}:"
    first = RedisRateLimiter(redis_client, limit=3, window_s=60, prefix=prefix)
    second = RedisRateLimiter(redis_client, limit=3, window_s=60, prefix=prefix)
    results = [await first.allow("c"), await second.allow("c"), await first.allow("c")]
    assert results == [True, True, True]
    assert await second.allow("c") is False
    keys = [key async for key in redis_client.scan_iter(f"{prefix}*")]
    ttls = [await redis_client.ttl(key) for key in keys]
    assert ttls and all(ttl > 0 for ttl in ttls)
    await redis_client.delete(*keys)


async def test_citizens_turns_go_through_while_redis_is_down_but_logins_do_not() -> None:
    """A Redis outage must not silence citizens (their turn is recorded and answered);
    login attempts are refused instead of being let through uncounted."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    down = Redis(port=closed_port, socket_connect_timeout=1)
    try:
        citizens = RedisRateLimiter(down, limit=1, window_s=60, allow_when_down=True)
        assert [await citizens.allow("webchat:c-1") for _ in range(3)] == [True, True, True]
        logins = RedisRateLimiter(down, limit=5, window_s=60)
        with pytest.raises(RedisConnectionError):
            await logins.allow("address:10.0.0.1")
    finally:
        await down.aclose()


async def test_concurrent_turns_with_the_console_index_lose_nothing_on_sqlite(
    settings: Settings,
) -> None:
    """Many conversations at once: each turn is written, annotated with what the NLU
    understood and indexed for the console, without "database is locked" (a deferred
    transaction that reads, then writes, used to fail at once under contention)."""
    from bot.console.index import ConversationIndex

    engine = create_engine(settings)
    try:
        await create_tables(engine)
        store = TranscriptStore(engine)
        index = ConversationIndex(engine)
        await index.setup()
        failures: list[BaseException] = []

        class Recorder(ConversationIndex):
            async def appended(self, rows: Sequence[dict[str, Any]]) -> None:
                try:
                    await super().appended(rows)
                except BaseException as exc:  # the store would only log it
                    failures.append(exc)
                    raise

            async def annotated(self, row_id: int, data: dict[str, object]) -> None:
                try:
                    await super().annotated(row_id, data)
                except BaseException as exc:
                    failures.append(exc)
                    raise

        store.observers.append(Recorder(engine))

        async def turn(n: int) -> None:
            row = await store.append(f"c-{n}", "rest", "citizen", f"小区第{n}号楼路灯坏了")
            await store.annotate(row, {"nlu": {"intent": "complain", "confidence": 0.9}})
            await store.append(f"c-{n}", "rest", "bot", "好的，我来为您登记。", {"status": "ok"})

        await asyncio.gather(*(turn(n) for n in range(40)))
        assert failures == []
        for n in (0, 39):
            history = await store.history(f"c-{n}")
            assert history[0]["data"]["nlu"]["intent"] == "complain"
            assert len(history) == 2
    finally:
        await engine.dispose()
