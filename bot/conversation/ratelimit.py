"""Rate limits per sender and per client address: in-process by default, shared through
Redis when scaled out.

A sender id is chosen by the client (a web chat may send each message under a new one),
so turns that carry the client's address are limited by that address as well.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RATE_LIMIT_REPLY = "您发送消息的速度有点快，请稍等片刻再发。您之前的消息我们都已收到。"


class RateLimiter(Protocol):
    async def allow(self, key: str) -> bool: ...


class MemoryRateLimiter:
    """A sliding window per key; enough for one gateway process."""

    def __init__(
        self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    async def allow(self, key: str) -> bool:
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] >= self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        if len(self._hits) > 100_000:
            self._evict(now)
        return True

    def _evict(self, now: float) -> None:
        stale = [k for k, v in self._hits.items() if not v or now - v[-1] >= self.window_s]
        for key in stale:
            del self._hits[key]


class RedisRateLimiter:
    """A fixed window counter in Redis, shared by every gateway replica.

    ``allow_when_down``: while Redis cannot be reached, let the hit through instead of
    raising. Right for citizens' messages, whose turn must be recorded and answered during
    a Redis outage (the limit protects the bot, not a secret); wrong for login attempts."""

    def __init__(
        self,
        redis: Redis,
        limit: int,
        window_s: float,
        prefix: str = "rl:",
        allow_when_down: bool = False,
    ) -> None:
        self.redis = redis
        self.limit = limit
        self.window_s = max(1, int(window_s))
        self.prefix = prefix
        self.allow_when_down = allow_when_down

    async def allow(self, key: str) -> bool:
        window = int(time.time()) // self.window_s
        redis_key = f"{self.prefix}{key}:{window}"
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(redis_key)
                pipe.expire(redis_key, self.window_s * 2)
                count, _ = await pipe.execute()
        except RedisError as exc:
            if not self.allow_when_down:
                raise
            logger.warning(
                "rate limit not counted, Redis unavailable: %s",
                type(exc).__name__,
                extra={"event": "rate_limit_unavailable"},
            )
            return True
        return int(count) <= self.limit


def rate_limiter(
    redis: Redis | None, limit: int, window_s: float, allow_when_down: bool = False
) -> RateLimiter:
    """Shared through ``redis`` when there is one, so every replica counts the same hits."""
    if redis is not None:
        return RedisRateLimiter(redis, limit, window_s, allow_when_down=allow_when_down)
    return MemoryRateLimiter(limit, window_s)
