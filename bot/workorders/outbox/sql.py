"""The outbox as a table: SQLite under var/ by default, PostgreSQL with DATABASE_URL."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.clock import utcnow
from bot.storage import write_transaction
from bot.workorders.db import UtcDateTime, create_and_extend, next_in_sequence, sequence_table
from bot.workorders.models import CitizenRequest, Deadline
from bot.workorders.numbers import (
    ACCEPTANCE_PREFIX,
    SQL_ACCEPTANCE_BLOCK,
    acceptance_number,
    sequence_name,
)
from bot.workorders.outbox.base import (
    EntryKind,
    EntryStatus,
    NewEntry,
    OutboxEntry,
    Submission,
    new_delivery_key,
)

metadata = MetaData()

outbox_table = Table(
    "workorder_outbox",
    metadata,
    Column("acceptance_no", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("target", String(32), nullable=False, default=""),
    Column("request", JSON, nullable=False),
    Column("accepted_at", UtcDateTime(), nullable=False),
    Column("deadline", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("order_no", String(32), nullable=False, default=""),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=False, default=""),
    Column("lease_owner", String(128), nullable=False, default=""),
    Column("lease_until", Float, nullable=False, default=0.0),
    Column("created_seq", Float, nullable=False),
    Column("delivered_at", UtcDateTime(), nullable=True),
    Column("delivery_key", String(64), nullable=True),  # NULL: delivered by acceptance no
    Index("ix_workorder_outbox_status", "status", "created_seq"),
)

dedupe_table = Table(
    "workorder_outbox_dedupe",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("acceptance_no", String(32), nullable=False),
    Column("expires_at", Float, nullable=False),
)

sequences = sequence_table(metadata, "workorder_outbox_sequence")


class SqlOutbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def setup(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(create_and_extend, metadata)

    async def submit(self, new: NewEntry, dedupe_window_s: float) -> Submission:
        # On PostgreSQL two identical requests at the same instant both pass the dedupe
        # check; the second then fails on the dedupe key and is retried, finding the first.
        for _ in range(3):
            try:
                return await self._submit_once(new, dedupe_window_s)
            except IntegrityError:
                continue
        return await self._submit_once(new, dedupe_window_s)

    async def _submit_once(self, new: NewEntry, dedupe_window_s: float) -> Submission:
        key = new.dedupe_key
        now = time.time()
        async with write_transaction(self.engine) as conn:
            row = (
                await conn.execute(select(dedupe_table).where(dedupe_table.c.key == key))
            ).first()
            if row is not None and row.expires_at > now:
                existing = await self._get(conn, row.acceptance_no)
                if existing is not None:
                    return Submission(existing, duplicate=True)
            if row is not None:
                await conn.execute(delete(dedupe_table).where(dedupe_table.c.key == key))
            name = sequence_name(ACCEPTANCE_PREFIX, new.day)
            serial = await next_in_sequence(conn, sequences, name)
            acceptance_no = acceptance_number(new.day, serial, SQL_ACCEPTANCE_BLOCK)
            delivery_key = new_delivery_key()
            await conn.execute(
                outbox_table.insert().values(
                    acceptance_no=acceptance_no,
                    kind=new.kind.value,
                    target=new.target,
                    request=new.request.to_json(),
                    accepted_at=new.accepted_at,
                    deadline=new.deadline.to_json(),
                    status=EntryStatus.PENDING.value,
                    order_no="",
                    attempts=0,
                    last_error="",
                    lease_owner="",
                    lease_until=0.0,
                    created_seq=time.time(),
                    delivery_key=delivery_key,
                )
            )
            if dedupe_window_s > 0:
                await conn.execute(
                    dedupe_table.insert().values(
                        key=key, acceptance_no=acceptance_no, expires_at=now + dedupe_window_s
                    )
                )
        entry = OutboxEntry(
            acceptance_no=acceptance_no,
            kind=new.kind,
            request=new.request,
            accepted_at=new.accepted_at,
            deadline=new.deadline,
            target=new.target,
            delivery_key=delivery_key,
        )
        return Submission(entry, duplicate=False)

    async def get(self, acceptance_no: str) -> OutboxEntry | None:
        async with self.engine.connect() as conn:
            return await self._get(conn, acceptance_no)

    async def _get(self, conn: AsyncConnection, acceptance_no: str) -> OutboxEntry | None:
        row = (
            await conn.execute(
                select(outbox_table).where(outbox_table.c.acceptance_no == acceptance_no)
            )
        ).first()
        return _entry(row._mapping) if row is not None else None

    async def pending(self, limit: int) -> list[OutboxEntry]:
        query = (
            select(outbox_table)
            .where(outbox_table.c.status == EntryStatus.PENDING.value)
            .order_by(outbox_table.c.created_seq.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_entry(row._mapping) for row in rows]

    def _claimable(self, now: float) -> Any:
        return (outbox_table.c.status == EntryStatus.PENDING.value) & or_(
            outbox_table.c.lease_until < now, outbox_table.c.lease_owner == ""
        )

    async def claim(self, consumer: str, limit: int, lease_s: float) -> list[OutboxEntry]:
        now = time.time()
        oldest = (
            select(outbox_table.c.acceptance_no)
            .where(self._claimable(now))
            .order_by(outbox_table.c.created_seq)
            .limit(limit)
        )
        statement = (
            update(outbox_table)
            .where(outbox_table.c.acceptance_no.in_(oldest.scalar_subquery()))
            .where(self._claimable(now))
            .values(
                lease_owner=consumer,
                lease_until=now + lease_s,
                attempts=outbox_table.c.attempts + 1,
            )
            .returning(*outbox_table.c)
        )
        async with write_transaction(self.engine) as conn:
            rows = (await conn.execute(statement)).all()
        entries = [_entry(row._mapping) for row in rows]
        return sorted(entries, key=lambda entry: entry.accepted_at)

    async def claim_one(
        self, acceptance_no: str, consumer: str, lease_s: float
    ) -> OutboxEntry | None:
        now = time.time()
        statement = (
            update(outbox_table)
            .where(outbox_table.c.acceptance_no == acceptance_no)
            .where(self._claimable(now))
            .values(
                lease_owner=consumer,
                lease_until=now + lease_s,
                attempts=outbox_table.c.attempts + 1,
            )
            .returning(*outbox_table.c)
        )
        async with write_transaction(self.engine) as conn:
            row = (await conn.execute(statement)).first()
        return _entry(row._mapping) if row is not None else None

    async def mark_delivered(self, deliveries: Mapping[str, str]) -> None:
        if not deliveries:
            return
        statement = (
            update(outbox_table)
            .where(outbox_table.c.acceptance_no == bindparam("number"))
            .where(outbox_table.c.status == EntryStatus.PENDING.value)
            .values(
                status=EntryStatus.DELIVERED.value,
                order_no=bindparam("order"),
                lease_owner="",
                lease_until=0.0,
                last_error="",
                delivered_at=utcnow(),
            )
        )
        rows = [{"number": number, "order": order} for number, order in deliveries.items()]
        async with write_transaction(self.engine) as conn:
            await conn.execute(statement, rows)

    async def mark_rejected(self, acceptance_no: str, error: str) -> None:
        async with write_transaction(self.engine) as conn:
            await conn.execute(
                update(outbox_table)
                .where(outbox_table.c.acceptance_no == acceptance_no)
                .where(outbox_table.c.status == EntryStatus.PENDING.value)
                .values(
                    status=EntryStatus.REJECTED.value,
                    lease_owner="",
                    lease_until=0.0,
                    last_error=error[:2000],
                )
            )

    async def release(self, acceptance_no: str, consumer: str, error: str) -> None:
        async with write_transaction(self.engine) as conn:
            await conn.execute(
                update(outbox_table)
                .where(outbox_table.c.acceptance_no == acceptance_no)
                .where(outbox_table.c.lease_owner == consumer)
                .values(lease_owner="", lease_until=0.0, last_error=error[:2000])
            )

    async def counts(self) -> dict[str, int]:
        query = select(outbox_table.c.status, func.count()).group_by(outbox_table.c.status)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        result = {status.value: 0 for status in EntryStatus}
        result.update({str(status): int(count) for status, count in rows})
        return result

    async def housekeeping(self) -> None:
        """Drops expired dedupe keys (they are also replaced lazily on the next submit)."""
        async with write_transaction(self.engine) as conn:
            await conn.execute(delete(dedupe_table).where(dedupe_table.c.expires_at < time.time()))

    async def close(self) -> None:
        await self.engine.dispose()


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(
        acceptance_no=row["acceptance_no"],
        kind=EntryKind(row["kind"]),
        request=CitizenRequest.from_stored(row["request"]),
        accepted_at=row["accepted_at"],
        deadline=Deadline.from_json(row["deadline"]),
        status=EntryStatus(row["status"]),
        target=row["target"],
        order_no=row["order_no"],
        attempts=int(row["attempts"]),
        last_error=row["last_error"],
        delivered_at=row["delivered_at"],
        delivery_key=row["delivery_key"] or "",
    )
