"""The conversation index, filters, search, pagination, review and retention, on both engines.

Turns are written through the gateway's real ``TranscriptStore`` with the index attached
as its observer, exactly as in production.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console.index import ConversationIndex
from bot.console.queries import (
    ConversationFilter,
    conversation_detail,
    list_conversations,
)
from bot.console.retention import Retention, TrackerPurge
from bot.console.review import EntityInput, Review, ReviewError, project_vocabulary
from bot.console.tables import conversation_table, unanswered_table
from bot.conversation.transcript import TranscriptStore, transcript_table
from bot.settings import Settings
from bot.storage import create_engine, create_tables, open_engine


@dataclass
class World:
    engine: AsyncEngine
    store: TranscriptStore
    index: ConversationIndex
    review: Review

    async def ids(self, filters: ConversationFilter, **kwargs: Any) -> list[str]:
        page = await list_conversations(self.engine, self.index.search, filters, **kwargs)
        return [row.conversation_id for row in page.rows]

    async def turn(
        self,
        conversation: str,
        words: str,
        *,
        intent: str = "consult",
        confidence: float = 0.9,
        actions: tuple[str, ...] = (),
        channel: str = "webchat",
        reply: str = "好的，已经记录。",
    ) -> int:
        row = await self.store.append(conversation, channel, "citizen", words)
        await self.store.annotate(
            row,
            {
                "nlu": {
                    "intent": intent,
                    "confidence": confidence,
                    "entities": [],
                    "actions": list(actions),
                }
            },
        )
        await self.store.append(conversation, channel, "bot", reply, {"status": "ok"})
        return row


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def world(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[World]:
    if request.param == "postgresql":
        settings = settings.with_overrides(database_url=request.getfixturevalue("postgres_url"))
    engine = create_engine(settings)
    await create_tables(engine)
    if request.param == "postgresql":  # the session database is shared: start clean
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS conversation_search"))
            for table in reversed(conversation_table.metadata.sorted_tables):
                if table.name.startswith(("conversation", "nlu_", "unanswered", "transcript")):
                    await conn.execute(table.delete())
    index = ConversationIndex(engine)
    await index.setup()
    store = TranscriptStore(engine)
    store.observers.append(index)
    yield World(engine, store, index, Review(engine, project_vocabulary()))
    await engine.dispose()


async def test_summary_follows_the_turns(world: World) -> None:
    await world.turn(
        "c1", "路灯不亮了", intent="nlu_fallback", confidence=0.3, actions=("utter_default",)
    )
    await world.turn("c1", "经十路这边的路灯", intent="complain", confidence=0.72)
    await world.store.append("c1", "webchat", "system", "", {"handoff": {"state": "waiting"}})
    await world.store.append("c1", "webchat", "system", "", {"handoff": {"state": "with_agent"}})
    await world.store.append("c1", "webchat", "agent", "已为您登记工单GD2026112900012。")
    await world.store.append("c1", "webchat", "system", "", {"rating": 4})
    page = await list_conversations(world.engine, world.index.search, ConversationFilter())
    (row,) = page.rows
    assert row.turns == 8 and row.citizen_turns == 2
    assert row.first_message == "路灯不亮了"
    assert row.min_confidence == pytest.approx(0.3)
    assert row.fallback and row.handed_off
    assert row.handoff_wait_s is not None and row.handoff_wait_s >= 0
    assert row.workorder_no == "GD2026112900012"
    assert row.rating == 4


async def test_every_filter(world: World) -> None:
    await world.turn(
        "low", "我想问问那个事", intent="nlu_fallback", confidence=0.2, actions=("utter_default",)
    )
    await world.turn(
        "std", "GB/T 33358是什么标准", intent="ask_standard", confidence=0.97, channel="wechat"
    )
    await world.turn("noise", "小区晚上噪音太大了", intent="complain", confidence=0.55)
    await world.store.append("noise", "webchat", "agent", "您好，我来处理。工单GD2026112900012")
    seq = (
        (
            await list_conversations(
                world.engine, world.index.search, ConversationFilter(query="噪音")
            )
        )
        .rows[0]
        .seq
    )
    await world.review.add_tag(seq, "噪音扰民", "super1")
    await world.review.set_reviewed(seq, True, "super1")
    await world.review.set_flagged(seq, True)

    assert await world.ids(ConversationFilter()) == ["noise", "std", "low"]
    assert await world.ids(ConversationFilter(confidence_below=0.6)) == ["noise", "low"]
    assert await world.ids(ConversationFilter(fallback=True)) == ["low"]
    assert await world.ids(ConversationFilter(fallback=False)) == ["noise", "std"]
    assert await world.ids(ConversationFilter(channel="wechat")) == ["std"]
    assert await world.ids(ConversationFilter(intent="complain")) == ["noise"]
    assert await world.ids(ConversationFilter(handed_off=True)) == ["noise"]
    assert await world.ids(ConversationFilter(workorder=True)) == ["noise"]
    assert await world.ids(ConversationFilter(workorder=False)) == ["std", "low"]
    assert await world.ids(ConversationFilter(tag="噪音扰民")) == ["noise"]
    assert await world.ids(ConversationFilter(reviewed=False)) == ["std", "low"]
    assert await world.ids(ConversationFilter(flagged=True)) == ["noise"]
    today = datetime.now(UTC).astimezone().date()
    assert await world.ids(ConversationFilter(date_from=today + timedelta(days=2))) == []
    assert len(await world.ids(ConversationFilter(date_from=today - timedelta(days=1)))) == 3
    assert await world.ids(ConversationFilter(query="噪音", confidence_below=0.6)) == ["noise"]


async def test_chinese_full_text_search(world: World) -> None:
    await world.turn("a", "我家楼下的路灯坏了好几天")
    await world.turn("b", "灯泡需要更换吗")
    await world.turn("c", "GB/T 33358 是什么标准")
    await world.turn("d", "噪音")
    await world.store.append("d", "webchat", "agent", "路灯维修已派单")
    search = world.ids
    assert await search(ConversationFilter(query="路灯")) == ["d", "a"]
    assert await search(ConversationFilter(query="路灯坏了")) == ["a"]
    assert await search(ConversationFilter(query="灯坏")) == ["a"]
    assert await search(ConversationFilter(query="灯")) == [
        "d",
        "b",
        "a",
    ]  # prefix: 灯维, 灯泡, 灯坏
    assert await search(ConversationFilter(query="gb/t 33358")) == ["c"]
    assert await search(ConversationFilter(query="ＧＢ３３３５８")) == []  # gb33358 is one token
    assert await search(ConversationFilter(query="已经记录")) == []  # bot replies not indexed
    assert await search(ConversationFilter(query='"OR 1=1 --*')) == []  # syntax is never parsed


async def test_keyset_pagination_is_complete_and_stable(world: World) -> None:
    for n in range(23):
        await world.store.append(f"p{n:02d}", "webchat", "citizen", f"第{n}个问题")
    seen: list[str] = []
    cursor: int | None = None
    while True:
        page = await list_conversations(
            world.engine, world.index.search, ConversationFilter(), before=cursor, limit=10
        )
        seen += [r.conversation_id for r in page.rows]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        await world.store.append("new-during-paging", "webchat", "citizen", "翻页时的新会话")
    assert seen == [f"p{n:02d}" for n in reversed(range(23))]


async def test_rebuild_reproduces_the_live_index(world: World) -> None:
    await world.turn(
        "r1", "路灯不亮", intent="nlu_fallback", confidence=0.2, actions=("utter_default",)
    )
    await world.store.append("r1", "webchat", "agent", "工单GD2026112900012")
    await world.turn("r2", "噪音扰民", intent="complain", confidence=0.8)
    seq = (
        (await list_conversations(world.engine, world.index.search, ConversationFilter()))
        .rows[0]
        .seq
    )
    await world.review.add_tag(seq, "复核样本", "super1")
    before = (await list_conversations(world.engine, world.index.search, ConversationFilter())).rows
    assert await world.index.rebuild() == 2
    after = (await list_conversations(world.engine, world.index.search, ConversationFilter())).rows
    assert after == before
    assert await world.ids(ConversationFilter(query="路灯")) == ["r1"]


async def test_a_failing_index_never_loses_a_citizen_turn(world: World) -> None:
    class Broken:
        async def appended(self, rows: Sequence[dict[str, Any]]) -> None:
            raise RuntimeError("index down")

        async def annotated(self, row_id: int, data: dict[str, Any]) -> None:
            raise RuntimeError("index down")

    world.store.observers.insert(0, Broken())
    row = await world.store.append("kept", "webchat", "citizen", "请帮我查一下")
    await world.store.annotate(row, {"nlu": {"intent": "consult", "confidence": 0.9}})
    assert [r["text"] for r in await world.store.history("kept")] == ["请帮我查一下"]
    assert await world.ids(ConversationFilter()) == ["kept"]  # the next observer still ran


async def test_corrections_are_checked_against_the_domain(world: World) -> None:
    row = await world.turn(
        "fix", "经十路的路灯不亮，电话13812345678", intent="nlu_fallback", confidence=0.2
    )
    bot_row = (await world.store.history("fix"))[1]["id"]
    with pytest.raises(ReviewError, match=r"不在 domain\.yml"):
        await world.review.correct(row, "no_such_intent", [], "super1")
    with pytest.raises(ReviewError, match=r"不在 domain\.yml"):
        await world.review.correct(row, "complain", [EntityInput("color", "路灯")], "super1")
    with pytest.raises(ReviewError, match="没有出现"):
        await world.review.correct(row, "complain", [EntityInput("location", "纬二路")], "super1")
    with pytest.raises(ReviewError, match="重叠"):
        await world.review.correct(
            row,
            "complain",
            [EntityInput("location", "经十路的路灯"), EntityInput("location", "路灯")],
            "super1",
        )
    with pytest.raises(ReviewError, match="市民消息"):
        await world.review.correct(bot_row, "complain", [], "super1")
    seq = await world.review.correct(
        row,
        "complain",
        [EntityInput("location", "经十路"), EntityInput("phone_number", "13812345678")],
        "super1",
    )
    detail = await conversation_detail(world.engine, seq)
    assert detail is not None
    fixed = detail.turns[0].correction
    assert fixed is not None and fixed.intent == "complain"
    assert fixed.predicted_intent == "nlu_fallback" and fixed.predicted_confidence == 0.2
    assert [(e["entity"], e["start"], e["end"]) for e in fixed.entities] == [
        ("location", 0, 3),
        ("phone_number", 11, 22),
    ]
    masked = detail.masked()
    assert "13812345678" not in masked.turns[0].text
    assert masked.turns[0].correction is not None
    assert "13812345678" not in str(masked.turns[0].correction.entities)


async def test_notes_and_tags_are_validated(world: World) -> None:
    await world.turn("n", "你好")
    seq = (
        (await list_conversations(world.engine, world.index.search, ConversationFilter()))
        .rows[0]
        .seq
    )
    with pytest.raises(ReviewError):
        await world.review.add_tag(seq, "有 空格", "super1")
    with pytest.raises(ReviewError):
        await world.review.add_note(seq, "   ", "super1")
    with pytest.raises(ReviewError, match="不存在"):
        await world.review.add_note(seq + 1000, "意见", "super1")
    await world.review.add_note(seq, "应引导市民补充地址", "super1")
    detail = await conversation_detail(world.engine, seq)
    assert detail is not None and [n.body for n in detail.notes] == ["应引导市民补充地址"]


async def _age(world: World, conversation_id: str, days: int) -> None:
    old = datetime.now(UTC) - timedelta(days=days)
    async with world.engine.begin() as conn:
        await conn.execute(
            update(conversation_table)
            .where(conversation_table.c.conversation_id == conversation_id)
            .values(last_at=old, started_at=old)
        )


async def test_retention_anonymises_old_conversations(world: World, tmp_path: Path) -> None:
    row = await world.turn(
        "wx-openid-old", "我住阳光小区3号楼2单元501室，电话13812345678，路灯坏了"
    )
    await world.review.correct(row, "complain", [EntityInput("phone_number", "13812345678")], "s")
    await world.turn("wx-openid-new", "路灯坏了，电话13912345678")
    await _age(world, "wx-openid-old", 400)
    retention = Retention(world.engine, world.index.search)
    result = await retention.run(365, "anonymise")
    assert result.conversations == 1
    assert (await retention.run(365, "anonymise")).conversations == 0  # idempotent
    page = await list_conversations(world.engine, world.index.search, ConversationFilter())
    old = next(r for r in page.rows if r.anonymised)
    assert old.conversation_id.startswith("anon-")
    detail = await conversation_detail(world.engine, old.seq)
    assert detail is not None
    everything = " ".join(t.text for t in detail.turns) + str(detail.turns[0].correction)
    assert "13812345678" not in everything and "501" not in everything
    assert "路灯坏了" in everything
    assert await world.ids(ConversationFilter(query="13812345678")) == []
    assert await world.ids(ConversationFilter(query="路灯")) == [
        "wx-openid-new",
        old.conversation_id,
    ]
    async with world.engine.connect() as conn:
        left = await conn.scalar(
            select(func.count()).where(transcript_table.c.conversation_id == "wx-openid-old")
        )
    assert left == 0


async def test_retention_delete_mode_and_citizen_deletion(world: World) -> None:
    await world.turn("old", "很久以前的问题")
    await world.turn("citizen-a", "我的电话是13812345678，路灯坏了")
    await world.turn("citizen-a2", "还是我，13812345678，路灯还没修")
    await world.turn("other", "我的电话是13812345679")
    await _age(world, "old", 40)
    retention = Retention(world.engine, world.index.search)
    assert (await retention.run(30, "delete")).conversations == 1
    assert "old" not in await world.ids(ConversationFilter())

    found = await retention.find_citizen("13812345678")
    assert sorted(m.conversation_id for m in found) == ["citizen-a", "citizen-a2"]
    assert [m.conversation_id for m in await retention.find_citizen("other")] == ["other"]
    deleted = await retention.delete_conversations([m.seq for m in found])
    assert sorted(deleted) == ["citizen-a", "citizen-a2"]
    assert await world.ids(ConversationFilter()) == ["other"]
    assert await world.store.history("citizen-a") == []


async def test_tracker_events_are_purged(settings: Settings) -> None:
    """Rasa's SQLTrackerStore keeps an ``events`` table keyed by sender id."""
    path = settings.var_dir / "rasa_tracker.db"
    tracker_engine = open_engine(None, path)
    try:
        async with tracker_engine.begin() as conn:
            await conn.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT)"))
            await conn.execute(text("INSERT INTO events (sender_id) VALUES ('a'), ('a'), ('b')"))
        await TrackerPurge(tracker_engine, sqlite_file=path).purge(["a"])
        async with tracker_engine.connect() as conn:
            assert (await conn.execute(text("SELECT sender_id FROM events"))).scalars().all() == [
                "b"
            ]
        missing = settings.var_dir / "absent.db"
        await TrackerPurge(tracker_engine, sqlite_file=missing).purge(["b"])
        assert not missing.exists()
    finally:
        await tracker_engine.dispose()


def test_filters_describe_themselves_for_the_audit_log() -> None:
    described = ConversationFilter(
        date_from=date(2026, 11, 1), fallback=True, query="路灯"
    ).describe()
    assert described == {"date_from": "2026-11-01", "fallback": True, "query": "路灯"}


def test_entities_copied_from_the_masked_view_are_located() -> None:
    from bot.console.review import locate

    message = "经十路12345号路灯坏了，电话13812345678"
    assert locate(message, "经十路") == (0, 3)
    start, end = locate(message, "138****5678") or (0, 0)
    assert message[start:end] == "13812345678"
    start, end = locate(message, "电话138****5678") or (0, 0)
    assert message[start:end] == "电话13812345678"
    assert locate(message, "139****5678") is None


async def test_windowed_search_returns_the_same_pages(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL searches a window of recent conversations first; results must not change."""
    for n in range(40):
        words = "路灯不亮" if n % 2 else "噪音扰民"
        if n in (3, 31):
            words += "，井盖丢失"
        await world.store.append(f"w{n:02d}", "webchat", "citizen", words)
    expected = {
        "路灯": [f"w{n:02d}" for n in reversed(range(40)) if n % 2],
        "井盖": ["w31", "w03"],
        "地铁": [],
    }
    monkeypatch.setattr("bot.console.queries.SEARCH_WINDOW", 6)
    for query, wanted in expected.items():
        seen: list[str] = []
        cursor: int | None = None
        while True:
            page = await list_conversations(
                world.engine,
                world.index.search,
                ConversationFilter(query=query),
                before=cursor,
                limit=4,
            )
            seen += [r.conversation_id for r in page.rows]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == wanted, query


def test_chart_axes_use_round_numbers() -> None:
    from bot.console.charts import bar_chart, column_chart, nice_max

    assert [nice_max(v) for v in (0, 3, 35, 120, 1999)] == [1.0, 5.0, 50.0, 200.0, 2000.0]
    chart = column_chart([(date(2026, 11, d), d * 3, d) for d in range(1, 13)])
    assert [t.label for t in chart.y_ticks] == ["0", "10", "20", "30", "40", "50"]
    assert chart.bars[-1].height > chart.inner[-1].height > 0
    assert not chart.empty and column_chart([(date(2026, 11, 1), 0, 0)]).empty
    bars = bar_chart([("投诉（complain）", 10.0), ("一个非常非常长的意图名字超过十四个字", 5.0)])
    assert bars.bars[0].width == 2 * bars.bars[1].width
    assert bars.bars[1].label.endswith("…") and "超过十四个字" in bars.bars[1].title


async def test_citizen_search_finds_a_mobile_number_however_it_was_written(world: World) -> None:
    await world.turn("dashed", "我的电话是139-1234-5678")
    await world.turn("spaced", "电话 139 1234 5678，路灯坏了")
    await world.turn("plain", "13912345678，还是路灯")
    await world.turn("prefixed", "+86 139 1234 5678")
    await world.turn("neighbour", "我的电话是13912345679")
    retention = Retention(world.engine, world.index.search)
    for query in ("13912345678", "139-1234-5678", "139 1234 5678", "+86 139 1234 5678"):
        found = sorted(m.conversation_id for m in await retention.find_citizen(query))
        assert found == ["dashed", "plain", "prefixed", "spaced"], query


async def test_a_deleted_conversations_number_is_never_given_again(world: World) -> None:
    await world.turn("first", "路灯坏了")
    await world.turn("newest", "噪音扰民")
    retention = Retention(world.engine, world.index.search)
    [newest] = await retention.find_citizen("newest")
    await retention.delete_conversations([newest.seq])
    await world.turn("after", "又有一个问题")
    [after] = await retention.find_citizen("after")
    assert after.seq > newest.seq


async def test_an_older_sqlite_file_stops_reusing_numbers(settings: Settings) -> None:
    """Files made before AUTOINCREMENT are rebuilt once when the console starts."""
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateTable

    old_ddl = str(CreateTable(conversation_table).compile(dialect=sqlite.dialect()))
    settings.var_dir.mkdir(parents=True)
    with sqlite3.connect(settings.var_dir / "hotline.db") as db:
        db.execute(old_ddl.replace("AUTOINCREMENT", ""))
    db.close()
    engine = create_engine(settings)
    try:
        await create_tables(engine)
        index = ConversationIndex(engine)
        await index.setup()
        store = TranscriptStore(engine)
        store.observers.append(index)
        await store.append("kept", "webchat", "citizen", "路灯坏了")
        await store.append("newest", "webchat", "citizen", "噪音扰民")
        retention = Retention(engine, index.search)
        [newest] = await retention.find_citizen("newest")
        await retention.delete_conversations([newest.seq])
        await index.setup()  # the next start: nothing left to upgrade
        await store.append("after", "webchat", "citizen", "又有一个问题")
        [after] = await retention.find_citizen("after")
        assert after.seq > newest.seq
        assert [m.conversation_id for m in await retention.find_citizen("kept")] == ["kept"]
    finally:
        await engine.dispose()


async def test_anonymising_masks_the_unanswered_log(world: World) -> None:
    await world.turn(
        "old", "电话13812345678怎么办", intent="nlu_fallback", actions=("utter_default",)
    )
    await _age(world, "old", 400)
    await Retention(world.engine, world.index.search).run(365, "anonymise")
    async with world.engine.connect() as conn:
        rows = (
            await conn.execute(select(unanswered_table.c.text, unanswered_table.c.normalized))
        ).all()
    assert [tuple(row) for row in rows] == [("电话138****5678怎么办", "电话1385678怎么办")]


@pytest.mark.parametrize("mode", ["delete", "anonymise"])
async def test_erased_words_are_gone_from_the_database_file(
    world: World, settings: Settings, mode: str
) -> None:
    """FTS5 keeps deleted terms in its segments, SQLite keeps deleted rows in free space:
    neither may still hold a number the citizen asked to erase."""
    if world.engine.dialect.name != "sqlite":
        pytest.skip("a PostgreSQL server's files are not ours to read")
    for n in range(30):
        await world.turn(f"c{n}", f"第{n}个问题，路灯坏了")
    await world.turn("citizen", "身份证370102199003071238，电话13812345678")
    await world.turn("citizen", "还有一件事")
    retention = Retention(world.engine, world.index.search)
    if mode == "delete":
        [match] = await retention.find_citizen("13812345678")
        await retention.delete_conversations([match.seq])
    else:
        await _age(world, "citizen", 400)
        assert (await retention.run(365, "anonymise")).conversations == 1
    for path in settings.var_dir.iterdir():
        data = path.read_bytes()
        assert b"370102199003071238" not in data and b"13812345678" not in data, path.name
