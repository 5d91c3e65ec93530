"""The events Rasa publishes to RabbitMQ (its ``pika`` event broker), consumed with aio-pika.

Implements :class:`bot.console.events.EventFeed`. It declares what Rasa declares — Rasa's
fanout exchange and the durable queue bound to it — so that whichever of the two starts
first, no event is dropped for want of a queue, and a restarted RabbitMQ gets them again
(the robust connection declares them anew on reconnecting).

Every gateway consumes the same queue: RabbitMQ hands each message to one of them
(competing consumers). A consumer handles its messages one after the other and
acknowledges each only after the handler returned, that is after its transaction
committed; a handler that raised, or a connection lost before the acknowledgement, puts the
message back in the queue for redelivery, which the handler's idempotence makes harmless.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from aio_pika.exceptions import AMQPError, ChannelInvalidStateError

logger = logging.getLogger(__name__)

RASA_EXCHANGE = "rasa-exchange"
"""Rasa's exchange (``rasa.core.brokers.pika.RABBITMQ_EXCHANGE``), declared as Rasa does."""

_PREFETCH = 32  # messages on their way to one consumer: enough to keep it busy

Handler = Callable[[Mapping[str, Any]], Awaitable[None]]


class RabbitMQEventFeed:
    def __init__(self, url: str, queue: str, retry_s: float = 2.0) -> None:
        self.url = url
        self.queue = queue
        self.retry_s = retry_s

    async def run(self, handle: Handler) -> None:
        """Consumes until cancelled; a broker that is down or goes away is tried again."""
        while True:
            try:
                await self._consume(handle)
            except (AMQPError, OSError) as exc:
                logger.warning(
                    "RabbitMQ queue %s unavailable (%s); retrying",
                    self.queue,
                    exc,
                    extra={"event": "broker_unavailable"},
                )
            except Exception:
                logger.exception("consuming %s failed; retrying", self.queue)
            await asyncio.sleep(self.retry_s)

    async def _consume(self, handle: Handler) -> None:
        connection = await aio_pika.connect_robust(self.url)
        async with connection:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=_PREFETCH)
            exchange = await channel.declare_exchange(RASA_EXCHANGE, aio_pika.ExchangeType.FANOUT)
            queue = await channel.declare_queue(self.queue, durable=True)
            await queue.bind(exchange)
            async with queue.iterator() as messages:
                async for message in messages:
                    await self._deliver(message, handle)

    async def _deliver(self, message: AbstractIncomingMessage, handle: Handler) -> None:
        try:
            body = json.loads(message.body)
        except ValueError:
            body = None
        try:
            if not isinstance(body, dict):
                logger.warning("dropping a message that is not a JSON object from %s", self.queue)
                await message.reject(requeue=False)
                return
            try:
                await handle(body)
            except Exception:
                logger.exception("an event could not be handled; it will be delivered again")
                await asyncio.sleep(self.retry_s)  # e.g. the database is down: do not spin
                await message.nack(requeue=True)
                return
            await message.ack()
        except ChannelInvalidStateError:
            # The channel closed under the message (the broker went away); it is delivered
            # again once the connection is back.
            logger.info("acknowledgement lost with the channel; the event will come again")
