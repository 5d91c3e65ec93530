"""The reference service's tables (prefix ``wo_``) and the mapping to the domain record."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    select,
    update,
)
from sqlalchemy.engine import Connection

from bot.workorders.db import UtcDateTime, create_and_extend, sequence_table
from bot.workorders.lifecycle import OrderRecord
from bot.workorders.models import OPEN_STATUSES, CitizenRequest, Deadline, Rating, Status

metadata = MetaData()

orders = Table(
    "wo_orders",
    metadata,
    Column("order_no", String(32), primary_key=True),
    Column("acceptance_no", String(64), nullable=False, default=""),
    Column("request", JSON, nullable=False),
    Column("district", String(64), nullable=False, default=""),
    Column("confidential", Boolean, nullable=False, default=False),
    Column("status", String(16), nullable=False),
    Column("department", String(128), nullable=False, default=""),
    Column("accepted_at", UtcDateTime(), nullable=False),
    Column("deadline_at", UtcDateTime(), nullable=True),
    Column("deadline", JSON, nullable=True),
    Column("dispatched_at", UtcDateTime(), nullable=True),
    Column("replied_at", UtcDateTime(), nullable=True),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("reply", Text, nullable=False, default=""),
    Column("replied_late", Boolean, nullable=False, default=False),
    Column("supervised", Boolean, nullable=False, default=False),
    Column("rework_count", Integer, nullable=False, default=0),
    Column("rating", String(32), nullable=True),
    Column("rating_comment", Text, nullable=False, default=""),
    Column("extension_days", Integer, nullable=False, default=0),
    Column("extension_requested", Integer, nullable=False, default=0),
    Column("extension_reason", Text, nullable=False, default=""),
    Column("updated_at", UtcDateTime(), nullable=False),
    # delivered more than a week after the citizen was told (a long outage): NULL is False
    Column("late_delivery", Boolean, nullable=True),
    Index("ix_wo_orders_status_deadline", "status", "deadline_at"),
    Index("ix_wo_orders_department", "department", "status"),
    Index("ix_wo_orders_acceptance", "acceptance_no"),
)

contacts = Table(
    "wo_contacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_no", String(32), nullable=False),
    Column("phone", String(32), nullable=False),
    Column("channel", String(32), nullable=False, default=""),
    Column("channel_user", String(128), nullable=False, default=""),
    Column("conversation_id", String(128), nullable=False, default=""),
    Column("role", String(16), nullable=False),  # primary | merged
    Column("acceptance_no", String(64), nullable=False, default=""),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_wo_contacts_phone", "phone"),
    Index("ix_wo_contacts_order", "order_no"),
)

events = Table(
    "wo_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_no", String(32), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor_role", String(16), nullable=False),
    Column("actor_department", String(128), nullable=False, default=""),
    Column("action", String(32), nullable=False),
    Column("from_status", String(16), nullable=False),
    Column("to_status", String(16), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("data", JSON, nullable=True),
    Index("ix_wo_events_order", "order_no", "id"),
)

idempotency = Table(
    "wo_idempotency",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("operation", String(32), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("order_no", String(32), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

webhooks = Table(
    "wo_webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("order_no", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("lease_until", Float, nullable=False, default=0.0),
    Column("last_error", Text, nullable=False, default=""),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime(), nullable=True),
    Index("ix_wo_webhooks_due", "status", "next_attempt_at"),
)

sequences = sequence_table(metadata, "wo_sequences")


def prepare(conn: Connection) -> None:
    """Creates or extends the tables, then realigns the open orders' ``deadline_at`` with
    their deadline (whose JSON keeps its offset): on SQLite it was written as Beijing
    wall-clock digits before times were stored as UTC, so the sweep read it 8 hours late."""
    create_and_extend(conn, metadata)
    query = select(orders.c.order_no, orders.c.deadline, orders.c.deadline_at).where(
        orders.c.status.in_([status.value for status in OPEN_STATUSES])
    )
    stale = [
        {"number": row.order_no, "due": due}
        for row in conn.execute(query)
        if row.deadline and (due := Deadline.from_json(row.deadline).due_at) != row.deadline_at
    ]
    if stale:
        conn.execute(
            update(orders)
            .where(orders.c.order_no == bindparam("number"))
            .values(deadline_at=bindparam("due")),
            stale,
        )


def record_from_row(row: Any) -> OrderRecord:
    deadline = row["deadline"]
    rating = row["rating"]
    return OrderRecord(
        order_no=row["order_no"],
        acceptance_no=row["acceptance_no"],
        request=CitizenRequest.from_stored(row["request"]),
        status=Status(row["status"]),
        department=row["department"],
        accepted_at=row["accepted_at"],
        deadline=Deadline.from_json(deadline) if deadline else None,
        dispatched_at=row["dispatched_at"],
        replied_at=row["replied_at"],
        closed_at=row["closed_at"],
        reply=row["reply"],
        replied_late=bool(row["replied_late"]),
        supervised=bool(row["supervised"]),
        rework_count=int(row["rework_count"]),
        rating=Rating(rating) if rating else None,
        rating_comment=row["rating_comment"],
        extension_days=int(row["extension_days"]),
        extension_requested=int(row["extension_requested"]),
        extension_reason=row["extension_reason"],
        updated_at=row["updated_at"],
        late_delivery=bool(row["late_delivery"]),
    )


def row_from_record(order: OrderRecord) -> dict[str, Any]:
    return {
        "order_no": order.order_no,
        "acceptance_no": order.acceptance_no,
        "request": order.request.to_json(),
        "district": order.request.district,
        "confidential": order.request.confidential,
        "status": order.status.value,
        "department": order.department,
        "accepted_at": order.accepted_at,
        "deadline_at": order.deadline.due_at if order.deadline else None,
        "deadline": order.deadline.to_json() if order.deadline else None,
        "dispatched_at": order.dispatched_at,
        "replied_at": order.replied_at,
        "closed_at": order.closed_at,
        "reply": order.reply,
        "replied_late": order.replied_late,
        "supervised": order.supervised,
        "rework_count": order.rework_count,
        "rating": order.rating.value if order.rating else None,
        "rating_comment": order.rating_comment,
        "extension_days": order.extension_days,
        "extension_requested": order.extension_requested,
        "extension_reason": order.extension_reason,
        "updated_at": order.updated_at or order.accepted_at,
        "late_delivery": order.late_delivery,
    }
