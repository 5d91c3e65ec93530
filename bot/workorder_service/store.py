"""The reference service's tables (prefix ``wo_``) and the mapping to the domain record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from bot.clock import as_utc
from bot.workorders.db import sequence_table
from bot.workorders.lifecycle import OrderRecord
from bot.workorders.models import CitizenRequest, Deadline, Rating, Status

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
    Column("accepted_at", DateTime(timezone=True), nullable=False),
    Column("deadline_at", DateTime(timezone=True), nullable=True),
    Column("deadline", JSON, nullable=True),
    Column("dispatched_at", DateTime(timezone=True), nullable=True),
    Column("replied_at", DateTime(timezone=True), nullable=True),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("reply", Text, nullable=False, default=""),
    Column("replied_late", Boolean, nullable=False, default=False),
    Column("supervised", Boolean, nullable=False, default=False),
    Column("rework_count", Integer, nullable=False, default=0),
    Column("rating", String(32), nullable=True),
    Column("rating_comment", Text, nullable=False, default=""),
    Column("extension_days", Integer, nullable=False, default=0),
    Column("extension_requested", Integer, nullable=False, default=0),
    Column("extension_reason", Text, nullable=False, default=""),
    Column("updated_at", DateTime(timezone=True), nullable=False),
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
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_wo_contacts_phone", "phone"),
    Index("ix_wo_contacts_order", "order_no"),
)

events = Table(
    "wo_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_no", String(32), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
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
    Column("created_at", DateTime(timezone=True), nullable=False),
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
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Index("ix_wo_webhooks_due", "status", "next_attempt_at"),
)

sequences = sequence_table(metadata, "wo_sequences")


def _time(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def record_from_row(row: Any) -> OrderRecord:
    deadline = row["deadline"]
    rating = row["rating"]
    return OrderRecord(
        order_no=row["order_no"],
        acceptance_no=row["acceptance_no"],
        request=CitizenRequest.from_json(row["request"]),
        status=Status(row["status"]),
        department=row["department"],
        accepted_at=as_utc(row["accepted_at"]),
        deadline=Deadline.from_json(deadline) if deadline else None,
        dispatched_at=_time(row["dispatched_at"]),
        replied_at=_time(row["replied_at"]),
        closed_at=_time(row["closed_at"]),
        reply=row["reply"],
        replied_late=bool(row["replied_late"]),
        supervised=bool(row["supervised"]),
        rework_count=int(row["rework_count"]),
        rating=Rating(rating) if rating else None,
        rating_comment=row["rating_comment"],
        extension_days=int(row["extension_days"]),
        extension_requested=int(row["extension_requested"]),
        extension_reason=row["extension_reason"],
        updated_at=_time(row["updated_at"]),
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
    }
