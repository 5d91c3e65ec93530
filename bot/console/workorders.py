"""The work-order events the gateway received by webhook: the console's own record of them.

The console's work-order figures must hold against any 12345 platform, so they are
computed from what the platform tells us (its signed status webhooks), never from its
tables. Each event is kept once (its id is the key, which also makes a retried delivery
recognisable) in the project's database; an order's figures are its events folded in
order: its latest status, type, unit and deadline, whether and when it was answered, and
how the citizen rated the answer (the event's ``rating``; for a platform that sends none,
inferred from the rating event: back to 已派单 means a dissatisfied citizen and rework). Only orders that can reach a citizen on a channel send
webhooks, so these are the assistant's orders, which is what the console is about. Each
event's ``confidential`` (保密; null when the platform does not say) is kept too, so that
routing's training export (``bot.routing.feedback``) can leave confidential orders out.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    String,
    Table,
    and_,
    delete,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import BEIJING, as_utc, utcnow
from bot.settings import Settings
from bot.storage import metadata
from bot.workorders.desk import build_policy
from bot.workorders.models import Deadline, Rating
from bot.workorders.webhooks import WebhookEvent

logger = logging.getLogger(__name__)

TOP_N = 20
STATUS_LABELS = {
    "accepted": "已受理",
    "dispatched": "已派单",
    "signed": "已签收",
    "handling": "办理中",
    "returned": "已退单",
    "replied": "已答复",
    "closed": "已办结",
    "cancelled": "已撤销",
}
OPEN = frozenset({"accepted", "dispatched", "signed", "handling", "returned"})
SATISFIED = "满意或基本满意"
DISSATISFIED = "不满意（已重办）"
UNTYPED = "未分类"

CardOf = Callable[[datetime, datetime], str]

event_log = Table(
    "workorder_event_log",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("order_no", String(32), nullable=False),
    Column("action", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("department", String(128), nullable=False),
    Column("request_type", String(64), nullable=False, default=""),
    Column("rating", String(32), nullable=True),
    Column("confidential", Boolean, nullable=True),  # None: the platform did not say
    Column("due_at", DateTime(timezone=True), nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_workorder_event_log_order", "order_no", "at"),
)


@dataclass(frozen=True)
class WorkOrderStats:
    total: int
    by_type: list[tuple[str, int]]
    by_department: list[tuple[str, int]]
    by_status: list[tuple[str, int]]
    answered: int
    on_time: int
    yellow: int
    red: int
    satisfaction: list[tuple[str, int]]

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.answered if self.answered else None


@dataclass
class _Order:
    """One order as its events so far describe it."""

    status: str = ""
    request_type: str = ""
    department: str = ""
    due_at: datetime | None = None
    answered_late: bool | None = None  # None: not answered in the current round
    rated: str = ""

    def apply(self, row: Any) -> None:
        """Folds in one stored event (a row of :data:`event_log`)."""
        due_at = as_utc(row.due_at)
        self.status, self.department, self.due_at = row.status, row.department, due_at
        self.request_type = row.request_type or self.request_type
        if row.action == "reply":
            self.answered_late = due_at is not None and as_utc(row.at) > due_at
        elif row.action == "rate":
            rework = row.status == "dispatched"
            self.rated = _rating_label(row.rating) or (DISSATISFIED if rework else SATISFIED)
            if rework:
                self.answered_late = None


def deadline_cards(settings: Settings) -> CardOf | None:
    """``none`` / ``yellow`` / ``red`` for an open order's deadline, by the hotline's own
    time-limit rules and working calendar; None when those rules cannot be loaded."""
    try:
        policy = build_policy(settings)
    except Exception:
        logger.exception("work-order time-limit rules unavailable; cards not shown")
        return None

    def card_of(due_at: datetime, now: datetime) -> str:
        return str(policy.card(Deadline(due_at=due_at, kind="", description=""), now).value)

    return card_of


class WorkOrderLog:
    def __init__(self, engine: AsyncEngine, card_of: CardOf | None = None) -> None:
        self.engine = engine
        self.card_of = card_of

    async def record(self, event: WebhookEvent) -> bool:
        """Keeps the event; False when its id was already received (a retried delivery)."""
        row = {
            "event_id": event.event_id,
            "order_no": event.order_no,
            "action": event.action,
            "status": event.status,
            "department": event.department,
            "request_type": event.request_type or "",
            "rating": event.rating or None,
            "confidential": None if event.confidential is None else bool(event.confidential),
            "due_at": _moment(event.deadline),
            "at": _moment(event.at) or utcnow(),
            "received_at": utcnow(),
        }
        try:
            async with self.engine.begin() as conn:
                await conn.execute(event_log.insert().values(**row))
        except IntegrityError:
            return False
        return True

    async def forget(self, event: WebhookEvent) -> None:
        """Undoes :meth:`record` when the event could not be handled, so its retry is."""
        async with self.engine.begin() as conn:
            await conn.execute(delete(event_log).where(event_log.c.event_id == event.event_id))

    async def stats(self, date_from: date, date_to: date) -> WorkOrderStats | None:
        """Figures for the orders accepted in the period (China days); None without any."""
        start = datetime.combine(date_from, datetime.min.time(), tzinfo=BEIJING)
        end = datetime.combine(date_to + timedelta(days=1), datetime.min.time(), tzinfo=BEIJING)
        c = event_log.c
        accepted = (
            select(c.order_no)
            .group_by(c.order_no)
            .having(and_(func.min(c.at) >= start, func.min(c.at) < end))
        )
        query = (
            select(
                c.order_no,
                c.action,
                c.status,
                c.request_type,
                c.rating,
                c.department,
                c.due_at,
                c.at,
            )
            .where(c.order_no.in_(accepted))
            .order_by(c.order_no, c.at, c.received_at)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        if not rows:
            return None
        return self._figures(_fold(rows), utcnow())

    def _figures(self, orders: Sequence[_Order], now: datetime) -> WorkOrderStats:
        types = Counter(order.request_type or UNTYPED for order in orders)
        departments = Counter(order.department or "未派单" for order in orders)
        statuses = Counter(STATUS_LABELS.get(order.status, order.status) for order in orders)
        answered = [order for order in orders if order.answered_late is not None]
        cards = Counter(
            self.card_of(order.due_at, now)
            for order in orders
            if self.card_of is not None and order.status in OPEN and order.due_at is not None
        )
        return WorkOrderStats(
            total=len(orders),
            by_type=types.most_common(TOP_N),
            by_department=departments.most_common(TOP_N),
            by_status=statuses.most_common(),
            answered=len(answered),
            on_time=sum(1 for order in answered if not order.answered_late),
            yellow=cards["yellow"],
            red=cards["red"],
            satisfaction=Counter(order.rated for order in orders if order.rated).most_common(),
        )


def _fold(rows: Iterable[Any]) -> list[_Order]:
    orders: dict[str, _Order] = {}
    for row in rows:
        orders.setdefault(row.order_no, _Order()).apply(row)
    return list(orders.values())


def _rating_label(code: str | None) -> str:
    """满意 / 基本满意 / 不满意 for a rating code; the code itself when unknown."""
    if not code:
        return ""
    try:
        return Rating(code).label
    except ValueError:
        return code


def _moment(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        return None
