"""Live events between the handoff and the open sockets, on one replica or across many.

An agent's message must reach the citizen's web page, and a citizen's message the agent's
console, even when the two sockets are held by different gateway replicas. Every replica
subscribes to the bus and delivers events to the sockets it holds. Without Redis the bus
is in-process (one gateway); with ``REDIS_URL`` it is a Redis pub/sub channel.

Events are JSON objects with a ``kind``: ``citizen`` (a frame for a citizen's web chat)
and ``console`` (an event for agents' consoles, with an ``audience``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any, Protocol

from redis.asyncio import Redis

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class Bus(Protocol):
    def subscribe(self, handler: Handler) -> None: ...

    async def publish(self, event: dict[str, Any]) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def _dispatch(handlers: list[Handler], event: dict[str, Any]) -> None:
    for handler in handlers:
        try:
            await handler(event)
        except Exception:
            logger.exception("handoff event handler failed on %s", event.get("kind"))


class MemoryBus:
    """One gateway process: publishing delivers at once to this process's sockets."""

    def __init__(self) -> None:
        self.handlers: list[Handler] = []

    def subscribe(self, handler: Handler) -> None:
        self.handlers.append(handler)

    async def publish(self, event: dict[str, Any]) -> None:
        await _dispatch(self.handlers, event)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class RedisBus:
    """Several replicas: events go through one Redis pub/sub channel to all of them."""

    def __init__(self, redis: Redis, channel: str = "hotline:handoff:events") -> None:
        self.redis = redis
        self.channel = channel
        self.handlers: list[Handler] = []
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    def subscribe(self, handler: Handler) -> None:
        self.handlers.append(handler)

    async def publish(self, event: dict[str, Any]) -> None:
        await self.redis.publish(self.channel, json.dumps(event, ensure_ascii=False))

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self._ready.set()
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        try:
                            event = json.loads(message["data"])
                        except (TypeError, ValueError):
                            logger.warning("unreadable handoff event on the bus ignored")
                            continue
                        if isinstance(event, dict):
                            await _dispatch(self.handlers, event)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("handoff bus lost its Redis subscription; reconnecting")
                await asyncio.sleep(1.0)
