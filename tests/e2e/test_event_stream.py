"""Rasa's event stream for real: Rasa publishes to RabbitMQ, the gateway consumes it into
the transcript and the console, and events published again change nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aio_pika
import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console.events import stream_event_table, stream_turn_table
from bot.console.tables import conversation_intent_table, conversation_table
from bot.conversation.transcript import transcript_table
from bot.launcher import Stack
from bot.storage import create_engine
from connectors.rabbitmq import RASA_EXCHANGE
from tests.e2e.chat import WebChat
from tests.e2e.conftest import stack_settings
from tests.support.agent import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.rabbitmq]


@pytest.fixture(scope="module")
def broker_stack(tmp_path_factory: pytest.TempPathFactory, rabbitmq_url: str) -> Iterator[Stack]:
    """A stack on the embedded defaults but for the broker, on a queue of its own."""
    queue = f"hotline_events_test_{uuid.uuid4().hex[:10]}"
    stack = Stack(
        stack_settings(
            tmp_path_factory.mktemp("broker-stack"), rabbitmq_url=rabbitmq_url, rabbitmq_queue=queue
        )
    )
    try:
        stack.start(timeout_s=420, progress=lambda _: None)
        yield stack
    finally:
        stack.stop()
        asyncio.run(_delete_queue(rabbitmq_url, queue))


async def _delete_queue(rabbitmq_url: str, queue: str) -> None:
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        await (await connection.channel()).queue_delete(queue)


@pytest.fixture
async def database(broker_stack: Stack) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(broker_stack.settings)
    yield engine
    await engine.dispose()


class Tap:
    """A copy of everything Rasa publishes, on a queue of the test's own."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    def turn_of(self, sender: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("sender_id") == sender]

    async def until(self, sender: str, seen: Callable[[list[dict[str, Any]]], bool]) -> None:
        """Until the sender's events so far are ``seen``."""
        while True:
            self.arrived.clear()
            if seen(self.turn_of(sender)):
                return
            await self.arrived.wait()

    async def run(self, rabbitmq_url: str, subscribed: asyncio.Event) -> None:
        connection = await aio_pika.connect(rabbitmq_url)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(RASA_EXCHANGE, aio_pika.ExchangeType.FANOUT)
            queue = await channel.declare_queue(exclusive=True, auto_delete=True)
            await queue.bind(exchange)
            subscribed.set()
            async with queue.iterator() as messages:
                async for message in messages:
                    await message.ack()
                    self.events.append(json.loads(message.body))
                    self.arrived.set()


@pytest.fixture
async def tap(rabbitmq_url: str) -> AsyncIterator[Tap]:
    tapped, subscribed = Tap(), asyncio.Event()
    task = asyncio.create_task(tapped.run(rabbitmq_url, subscribed))
    await subscribed.wait()
    yield tapped
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def summary(engine: AsyncEngine, conversation_id: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    select(conversation_table).where(
                        conversation_table.c.conversation_id == conversation_id
                    )
                )
            )
            .mappings()
            .one()
        )
        intents = await conn.scalars(
            select(conversation_intent_table.c.intent).where(
                conversation_intent_table.c.seq == row["seq"]
            )
        )
        rows = await conn.scalars(
            select(transcript_table.c.data)
            .where(transcript_table.c.conversation_id == conversation_id)
            .order_by(transcript_table.c.id)
        )
        records = await conn.scalar(
            select(func.count())
            .select_from(stream_event_table)
            .where(stream_event_table.c.sender_id == conversation_id)
        )
        turns = await conn.scalar(
            select(func.count())
            .select_from(stream_turn_table)
            .where(stream_turn_table.c.sender_id == conversation_id)
        )
    return {
        "turns": row["turns"],
        "citizen_turns": row["citizen_turns"],
        "min_confidence": row["min_confidence"],
        "fallback": row["fallback"],
        "intents": sorted(intents),
        "nlu": [(data or {}).get("nlu") for data in rows],
        "stream_records": records,
        "stream_turns": turns,
    }


def users(events: list[dict[str, Any]]) -> list[int]:
    return [i for i, e in enumerate(events) if e.get("event") == "user"]


def turn_ended(events: list[dict[str, Any]]) -> bool:
    """An ``action_listen`` follows the last user event."""
    starts = users(events)
    return bool(starts) and any(e.get("name") == "action_listen" for e in events[starts[-1] :])


async def greet(gateway_url: str, conversation_id: str) -> None:
    async with aiohttp.ClientSession() as session:
        chat = await WebChat.open(session, gateway_url, conversation_id)
        reply = await chat.say("你好")
        assert "12345" in WebChat.text_of(reply)
        await chat.ws.close()


async def until_summarised(engine: AsyncEngine, conversation_id: str) -> None:
    """Until the stream has applied the turn (the gateway writes the row's NLU result from
    Rasa's reply at once; the stream's own record of the turn tells it went through)."""

    async def done() -> bool:
        async with engine.connect() as conn:
            applied = await conn.scalar(
                select(func.count())
                .select_from(stream_turn_table)
                .where(stream_turn_table.c.sender_id == conversation_id)
            )
            return bool(applied)

    await eventually(done, timeout_s=120)


async def test_a_turn_reaches_the_console_by_rasas_stream_and_a_replay_counts_once(
    broker_stack: Stack, database: AsyncEngine, tap: Tap, rabbitmq_url: str
) -> None:
    settings = broker_stack.settings
    conversation_id = f"mq-{uuid.uuid4().hex[:8]}"
    await greet(settings.gateway_url, conversation_id)
    await until_summarised(database, conversation_id)
    first = await summary(database, conversation_id)
    assert first["intents"] == ["greet"]
    citizen_nlu = first["nlu"][0]
    assert citizen_nlu["intent"] == "greet" and citizen_nlu["actions"]
    assert first["stream_turns"] == 1  # the stream applied it too, to the same effect

    # Every event Rasa published for the conversation, published to the queue again.
    await tap.until(conversation_id, turn_ended)
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        for event in tap.turn_of(conversation_id):
            await channel.default_exchange.publish(
                aio_pika.Message(json.dumps(event).encode()), routing_key=settings.rabbitmq_queue
            )
    # The gateway's one consumer takes the queue in order: once a later conversation's
    # turn is summarised, the replay before it has been handled.
    later = f"mq-{uuid.uuid4().hex[:8]}"
    await greet(settings.gateway_url, later)
    await until_summarised(database, later)
    assert await summary(database, conversation_id) == first
