"""The console's NLU facts from Rasa's event stream: assembled per turn exactly as the
gateway's Rasa channel reads them, and applied once however the events arrive — twice,
replayed, across a restart, out of order, or to two competing consumers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aio_pika
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import utcnow
from bot.console.events import TurnStream, stream_event_table, stream_turn_table
from bot.console.index import ConversationIndex
from bot.console.tables import conversation_intent_table, conversation_table, unanswered_table
from bot.conversation import CitizenTurn, ConversationService, EngineReply, Understanding
from bot.conversation.ratelimit import rate_limiter
from bot.conversation.service import TRANSCRIPT_KEY
from bot.conversation.transcript import TranscriptStore, transcript_table
from bot.rasa_runtime import endpoints_config
from bot.settings import PROJECT_ROOT, Settings
from bot.storage import create_tables, open_engine
from connectors.rabbitmq import RabbitMQEventFeed
from connectors.rasa import _understanding

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"


@dataclass
class Store:
    engine: AsyncEngine
    index: ConversationIndex
    transcript: TranscriptStore

    def stream(self) -> TurnStream:
        """A consumer as a gateway process starts it (a new one = a restarted process)."""
        return TurnStream(self.engine, self.index)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Store]:
    url = request.getfixturevalue("fresh_postgres_url") if request.param == "postgresql" else None
    engine = open_engine(url, tmp_path / "hotline.db")
    await create_tables(engine)
    index = ConversationIndex(engine)
    await index.setup()
    transcript = TranscriptStore(engine)
    transcript.indexes.append(index)
    yield Store(engine, index, transcript)
    await engine.dispose()


@dataclass
class Rasa:
    """Publishes one conversation's events as Rasa's pika broker does:
    ``{"sender_id": …, **event.as_dict()}``, timestamps rising."""

    sender: str
    clock: float = 1_760_000_000.0
    events: list[dict[str, Any]] = field(default_factory=list)

    def _add(self, kind: str, **body: Any) -> dict[str, Any]:
        self.clock += 0.0123
        event = {"sender_id": self.sender, "event": kind, "timestamp": self.clock, **body}
        self.events.append(event)
        return event

    def turn(
        self,
        row: int | None,
        intent: str,
        confidence: float,
        *done: tuple[str, str | None],
        entities: Sequence[Mapping[str, Any]] = (),
    ) -> list[dict[str, Any]]:
        """A citizen turn: the user event, then each action with what it uttered by name."""
        first = len(self.events)
        self._add(
            "user",
            text="……",
            parse_data={
                "intent": {"name": intent, "confidence": confidence},
                "entities": [{**e, "start": 0, "end": 2, "extractor": "DIET"} for e in entities],
                "text": "……",
            },
            metadata={"channel": "web"} | ({TRANSCRIPT_KEY: row} if row is not None else {}),
            input_channel="hotline",
            message_id=uuid.uuid4().hex,
        )
        self._add("user_featurization", use_text_for_featurization=False)
        for name, uttered in done:
            self._add("action", name=name, policy="RulePolicy", confidence=1.0)
            if uttered is not None:
                self._add("bot", text="……", data={}, metadata={"utter_action": uttered})
            else:
                self._add("slot", name="requested_slot", value=None)
        self._add("action", name="action_listen", policy="RulePolicy", confidence=1.0)
        return self.events[first:]


async def citizen_row(store: Store, conversation_id: str, text: str = "我想问一下") -> int:
    return await store.transcript.append(conversation_id, "web", "citizen", text)


async def deliver(stream: TurnStream, events: Sequence[Mapping[str, Any]]) -> None:
    for event in events:
        await stream.handle(event)


async def state(store: Store, conversation_id: str) -> dict[str, Any]:
    """Everything the stream may change: the rows' NLU data and the console's summary."""
    async with store.engine.connect() as conn:
        summary = (
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
        seq = summary["seq"]
        intents = await conn.scalars(
            select(conversation_intent_table.c.intent).where(conversation_intent_table.c.seq == seq)
        )
        unanswered = await conn.scalars(
            select(unanswered_table.c.transcript_id).where(unanswered_table.c.seq == seq)
        )
        rows = await conn.execute(
            select(transcript_table.c.id, transcript_table.c.data)
            .where(transcript_table.c.conversation_id == conversation_id)
            .order_by(transcript_table.c.id)
        )
        return {
            "turns": summary["turns"],
            "citizen_turns": summary["citizen_turns"],
            "min_confidence": summary["min_confidence"],
            "fallback": summary["fallback"],
            "intents": sorted(intents),
            "unanswered": sorted(unanswered),
            "nlu": {row.id: (row.data or {}).get("nlu") for row in rows},
        }


async def records(store: Store) -> tuple[int, int]:
    async with store.engine.connect() as conn:
        events = await conn.scalar(select(func.count()).select_from(stream_event_table))
        turns = await conn.scalar(select(func.count()).select_from(stream_turn_table))
    return int(events or 0), int(turns or 0)


async def conversation(store: Store) -> tuple[str, Rasa, list[int]]:
    """Three turns: a greeting, a misunderstood question, one an active form took up."""
    conversation_id = f"web-{uuid.uuid4().hex[:8]}"
    rasa = Rasa(conversation_id)
    rows = [await citizen_row(store, conversation_id, t) for t in ("你好", "那个那个", "我要投诉")]
    rasa.turn(rows[0], "greet", 0.98, ("utter_greet", "utter_greet"))
    rasa.turn(rows[1], "nlu_fallback", 0.31, ("action_handle_unclear", "utter_default"))
    rasa.turn(
        rows[2],
        "complain",
        0.87,
        ("action_handle_unclear", None),
        ("workorder_form", None),
        entities=[{"entity": "district", "value": "朝阳区"}],
    )
    return conversation_id, rasa, rows


def expected(rows: list[int]) -> dict[str, Any]:
    return {
        "turns": 3,
        "citizen_turns": 3,
        "min_confidence": 0.31,
        "fallback": True,
        "intents": ["complain", "greet", "nlu_fallback"],
        "unanswered": [rows[1]],
        "nlu": {
            rows[0]: {
                "intent": "greet",
                "confidence": 0.98,
                "entities": [],
                "actions": ["utter_greet"],
            },
            rows[1]: {
                "intent": "nlu_fallback",
                "confidence": 0.31,
                "entities": [],
                "actions": ["action_handle_unclear", "utter_default"],
            },
            rows[2]: {
                "intent": "complain",
                "confidence": 0.87,
                "entities": [{"entity": "district", "value": "朝阳区"}],
                "actions": ["action_handle_unclear", "workorder_form"],
            },
        },
    }


# -- assembling turns ------------------------------------------------------------------------


async def test_each_turn_becomes_its_rows_nlu_and_the_console_summary(store: Store) -> None:
    conversation_id, rasa, rows = await conversation(store)
    await deliver(store.stream(), rasa.events)
    assert await state(store, conversation_id) == expected(rows)


async def test_a_turn_waits_for_its_end_and_survives_a_restart_in_the_middle(
    store: Store,
) -> None:
    conversation_id, rasa, rows = await conversation(store)
    turn_ends = [i for i, e in enumerate(rasa.events) if e.get("name") == "action_listen"]
    mid_second_turn = turn_ends[0] + 3  # its user event and first action are in
    await deliver(store.stream(), rasa.events[:mid_second_turn])
    halfway = await state(store, conversation_id)
    # The NLU result is recorded at once; the actions only when the turn is complete.
    assert halfway["nlu"][rows[1]] == {"intent": "nlu_fallback", "confidence": 0.31, "entities": []}
    assert halfway["fallback"] is False
    await deliver(store.stream(), rasa.events[mid_second_turn:])  # another process
    assert await state(store, conversation_id) == expected(rows)


async def test_events_of_other_conversations_and_unknown_rows_change_nothing(
    store: Store,
) -> None:
    conversation_id, _, rows = await conversation(store)
    before = await state(store, conversation_id)
    stranger = Rasa("someone-else")
    stranger.turn(rows[0], "nlu_fallback", 0.1, ("utter_default", "utter_default"))
    unnamed = Rasa(conversation_id)
    unnamed.turn(None, "nlu_fallback", 0.1, ("utter_default", "utter_default"))
    deleted = Rasa(conversation_id)
    deleted.turn(10_000, "nlu_fallback", 0.1, ("utter_default", "utter_default"))
    stream = store.stream()
    for events in (stranger.events, unnamed.events, deleted.events):
        await deliver(stream, events)
    await stream.handle({"event": "user", "sender_id": conversation_id})  # malformed
    assert await state(store, conversation_id) == before


# -- idempotence ---------------------------------------------------------------------------------


async def test_every_event_delivered_twice_counts_once(store: Store) -> None:
    conversation_id, rasa, rows = await conversation(store)
    doubled = [event for event in rasa.events for _ in range(2)]
    await deliver(store.stream(), doubled)
    assert await state(store, conversation_id) == expected(rows)
    counted = await records(store)
    await deliver(store.stream(), rasa.events)  # and the whole stream again
    assert await state(store, conversation_id) == expected(rows)
    assert await records(store) == counted


async def test_a_replay_after_the_records_were_pruned_leaves_the_same_state(store: Store) -> None:
    conversation_id, rasa, rows = await conversation(store)
    await deliver(store.stream(), rasa.events)
    await store.stream().prune(utcnow() + timedelta(days=1))  # everything is old
    assert await records(store) == (0, 0)
    await deliver(store.stream(), rasa.events)  # e.g. `rasa export` to the broker
    assert await state(store, conversation_id) == expected(rows)


async def test_an_event_arriving_after_its_turn_was_summarised_corrects_it(store: Store) -> None:
    """A form that takes up the turn after "没有完全理解" makes it no failure; when the
    form's event comes last, the turn first looks like one and is then corrected."""
    conversation_id = f"web-{uuid.uuid4().hex[:8]}"
    rasa = Rasa(conversation_id)
    unclear = await citizen_row(store, conversation_id, "那个那个")
    taken_up = await citizen_row(store, conversation_id, "我要投诉噪音")
    rasa.turn(unclear, "nlu_fallback", 0.31, ("action_handle_unclear", "utter_default"))
    rasa.turn(
        taken_up,
        "nlu_fallback",
        0.4,
        ("action_handle_unclear", "utter_default"),
        ("workorder_form", None),
    )
    form = next(e for e in rasa.events if e.get("name") == "workorder_form")
    await deliver(store.stream(), [e for e in rasa.events if e is not form])
    assert (await state(store, conversation_id))["unanswered"] == [unclear, taken_up]
    await store.stream().handle(form)
    corrected = await state(store, conversation_id)
    assert corrected["nlu"][taken_up]["actions"] == [
        "action_handle_unclear",
        "utter_default",
        "workorder_form",
    ]
    assert corrected["unanswered"] == [unclear]
    assert corrected["fallback"] is True  # the first turn still was one

    one_turn = Rasa(f"web-{uuid.uuid4().hex[:8]}")
    row = await citizen_row(store, one_turn.sender, "我要投诉噪音")
    one_turn.turn(
        row,
        "nlu_fallback",
        0.4,
        ("action_handle_unclear", "utter_default"),
        ("workorder_form", None),
    )
    late = next(e for e in one_turn.events if e.get("name") == "workorder_form")
    await deliver(store.stream(), [*(e for e in one_turn.events if e is not late), late])
    alone = await state(store, one_turn.sender)
    assert (alone["fallback"], alone["unanswered"]) == (False, [])


async def test_the_next_user_event_ends_a_turn_whose_listen_is_late(store: Store) -> None:
    conversation_id, rasa, rows = await conversation(store)
    listens = [e for e in rasa.events if e.get("name") == "action_listen"]
    await deliver(store.stream(), [e for e in rasa.events if e not in listens])
    assert (await state(store, conversation_id))["nlu"][rows[1]] == expected(rows)["nlu"][rows[1]]
    await deliver(store.stream(), listens)
    assert await state(store, conversation_id) == expected(rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_competing_consumers_in_any_order_reach_the_same_state(
    store: Store, seed: int
) -> None:
    """Two gateways share the queue: each event goes to one of them, some twice, and
    neither waits for the other."""
    talks = [await conversation(store) for _ in range(3)]
    shuffled = [event for _, rasa, _ in talks for event in rasa.events]
    shuffled += random.Random(seed).sample(shuffled, len(shuffled) // 3)  # redeliveries
    random.Random(seed).shuffle(shuffled)
    queue: asyncio.Queue[Mapping[str, Any]] = asyncio.Queue()
    for event in shuffled:
        queue.put_nowait(event)

    async def consumer(stream: TurnStream) -> None:
        while not queue.empty():
            await stream.handle(queue.get_nowait())

    await asyncio.gather(consumer(store.stream()), consumer(store.stream()))
    for conversation_id, _, rows in talks:
        assert await state(store, conversation_id) == expected(rows)


# -- the same reading as the gateway's Rasa channel --------------------------------------------

_RASA_SCRIPT = """
import json, sys
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from connectors.rasa_channel import turn_details

spec = json.load(sys.stdin)
events, details, clock = [], [], 1_760_000_000.0
for turn in spec["turns"]:
    entities = [dict(e, start=0, end=2) for e in turn["entities"]]
    parse = {"intent": {"name": turn["intent"], "confidence": turn["confidence"]},
             "entities": entities, "text": "……"}
    made = [UserUttered("……", parse["intent"], entities, parse,
                        metadata={"transcript_id": turn["row"]})]
    for name, uttered in turn["done"]:
        made.append(ActionExecuted(name))
        if uttered:
            made.append(BotUttered("……", metadata={"utter_action": uttered}))
    made.append(ActionExecuted("action_listen"))
    for event in made:
        clock += 0.01
        event.timestamp = clock
    events.extend(made)
    details.append(turn_details(DialogueStateTracker.from_events(spec["sender"], events)))
published = [{"sender_id": spec["sender"], **e.as_dict()} for e in events]
print(json.dumps({"published": published, "details": details}))
"""


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
async def test_the_stream_records_what_the_gateway_recorded_from_rasas_reply(
    store: Store,
) -> None:
    if not RASA_PYTHON.exists():
        pytest.skip("the Rasa runtime (.venv-rasa) is not installed")
    conversation_id = f"web-{uuid.uuid4().hex[:8]}"
    turns = [
        ("greet", 0.97, [("utter_greet", "utter_greet")], []),
        ("nlu_fallback", 0.2, [("action_handle_unclear", "utter_default")], []),
        ("complain", 0.8, [("action_handle_unclear", None), ("workorder_form", None)], []),
        ("ask_department", 0.9, [("action_department", None)], [("district", "海淀区")]),
    ]
    spec: dict[str, Any] = {
        "sender": conversation_id,
        "turns": [
            {
                "row": await citizen_row(store, conversation_id),
                "intent": intent,
                "confidence": confidence,
                "done": done,
                "entities": [{"entity": k, "value": v} for k, v in entities],
            }
            for intent, confidence, done, entities in turns
        ],
    }
    ran = await asyncio.to_thread(
        subprocess.run,
        [str(RASA_PYTHON), "-c", _RASA_SCRIPT],
        input=json.dumps(spec),
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    out = json.loads(ran.stdout.strip().splitlines()[-1])
    await deliver(store.stream(), out["published"])
    recorded = (await state(store, conversation_id))["nlu"]
    for turn, details in zip(spec["turns"], out["details"], strict=True):
        assert recorded[turn["row"]] == _understanding(details).to_json()


# -- the gateway's side ------------------------------------------------------------------------


class Engine:
    def __init__(self) -> None:
        self.metadata: list[dict[str, Any]] = []

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> EngineReply:
        self.metadata.append(metadata)
        return EngineReply((), Understanding(intent="greet", confidence=0.9))


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
async def test_the_gateway_names_the_row_for_the_stream_and_records_the_nlu_itself(
    store: Store,
) -> None:
    """The stream may lose an event when the broker restarts (Rasa publishes without
    confirmation): the reply's NLU result is on the row whatever the stream does."""
    engine = Engine()
    service = ConversationService(engine, store.transcript, rate_limiter(None, 100, 60.0), 2000)
    await service.handle_turn(CitizenTurn("web-gw", "web", "你好"))
    rows = await store.transcript.history("web-gw")
    assert engine.metadata == [{"channel": "web", TRANSCRIPT_KEY: rows[0]["id"]}]
    assert rows[0]["data"]["nlu"]["intent"] == "greet"


def test_rasa_publishes_to_the_queue_only_when_a_broker_is_set() -> None:
    settings = Settings()
    assert "event_broker" not in endpoints_config(settings)
    broker = endpoints_config(
        settings.with_overrides(
            rabbitmq_url="amqp://hotline:s3cret@mq.internal:5673/prod", rabbitmq_queue="events"
        )
    )["event_broker"]
    assert broker == {
        "type": "pika",
        "url": "amqp://hotline:s3cret@mq.internal:5673/prod",
        "port": 5673,
        "username": "hotline",
        "password": "s3cret",
        "queues": ["events"],
    }


# -- the RabbitMQ connector ----------------------------------------------------------------------


@pytest.fixture
async def queue_name(rabbitmq_url: str) -> AsyncIterator[str]:
    name = f"hotline_test_{uuid.uuid4().hex[:10]}"
    yield name
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)


async def publish(rabbitmq_url: str, queue: str, bodies: Sequence[bytes]) -> None:
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(queue, durable=True)
        for body in bodies:
            await channel.default_exchange.publish(aio_pika.Message(body), routing_key=queue)


async def waiting(rabbitmq_url: str, queue: str) -> int:
    """Messages ready in the queue (not those delivered and not yet acknowledged)."""
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)


@contextlib.asynccontextmanager
async def consuming(
    feed: RabbitMQEventFeed, handle: Callable[[Mapping[str, Any]], Awaitable[None]]
) -> AsyncIterator[None]:
    task = asyncio.create_task(feed.run(handle))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_message_is_acknowledged_only_once_handled(
    rabbitmq_url: str, queue_name: str
) -> None:
    """A failed handler and a consumer stopped mid-handling both get the message again;
    what is not a JSON object is dropped."""
    sender = f"mq-{uuid.uuid4().hex[:8]}"

    def body(n: int) -> bytes:
        return json.dumps({"sender_id": sender, "n": n}).encode()

    seen: list[int] = []
    failed_once, first_two, handling_2, never = (
        False,
        asyncio.Event(),
        asyncio.Event(),
        asyncio.Event(),
    )

    async def first_consumer(event: Mapping[str, Any]) -> None:
        nonlocal failed_once
        if event.get("sender_id") != sender:
            return  # an event another Rasa published to the shared exchange
        if event["n"] == 0 and not failed_once:
            failed_once = True
            raise RuntimeError("database unavailable")
        if event["n"] == 2:
            handling_2.set()
            await never.wait()  # the process stops while handling it
        seen.append(event["n"])
        if {0, 1} <= set(seen):
            first_two.set()

    await publish(rabbitmq_url, queue_name, [body(0), b"not json", body(1)])
    async with consuming(RabbitMQEventFeed(rabbitmq_url, queue_name, retry_s=0.05), first_consumer):
        await first_two.wait()
        await publish(rabbitmq_url, queue_name, [body(2)])
        await handling_2.wait()
    assert failed_once and sorted(seen) == [0, 1]

    await publish(rabbitmq_url, queue_name, [body(3)])
    reached_3 = asyncio.Event()

    async def restarted(event: Mapping[str, Any]) -> None:
        if event.get("sender_id") != sender:
            return
        if event["n"] == 3:
            reached_3.set()
            await never.wait()
        seen.append(event["n"])

    async with consuming(RabbitMQEventFeed(rabbitmq_url, queue_name), restarted):
        await reached_3.wait()
        # One at a time: everything before 3 was handled and acknowledged.
        assert await waiting(rabbitmq_url, queue_name) == 0
    assert sorted(seen) == [0, 1, 2]
