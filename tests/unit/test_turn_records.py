"""What a turn leaves on record, now that a turn costs two commits (the citizen's row with
its index entry; Rasa's understanding, the replies and their index entries).

The engine here is a fake that looks at the database, through a connection of its own,
at the moment it is called: what it sees there is committed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.console.index import ConversationIndex
from bot.console.tables import conversation_table
from bot.conversation import (
    BotMessage,
    CitizenTurn,
    ConversationService,
    EngineReply,
    Understanding,
)
from bot.conversation.ratelimit import MemoryRateLimiter
from bot.conversation.service import EMPTY_REPLY
from bot.conversation.transcript import NewRow, TranscriptStore, transcript_table
from bot.settings import Settings
from bot.storage import create_engine, create_tables

UNDERSTOOD = Understanding(intent="complain", confidence=0.93, actions=("utter_complaint",))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[AsyncEngine]:
    if request.param == "postgresql":
        settings = settings.with_overrides(
            database_url=request.getfixturevalue("fresh_postgres_url")
        )
    engine = create_engine(settings)
    await create_tables(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def store(engine: AsyncEngine) -> TranscriptStore:
    index = ConversationIndex(engine)
    await index.setup()
    store = TranscriptStore(engine)
    store.indexes.append(index)
    return store


async def _committed(engine: AsyncEngine, conversation_id: str) -> tuple[list[Any], Any]:
    """The conversation's transcript rows and console summary, as another reader sees them."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(transcript_table.c.role, transcript_table.c.text, transcript_table.c.data)
                .where(transcript_table.c.conversation_id == conversation_id)
                .order_by(transcript_table.c.id)
            )
        ).all()
        summary = (
            await conn.execute(
                select(conversation_table).where(
                    conversation_table.c.conversation_id == conversation_id
                )
            )
        ).first()
    return list(rows), summary


class PeekingEngine:
    """Answers with two messages, after noting what was committed when it was asked."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.seen: list[tuple[list[Any], Any]] = []

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> EngineReply:
        self.seen.append(await _committed(self.engine, conversation_id))
        return EngineReply(
            (BotMessage("已为您记录油烟扰民问题。"), BotMessage("请问还有什么可以帮您？")),
            UNDERSTOOD,
        )


async def test_the_citizen_row_and_its_index_entry_are_committed_before_the_engine_is_asked(
    engine: AsyncEngine, store: TranscriptStore
) -> None:
    peeking = PeekingEngine(engine)
    service = ConversationService(peeking, store, MemoryRateLimiter(100, 60), 500)
    turn = CitizenTurn(conversation_id="c-order", channel="rest", text="楼下饭店油烟太大")

    result = await service.handle_turn(turn)

    [(rows, summary)] = peeking.seen
    assert [(row.role, row.text) for row in rows] == [("citizen", "楼下饭店油烟太大")]
    assert summary is not None and summary.turns == 1 and summary.citizen_turns == 1
    assert [message.text for message in result.messages] == [
        "已为您记录油烟扰民问题。",
        "请问还有什么可以帮您？",
    ]
    rows, summary = await _committed(engine, "c-order")
    assert [(row.role, row.text) for row in rows] == [
        ("citizen", "楼下饭店油烟太大"),
        ("bot", "已为您记录油烟扰民问题。"),
        ("bot", "请问还有什么可以帮您？"),
    ]
    assert rows[0].data["nlu"]["intent"] == "complain"
    assert [row.data["status"] for row in rows[1:]] == ["ok", "ok"]
    assert summary.turns == 3 and summary.citizen_turns == 1
    assert summary.min_confidence == pytest.approx(0.93)
    assert summary.last_status == "ok"
    assert summary.first_message == "楼下饭店油烟太大"


async def test_the_citizen_row_is_synced_to_disk_before_forwarding_and_the_replies_ride_on_the_next_sync(
    engine: AsyncEngine, store: TranscriptStore
) -> None:
    """On SQLite the commit of a turn's replies is written unsynced (it survives the
    gateway dying at once): the citizen's wait pays one fsync, for their own words."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's sync levels")
    trail: list[str] = []

    def trace(dbapi_connection: Any, record: Any) -> None:
        record.driver_connection._conn.set_trace_callback(trail.append)

    class Marking(PeekingEngine):
        async def send(
            self, conversation_id: str, text: str, metadata: dict[str, Any]
        ) -> EngineReply:
            trail.append("forwarded")
            return await super().send(conversation_id, text, metadata)

    await engine.dispose()
    event.listen(engine.sync_engine, "connect", trace)
    service = ConversationService(Marking(engine), store, MemoryRateLimiter(100, 60), 500)
    for said in ("楼下饭店油烟太大", "每天晚上都有"):
        await service.handle_turn(CitizenTurn(conversation_id="c-sync", channel="rest", text=said))

    level, commits = "FULL", []
    for statement in trail:
        if statement.startswith("PRAGMA synchronous ="):
            level = statement.rsplit(" ", 1)[-1]
        elif statement == "COMMIT":
            commits.append(f"commit at {level}")
        elif statement == "forwarded":
            commits.append(statement)
    assert commits == ["commit at FULL", "forwarded", "commit at NORMAL"] * 2
    rows, _ = await _committed(engine, "c-sync")
    assert [row.role for row in rows] == ["citizen", "bot", "bot"] * 2


class BrokenIndex:
    async def apply_row(self, conn: AsyncConnection, row: Mapping[str, Any]) -> object:
        return await conn.execute(text("SELECT no_such_column FROM transcript"))

    async def annotate_row(
        self, conn: AsyncConnection, row_id: int, data: Mapping[str, Any]
    ) -> None:
        raise RuntimeError("index down")


async def test_a_failing_index_costs_no_row(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """On PostgreSQL a failed statement spoils its transaction: the rows are written
    again, without the index, in a transaction of their own."""
    store = TranscriptStore(engine)
    store.indexes.append(BrokenIndex())
    with caplog.at_level(logging.ERROR):
        row_id = await store.append("c-broken", "rest", "citizen", "路灯坏了")
        await store.record(
            "c-broken", "rest", [NewRow("bot", "好的，已记录。")], (row_id, {"nlu": {"x": 1}})
        )
    rows, _ = await _committed(engine, "c-broken")
    assert [(row.role, row.text) for row in rows] == [
        ("citizen", "路灯坏了"),
        ("bot", "好的，已记录。"),
    ]
    assert rows[0].data == {"nlu": {"x": 1}}
    assert "writing it alone" in caplog.text


class Recorder:
    def __init__(self) -> None:
        self.told: list[tuple[str, Any]] = []

    async def appended(self, rows: Sequence[dict[str, Any]]) -> None:
        self.told.extend(("row", row["text"]) for row in rows)

    async def annotated(self, row_id: int, data: dict[str, Any]) -> None:
        self.told.append(("annotation", data))


async def test_live_observers_hear_of_every_row_in_commit_order(store: TranscriptStore) -> None:
    live = Recorder()
    store.live.append(live)
    first = await store.append("c-live", "webchat", "citizen", "你好")
    await store.record(
        "c-live",
        "webchat",
        [NewRow("bot", "您好！"), NewRow("bot", "请问有什么可以帮您？")],
        (first, {"n": 1}),
    )
    await store.append("c-live", "webchat", "agent", "我是客服小王")
    await store.settled()
    assert live.told == [
        ("row", "你好"),
        ("annotation", {"n": 1}),
        ("row", "您好！"),
        ("row", "请问有什么可以帮您？"),
        ("row", "我是客服小王"),
    ]


class SilentEngine:
    """Rasa's answer when the turn's custom action failed: understood, but no message."""

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> EngineReply:
        return EngineReply((), UNDERSTOOD)


async def test_a_turn_the_engine_answered_with_nothing_gets_a_polite_reply_on_record(
    engine: AsyncEngine, store: TranscriptStore
) -> None:
    service = ConversationService(SilentEngine(), store, MemoryRateLimiter(100, 60), 500)
    turn = CitizenTurn(conversation_id="c-silent", channel="webchat", text="我要投诉油烟")

    result = await service.handle_turn(turn)

    assert result.status == "empty_reply"
    assert [message.text for message in result.messages] == [EMPTY_REPLY]
    rows, summary = await _committed(engine, "c-silent")
    assert [(row.role, row.text) for row in rows] == [
        ("citizen", "我要投诉油烟"),
        ("bot", EMPTY_REPLY),
    ]
    assert rows[0].data["nlu"]["intent"] == "complain"
    assert summary.last_status == "empty_reply"
