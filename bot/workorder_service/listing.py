"""The order list of the centre and the departments: filters, a cursor and the total.

Orders come by deadline (then number), most urgent first. The cursor is the last row's
(deadline, order number), so a page follows on from the one before even while orders are
created or change state in between (an offset would skip or repeat them), and ``total``
says how many orders match, so a list is never cut short without saying so.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.workorder_service.store import orders, record_from_row
from bot.workorders.deadlines import DeadlinePolicy
from bot.workorders.lifecycle import OrderRecord
from bot.workorders.models import OPEN_STATUSES, Card, Deadline, InvalidField, Status

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class OrderFilter:
    department: str | None = None
    status: Status | None = None
    card: Card | None = None


@dataclass(frozen=True)
class ListedOrders:
    orders: list[OrderRecord]
    total: int
    next_cursor: str | None  # None on the last page


def encode_cursor(order: OrderRecord) -> str:
    due = order.deadline.due_at.isoformat() if order.deadline else ""
    raw = json.dumps([due, order.order_no]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Raises :class:`InvalidField` for a cursor this service did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        due, order_no = json.loads(raw)
        return datetime.fromisoformat(due), str(order_no)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidField("cursor", "字段 cursor 无效：请使用上一页返回的 next_cursor。") from None


class OrderListing:
    def __init__(
        self, engine: AsyncEngine, policy: DeadlinePolicy, clock: Callable[[], datetime]
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.clock = clock

    async def page(
        self, where: OrderFilter, cursor: str | None = None, limit: int = DEFAULT_PAGE_SIZE
    ) -> ListedOrders:
        size = max(1, min(limit, MAX_PAGE_SIZE))
        after = decode_cursor(cursor) if cursor else None
        conditions = self._conditions(where)
        order_by = (orders.c.deadline_at, orders.c.order_no)
        async with self.engine.connect() as conn:
            if where.card is None:
                count = select(func.count()).select_from(orders).where(*conditions)
                total = int((await conn.execute(count)).scalar_one())
                if after is not None:
                    conditions.append(_after(*after))
                query = select(orders).where(*conditions).order_by(*order_by).limit(size + 1)
            else:
                # the card depends on the working calendar, not on a column alone: decide it
                # on the matching orders' deadlines, then read the page's rows
                keys = select(
                    orders.c.deadline_at, orders.c.order_no, orders.c.status, orders.c.deadline
                )
                carded = [
                    (row.deadline_at, row.order_no)
                    for row in (await conn.execute(keys.where(*conditions).order_by(*order_by)))
                    if self._card(Status(row.status), row.deadline) is where.card
                ]
                total = len(carded)
                wanted = [key[1] for key in carded if after is None or key > after][: size + 1]
                query = select(orders).where(orders.c.order_no.in_(wanted)).order_by(*order_by)
            rows = (await conn.execute(query)).all()
        records = [record_from_row(row._mapping) for row in rows[:size]]
        more = len(rows) > size
        return ListedOrders(records, total, encode_cursor(records[-1]) if more else None)

    def _conditions(self, where: OrderFilter) -> list[Any]:
        conditions: list[Any] = []
        if where.department is not None:
            conditions.append(orders.c.department == where.department)
        if where.status is not None:
            conditions.append(orders.c.status == where.status.value)
        elif where.card is not None:
            conditions.append(orders.c.status.in_([s.value for s in OPEN_STATUSES]))
        return conditions

    def _card(self, status: Status, deadline: dict[str, Any] | None) -> Card:
        """The card the order's view shows: none once it is answered or ended."""
        if not status.is_open or not deadline:
            return Card.NONE
        return self.policy.card(Deadline.from_json(deadline), self.clock())


def _after(due: datetime, order_no: str) -> Any:
    return or_(
        orders.c.deadline_at > due,
        and_(orders.c.deadline_at == due, orders.c.order_no > order_no),
    )
