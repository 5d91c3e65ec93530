"""``python -m bot bench console``: list and search latency at 100,000 conversations.

Generates hotline-like conversations (Chinese requests about street lights, noise, water,
heating …, with fallbacks, handoffs, work orders and ratings in realistic shares), bulk
loads them the way the index stores them, then times the console's queries: first and
deep pages (keyset), each filter, full-text search alone and combined with filters, one
conversation's detail and the 30-day dashboard. Also times a live turn written through
the ``TranscriptStore`` with and without the index observer (the write overhead).

PostgreSQL runs in a fresh database created for the run and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.bench.common import create_database, drop_database
from bot.clock import BEIJING, beijing_day, utcnow
from bot.console.index import ConversationIndex, normalise_question
from bot.console.metrics import dashboard
from bot.console.queries import ConversationFilter, conversation_detail, list_conversations
from bot.console.tables import (
    conversation_intent_table,
    conversation_table,
    conversation_tag_table,
    unanswered_table,
)
from bot.conversation.transcript import TranscriptStore, transcript_table
from bot.settings import Settings
from bot.storage import create_engine, create_tables

_ROADS = [
    "经十路",
    "泉城路",
    "历山路",
    "解放路",
    "二环东路",
    "英雄山路",
    "花园路",
    "工业南路",
    "舜耕路",
    "文化东路",
    "北园大街",
    "大明湖路",
    "旅游路",
    "奥体中路",
    "共青团路",
    "堤口路",
]
_PLACES = ["小区门口", "公交站旁", "学校附近", "菜市场边上", "十字路口", "楼道里", "广场上"]
_ISSUES = [
    ("complain", "路灯不亮好几天了"),
    ("complain", "晚上施工噪音太大影响休息"),
    ("complain", "垃圾好几天没人清运"),
    ("seek_help", "家里停水了什么时候恢复"),
    ("complain", "暖气不热室温只有十五度"),
    ("report", "有人占道经营堵住了路"),
    ("consult", "公交线路调整了怎么坐车"),
    ("consult", "办理居住证需要什么材料"),
    ("suggest", "建议在这里增设红绿灯"),
    ("report", "井盖丢失很危险"),
    ("consult", "医保异地报销怎么办理"),
    ("praise", "感谢社区工作人员帮忙"),
]
_VAGUE = ["那个事情怎么弄", "我想问一下上次说的", "你们管不管", "喂喂听得到吗", "这个到底找谁"]
_CHANNELS = ["webchat", "wechat", "wechat", "rest", "phone"]
_TAGS = ["路灯", "噪音", "复核样本", "话术问题", "知识缺失"]


@dataclass(frozen=True)
class Figure:
    name: str
    median_ms: float
    p95_ms: float
    rows: int


def _conversation(rng: random.Random, n: int, started: datetime) -> dict[str, Any]:
    """One synthetic conversation: its transcript rows and the summary the index derives."""
    cid = f"bench-{n:06d}-{rng.getrandbits(32):08x}"
    channel = rng.choice(_CHANNELS)
    fallback = rng.random() < 0.12
    handoff = rng.random() < (0.6 if fallback else 0.06)
    workorder = rng.random() < 0.2
    rows: list[dict[str, Any]] = []
    intents: set[str] = set()
    min_conf: float | None = None
    first = ""
    words: list[str] = []
    moment = started
    unanswered: list[tuple[int, str]] = []
    for turn in range(rng.randint(1, 3)):
        road, place = rng.choice(_ROADS), rng.choice(_PLACES)
        if fallback and turn == 0:
            intent, said, conf = "nlu_fallback", rng.choice(_VAGUE), rng.uniform(0.1, 0.45)
            unanswered.append((len(rows), said))
        else:
            intent, issue = rng.choice(_ISSUES)
            said, conf = f"{road}{place}{issue}", rng.uniform(0.5, 0.99)
        if rng.random() < 0.1:
            said += f"，电话1{rng.randint(3, 9)}{rng.randint(0, 999_999_999):09d}"
        first = first or said
        words.append(said)
        intents.add(intent)
        min_conf = conf if min_conf is None else min(min_conf, conf)
        nlu = {
            "intent": intent,
            "confidence": round(conf, 3),
            "entities": [{"entity": "location", "value": road}],
            "actions": ["utter_default"] if intent == "nlu_fallback" else ["action_answer"],
        }
        rows.append(_row(cid, channel, "citizen", said, {"nlu": nlu}, moment))
        moment += timedelta(seconds=rng.randint(1, 5))
        reply = (
            "抱歉，我没有完全理解您的意思。" if intent == "nlu_fallback" else "您反映的情况已记录。"
        )
        rows.append(_row(cid, channel, "bot", reply, {"status": "ok"}, moment))
        moment += timedelta(seconds=rng.randint(10, 90))
    order_no = None
    if workorder:
        order_no = f"GD{started.astimezone(BEIJING):%Y%m%d}{n % 100000:05d}"
        rows.append(
            _row(cid, channel, "bot", f"已为您登记工单{order_no}。", {"status": "ok"}, moment)
        )
    wait = None
    if handoff:
        rows.append(_row(cid, channel, "system", "", {"handoff": {"state": "waiting"}}, moment))
        wait = float(rng.randint(5, 400))
        moment += timedelta(seconds=wait)
        rows.append(_row(cid, channel, "system", "", {"handoff": {"state": "with_agent"}}, moment))
        said = "您好，我是话务员，请您说一下具体位置。"
        words.append(said)
        rows.append(_row(cid, channel, "agent", said, None, moment))
    rating = rng.randint(1, 5) if rng.random() < 0.3 else None
    summary = {
        "conversation_id": cid,
        "channel": channel,
        "started_at": started,
        "started_day": beijing_day(started),
        "last_at": moment,
        "turns": len(rows),
        "citizen_turns": sum(1 for r in rows if r["role"] == "citizen"),
        "first_message": first[:200],
        "last_status": "ok",
        "min_confidence": round(min_conf, 3) if min_conf is not None else None,
        "fallback": fallback,
        "handoff_requested_at": started if handoff else None,
        "handed_off": handoff,
        "handoff_wait_s": wait,
        "workorder_no": order_no,
        "rating": rating,
        "reviewed": rng.random() < 0.05,
        "flagged": rng.random() < 0.01,
        "anonymised": False,
    }
    return {
        "rows": rows,
        "summary": summary,
        "intents": intents,
        "words": "\n".join(words),
        "unanswered": unanswered,
    }


def _row(
    cid: str, channel: str, role: str, said: str, data: dict[str, Any] | None, at: datetime
) -> dict[str, Any]:
    return {
        "conversation_id": cid,
        "channel": channel,
        "role": role,
        "text": said,
        "data": data,
        "created_at": at,
    }


async def load(
    engine: AsyncEngine, index: ConversationIndex, count: int, seed: int = 12345
) -> None:
    """Bulk-loads ``count`` conversations spread over the last 90 days, oldest first."""
    rng = random.Random(seed)
    now = utcnow()
    start = now - timedelta(days=90)
    step = timedelta(days=90) / max(count, 1)
    batch = 2000
    async with engine.connect() as conn:
        next_id = (
            int(await conn.scalar(select(func.coalesce(func.max(transcript_table.c.id), 0))) or 0)
            + 1
        )
        next_seq = (
            int(
                await conn.scalar(select(func.coalesce(func.max(conversation_table.c.seq), 0))) or 0
            )
            + 1
        )
    for offset in range(0, count, batch):
        items = [
            _conversation(rng, n, start + step * n)
            for n in range(offset, min(count, offset + batch))
        ]
        transcript_rows: list[dict[str, Any]] = []
        summaries: list[dict[str, Any]] = []
        intent_rows: list[dict[str, Any]] = []
        tag_rows: list[dict[str, Any]] = []
        unanswered_rows: list[dict[str, Any]] = []
        documents: list[tuple[int, str]] = []
        for item in items:
            seq = next_seq
            next_seq += 1
            first_id = next_id
            for row in item["rows"]:
                transcript_rows.append({"id": next_id, **row})
                next_id += 1
            summaries.append({"seq": seq, **item["summary"]})
            intent_rows += [{"intent": i, "seq": seq} for i in item["intents"]]
            if rng.random() < 0.02:
                tag_rows.append(
                    {"tag": rng.choice(_TAGS), "seq": seq, "created_by": "bench", "created_at": now}
                )
            for position, said in item["unanswered"]:
                unanswered_rows.append(
                    {
                        "transcript_id": first_id + position,
                        "seq": seq,
                        "day": item["summary"]["started_day"],
                        "normalized": normalise_question(said),
                        "text": said,
                    }
                )
            documents.append((seq, item["words"]))
        async with engine.begin() as conn:
            await conn.execute(transcript_table.insert(), transcript_rows)
            await conn.execute(conversation_table.insert(), summaries)
            await conn.execute(conversation_intent_table.insert(), intent_rows)
            if tag_rows:
                await conn.execute(conversation_tag_table.insert(), tag_rows)
            if unanswered_rows:
                await conn.execute(unanswered_table.insert(), unanswered_rows)
            await index.search.add_many(conn, documents)
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in ("transcript", "conversation"):
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', "
                        f"'{'id' if table == 'transcript' else 'seq'}'), "
                        f"(SELECT max({'id' if table == 'transcript' else 'seq'}) FROM {table}))"
                    )
                )
            await conn.execute(text("ANALYZE"))
        else:
            await conn.execute(text("ANALYZE"))


async def _time(name: str, work: Callable[[], Awaitable[int]], repeat: int) -> Figure:
    await work()  # warm caches, as a console in use would have them
    samples: list[float] = []
    rows = 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = await work()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return Figure(name, statistics.median(samples), p95, rows)


async def measure(engine: AsyncEngine, index: ConversationIndex, repeat: int) -> list[Figure]:
    search = index.search
    async with engine.connect() as conn:
        top = int(await conn.scalar(select(func.max(conversation_table.c.seq))) or 0)
    today = beijing_day(utcnow())

    def listing(
        filters: ConversationFilter, before: int | None = None
    ) -> Callable[[], Awaitable[int]]:
        async def run() -> int:
            page = await list_conversations(engine, search, filters, before=before)
            return len(page.rows)

        return run

    async def detail() -> int:
        found = await conversation_detail(engine, top // 2)
        return len(found.turns) if found else 0

    async def board() -> int:
        result = await dashboard(engine, today - timedelta(days=29), today)
        return result.conversations

    cases: list[tuple[str, Callable[[], Awaitable[int]]]] = [
        ("列表 第一页（无筛选）", listing(ConversationFilter())),
        ("列表 中间页（keyset）", listing(ConversationFilter(), before=top // 2)),
        ("列表 最后一页附近", listing(ConversationFilter(), before=60)),
        ("筛选 置信度<0.5", listing(ConversationFilter(confidence_below=0.5))),
        ("筛选 兜底+微信", listing(ConversationFilter(fallback=True, channel="wechat"))),
        ("筛选 意图=suggest", listing(ConversationFilter(intent="suggest"))),
        ("筛选 已转人工+有工单", listing(ConversationFilter(handed_off=True, workorder=True))),
        ("筛选 评分=1", listing(ConversationFilter(rating=1))),
        ("筛选 标签=话术问题", listing(ConversationFilter(tag="话术问题"))),
        (
            "筛选 最近7天未复核",
            listing(ConversationFilter(date_from=today - timedelta(days=6), reviewed=False)),
        ),
        (
            "筛选 一个月前的某一天",
            listing(
                ConversationFilter(
                    date_from=today - timedelta(days=30), date_to=today - timedelta(days=30)
                )
            ),
        ),
        ("搜索 常见词“路灯”", listing(ConversationFilter(query="路灯"))),
        ("搜索 短语“暖气不热”", listing(ConversationFilter(query="暖气不热"))),
        (
            "搜索 少见词“井盖丢失”+中间页",
            listing(ConversationFilter(query="井盖丢失"), before=top // 2),
        ),
        ("搜索 单字“灯”", listing(ConversationFilter(query="灯"))),
        ("搜索+筛选 “噪音”且转人工", listing(ConversationFilter(query="噪音", handed_off=True))),
        ("搜索 无结果“地铁”", listing(ConversationFilter(query="地铁"))),
        ("会话详情", detail),
        ("指标 近30天", board),
    ]
    return [await _time(name, work, repeat) for name, work in cases]


async def measure_writes(
    engine: AsyncEngine, index: ConversationIndex, turns: int
) -> tuple[float, float]:
    """Median milliseconds per appended turn: plain transcript, then with the index."""
    results = []
    for observed in (False, True):
        store = TranscriptStore(engine)
        if observed:
            store.observers.append(index)
        samples = []
        for n in range(turns):
            started = time.perf_counter()
            await store.append(
                f"write-{observed}-{n % 20}", "webchat", "citizen", f"经十路路灯不亮第{n}次"
            )
            samples.append((time.perf_counter() - started) * 1000)
        results.append(statistics.median(samples))
    return results[0], results[1]


async def run_backend(
    label: str, settings: Settings, count: int, repeat: int
) -> tuple[float, list[Figure], tuple[float, float], int]:
    engine = create_engine(settings)
    try:
        await create_tables(engine)
        index = ConversationIndex(engine)
        await index.setup()
        started = time.perf_counter()
        await load(engine, index, count)
        load_s = time.perf_counter() - started
        async with engine.connect() as conn:
            rows = int(await conn.scalar(select(func.count()).select_from(transcript_table)) or 0)
        figures = await measure(engine, index, repeat)
        writes = await measure_writes(engine, index, 200)
        return load_s, figures, writes, rows
    finally:
        await engine.dispose()


def _pad(label: str, width: int) -> str:
    """Left-aligns text whose Chinese characters take two columns in a terminal."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in label)
    return label + " " * max(1, width - used)


def _print(
    label: str,
    count: int,
    load_s: float,
    figures: list[Figure],
    writes: tuple[float, float],
    rows: int,
) -> None:
    print(
        f"\n== {label}: {count:,} conversations, {rows:,} transcript rows (loaded in {load_s:.0f} s)"
    )
    print(f"{_pad('查询', 36)}{'median ms':>10}{'p95 ms':>9}{'rows':>6}")
    for f in figures:
        print(f"{_pad(f.name, 36)}{f.median_ms:>10.1f}{f.p95_ms:>9.1f}{f.rows:>6}")
    print(f"append one turn: {writes[0]:.1f} ms plain, {writes[1]:.1f} ms with the console index")


async def bench(count: int, repeat: int, backends: list[str], postgres_base: str) -> int:
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings().with_overrides(var_dir=Path(tmp))
            if backend == "sqlite":
                result = await run_backend("SQLite", settings, count, repeat)
                _print("SQLite", count, *result)
                continue
            name = f"hotline_bench_{uuid.uuid4().hex[:10]}"
            url = create_database(postgres_base, name)
            try:
                result = await run_backend(
                    "PostgreSQL", settings.with_overrides(database_url=url), count, repeat
                )
                _print("PostgreSQL", count, *result)
            finally:
                drop_database(postgres_base, name)
    return 0


def main(args: argparse.Namespace) -> int:
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    return asyncio.run(bench(args.conversations, args.repeat, backends, args.postgres_url))
