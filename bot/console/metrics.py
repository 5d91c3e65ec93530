"""Service metrics for a period, computed from the conversation summary and work orders.

Each section is also a plain table (``MetricTable``) so that every chart has a CSV export
with the same numbers. Work-order figures come from the work-order events the gateway
received (``bot.console.workorders``); without any in the period the section is empty and
the page says 暂无数据 instead of showing zeros that look like real measurements.

The three outcome rates share one base, the conversations in which a citizen wrote at
least once, and split it without overlap, so they add up to 100 %: 转人工 (an agent
served it), 兜底 (the assistant failed to understand at least once and no agent took
over: see ``index.is_fallback``) and 机器人独立解决 (the rest). ``RATE_EXPLANATIONS``
says this on the page.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import beijing_day, utcnow
from bot.console.questions import MAX_PHRASINGS, QuestionGroup, group_questions
from bot.console.tables import conversation_intent_table, conversation_table, unanswered_table
from bot.console.workorders import WorkOrderLog, WorkOrderStats

TOP_N = 10

RATE_EXPLANATIONS = {
    "conversations": "所选时段内市民至少发言一次的会话数，是下面三项比率的共同基数。",
    "solved": "既没有转人工、也没有出现“未能理解”答复的会话占会话总数的比例。"
    "与兜底率、转人工率三项互不重叠，合计 100%。",
    "fallback": "智能助手至少一次答复“没有完全理解”、且最终没有转人工的会话占会话总数的比例。"
    "表单（如登记工单）接住并继续询问的回答不计入。",
    "handed_off": "由人工客服接待过的会话占会话总数的比例（转人工后又出现兜底的，只计入转人工）。",
}


@dataclass(frozen=True)
class MetricTable:
    key: str
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class Dashboard:
    date_from: date
    date_to: date
    conversations: int
    handed_off: int
    fallback: int
    wait_avg_s: float | None
    wait_median_s: float | None
    wait_max_s: float | None
    rating_avg: float | None
    rated: int
    per_day: list[tuple[date, int, int, int]]  # day, conversations, handed off, fallback
    top_intents: list[tuple[str, int]]
    unanswered: list[QuestionGroup]
    ratings: list[tuple[int, int]]
    workorders: WorkOrderStats | None = None
    notes: list[str] = field(default_factory=list)

    def rate(self, count: int) -> float | None:
        return count / self.conversations if self.conversations else None

    @property
    def solved(self) -> int:
        return self.conversations - self.handed_off - self.fallback

    def tables(self) -> list[MetricTable]:
        def pct(value: float | None) -> str:
            return "" if value is None else f"{value * 100:.1f}%"

        tables = [
            MetricTable(
                "summary",
                "总体指标",
                ("指标", "数值"),
                [
                    ("会话总数", self.conversations),
                    ("机器人独立解决率", pct(self.rate(self.solved))),
                    ("兜底率", pct(self.rate(self.fallback))),
                    ("转人工率", pct(self.rate(self.handed_off))),
                    ("平均等待时长（秒）", _round(self.wait_avg_s)),
                    ("等待时长中位数（秒）", _round(self.wait_median_s)),
                    ("最长等待时长（秒）", _round(self.wait_max_s)),
                    ("会话平均评分（1-5）", _round(self.rating_avg, 2)),
                    ("评分会话数", self.rated),
                ],
            ),
            MetricTable(
                "per_day",
                "每日会话量",
                ("日期", "会话数", "转人工", "兜底"),
                [(d.isoformat(), n, h, f) for d, n, h, f in self.per_day],
            ),
            MetricTable("intents", "热门意图", ("意图", "会话数"), list(self.top_intents)),
            MetricTable(
                "unanswered",
                "未能回答的问题",
                ("问题（示例）", "相似问法", "次数"),
                [(g.sample, "；".join(g.phrasings), g.asked) for g in self.unanswered],
            ),
            MetricTable("ratings", "会话评分分布", ("评分", "会话数"), list(self.ratings)),
        ]
        w = self.workorders
        if w is not None:
            tables += [
                MetricTable("wo_type", "工单诉求类型", ("类型", "工单数"), w.by_type),
                MetricTable("wo_department", "工单承办部门", ("部门", "工单数"), w.by_department),
                MetricTable("wo_status", "工单状态", ("状态", "工单数"), w.by_status),
                MetricTable(
                    "wo_summary",
                    "工单办理时效",
                    ("指标", "数值"),
                    [
                        ("工单总数", w.total),
                        ("已答复工单", w.answered),
                        ("按时答复", w.on_time),
                        ("按时答复率", pct(w.on_time_rate)),
                        ("黄牌预警（在办）", w.yellow),
                        ("红牌超期（在办）", w.red),
                    ],
                ),
                MetricTable(
                    "wo_satisfaction", "工单回访满意度", ("评价", "工单数"), w.satisfaction
                ),
            ]
        return tables


def _round(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def default_period(today: date | None = None, days: int = 30) -> tuple[date, date]:
    end = today or beijing_day(utcnow())
    return end - timedelta(days=days - 1), end


async def dashboard(
    engine: AsyncEngine,
    date_from: date,
    date_to: date,
    workorders: WorkOrderLog | None = None,
) -> Dashboard:
    c = conversation_table.c
    in_period = and_(c.started_day >= date_from, c.started_day <= date_to, c.citizen_turns > 0)
    async with engine.connect() as conn:
        per_day_rows = (
            await conn.execute(
                select(
                    c.started_day,
                    func.count(),
                    func.sum(cast(c.handed_off, Integer)),
                    func.sum(case((and_(c.fallback, ~c.handed_off), 1), else_=0)),
                )
                .where(in_period)
                .group_by(c.started_day)
                .order_by(c.started_day)
            )
        ).all()
        waits = [
            float(v)
            for v in (
                await conn.execute(
                    select(c.handoff_wait_s).where(in_period, c.handoff_wait_s.is_not(None))
                )
            ).scalars()
        ]
        ratings = (
            await conn.execute(
                select(c.rating, func.count())
                .where(in_period, c.rating.is_not(None))
                .group_by(c.rating)
                .order_by(c.rating)
            )
        ).all()
        i = conversation_intent_table.c
        intents = (
            await conn.execute(
                select(i.intent, func.count().label("n"))
                .join(conversation_table, c.seq == i.seq)
                .where(in_period)
                .group_by(i.intent)
                .order_by(func.count().desc(), i.intent)
                .limit(TOP_N)
            )
        ).all()
        u = unanswered_table.c
        unanswered = (
            await conn.execute(
                select(u.normalized, func.min(u.text), func.count().label("n"))
                .where(u.day >= date_from, u.day <= date_to)
                .group_by(u.normalized)
                .order_by(func.count().desc(), func.min(u.text))
                .limit(MAX_PHRASINGS)
            )
        ).all()
    per_day = [(_as_date(d), int(n), int(h or 0), int(f or 0)) for d, n, h, f in per_day_rows]
    total = sum(n for _, n, _, _ in per_day)
    rated = sum(int(n) for _, n in ratings)
    result = Dashboard(
        date_from=date_from,
        date_to=date_to,
        conversations=total,
        handed_off=sum(h for _, _, h, _ in per_day),
        fallback=sum(f for _, _, _, f in per_day),
        wait_avg_s=statistics.fmean(waits) if waits else None,
        wait_median_s=statistics.median(waits) if waits else None,
        wait_max_s=max(waits) if waits else None,
        rating_avg=(sum(int(r) * int(n) for r, n in ratings) / rated) if rated else None,
        rated=rated,
        per_day=_fill_days(per_day, date_from, date_to),
        top_intents=[(str(name), int(n)) for name, n in intents],
        unanswered=group_questions([(str(k), str(t), int(n)) for k, t, n in unanswered]),
        ratings=[(int(r), int(n)) for r, n in ratings],
    )
    if workorders is not None:
        result = replace(result, workorders=await workorders.stats(date_from, date_to))
    return result


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _fill_days(
    rows: list[tuple[date, int, int, int]], start: date, end: date
) -> list[tuple[date, int, int, int]]:
    """Days without conversations appear as zeros, so the chart's x axis is honest."""
    if (end - start).days > 366:
        return rows
    known = {d: (d, n, h, f) for d, n, h, f in rows}
    out = []
    day = start
    while day <= end:
        out.append(known.get(day, (day, 0, 0, 0)))
        day += timedelta(days=1)
    return out
