"""Several gateway replicas on the real Redis: one access_token, one answer per message.

Keys live under ``wechat:<AppID>:``; every test has its own AppID, and its keys are
removed afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis
from wechat_fakes import FakeRasa, FakeWeChatApi, Scripted

from bot.gateway.channels.wechat import notify_wechat_citizen
from connectors.wechat.api import AccessTokens, shared_token_cache
from connectors.wechat.dedupe import DEDUPE_TTL_S, RedisDeduplicator
from tests.support.wechat import GatewayFactory

pytestmark = pytest.mark.redis


@pytest.fixture
async def replicas(
    gateway: GatewayFactory, redis_url: str, redis_client: Redis, fake_wechat: FakeWeChatApi
) -> AsyncIterator[tuple[Any, Any]]:
    pair = (await gateway(redis_url=redis_url), await gateway(redis_url=redis_url))
    yield pair
    keys = [key async for key in redis_client.scan_iter(f"wechat:{fake_wechat.app_id}:*")]
    if keys:
        await redis_client.delete(*keys)


async def test_a_retry_reaching_another_replica_is_not_answered_twice(
    replicas: tuple[Any, Any], fake_rasa: FakeRasa, openid: str
) -> None:
    first, second = replicas
    xml = first.text(openid, "马路上有个大坑")
    assert (await first.post(xml)).content == "收到：马路上有个大坑"
    assert (await second.post(xml)).body == "success"
    assert fake_rasa.texts == ["马路上有个大坑"]


async def test_choices_offered_by_one_replica_are_understood_by_another(
    replicas: tuple[Any, Any], fake_rasa: FakeRasa, openid: str
) -> None:
    first, second = replicas
    fake_rasa.script["要登记吗"] = Scripted(
        [{"text": "需要登记吗？", "buttons": [{"title": "需要", "payload": "/affirm"}]}]
    )
    assert "1. 需要" in (await first.post(first.text(openid, "要登记吗"))).content
    assert (await second.post(second.text(openid, "1"))).content == "收到：/affirm"


async def test_replicas_share_one_access_token(
    replicas: tuple[Any, Any], fake_wechat: FakeWeChatApi, openid: str
) -> None:
    first, second = replicas
    await asyncio.gather(
        *(
            notify_wechat_citizen(r.client.app, openid, f"通知{i}")
            for i in range(3)
            for r in replicas
        )
    )
    assert len(fake_wechat.issued) == 1  # six sends, one token
    fake_wechat.expire_current_token()
    assert await notify_wechat_citizen(second.client.app, openid, "第二个副本刷新了令牌")
    assert await notify_wechat_citizen(first.client.app, openid, "第一个副本直接用新令牌")
    assert len([t for t in fake_wechat.issued if t.startswith("token-")]) == 2
    assert [code for _, code in fake_wechat.attempts][-3:] == [40001, 0, 0]
    assert len(fake_wechat.texts_to(openid)) == 8


async def test_concurrent_token_requests_fetch_once(
    fake_wechat: FakeWeChatApi, redis_url: str, redis_client: Redis
) -> None:
    async with aiohttp.ClientSession() as http:
        providers = [
            AccessTokens(
                http,
                fake_wechat.url,
                fake_wechat.app_id,
                fake_wechat.app_secret,
                shared_token_cache(Redis.from_url(redis_url), fake_wechat.app_id),
            )
            for _ in range(2)
        ]
        try:
            tokens = await asyncio.gather(*(p.current() for p in providers for _ in range(10)))
            assert set(tokens) == {fake_wechat.issued[0]} and len(fake_wechat.issued) == 1
            cache = providers[0].cache
            ttl = await redis_client.ttl(f"wechat:{fake_wechat.app_id}:access_token")
            assert 0 < ttl <= 7200 - 300
            # a stale rejection must not throw away a token another replica just fetched
            fresh = await providers[0].replace(tokens[0])
            await cache.discard(tokens[0])
            assert await providers[1].current() == fresh
            assert len(fake_wechat.issued) == 2
        finally:
            for provider in providers:
                await provider.cache.redis.aclose()  # type: ignore[attr-defined]
            await redis_client.delete(f"wechat:{fake_wechat.app_id}:access_token")


async def test_redis_dedupe_claims_once_with_a_ttl(redis_client: Redis, fake_wechat: Any) -> None:
    prefix = f"wechat:{fake_wechat.app_id}:seen:"
    replica_a, replica_b = (
        RedisDeduplicator(redis_client, prefix),
        RedisDeduplicator(redis_client, prefix),
    )
    try:
        results = await asyncio.gather(*(d.first_time("msg:1") for d in (replica_a, replica_b)))
        assert sorted(results) == [False, True]
        assert 0 < await redis_client.ttl(prefix + "msg:1") <= DEDUPE_TTL_S
    finally:
        await redis_client.delete(prefix + "msg:1")
