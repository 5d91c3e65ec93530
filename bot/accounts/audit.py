"""The audit log: who viewed, exported, changed or unmasked what, and when.

Rows are only ever appended. Targets name records (a conversation id, an export's
filters), never the personal data itself, so the log can be read without unmasking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import as_utc, utcnow
from bot.storage import metadata

audit_table = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user_id", Integer, nullable=True),
    Column("username", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(256), nullable=False, default=""),
    Column("detail", JSON, nullable=True),
    Column("ip", String(64), nullable=False, default=""),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_user", "user_id", "id"),
)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    user_id: int | None
    username: str
    action: str
    target: str
    detail: dict[str, Any] | None
    ip: str


class AuditLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def record(
        self,
        action: str,
        target: str = "",
        *,
        user_id: int | None = None,
        username: str = "",
        detail: dict[str, Any] | None = None,
        ip: str = "",
    ) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                audit_table.insert().values(
                    at=utcnow(),
                    user_id=user_id,
                    username=username[:64],
                    action=action[:64],
                    target=target[:256],
                    detail=detail,
                    ip=ip[:64],
                )
            )

    async def entries(
        self,
        *,
        before_id: int | None = None,
        limit: int = 100,
        action: str | None = None,
        username: str | None = None,
    ) -> list[AuditEntry]:
        """Newest first; ``before_id`` pages backwards (keyset pagination)."""
        query = select(audit_table).order_by(audit_table.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(audit_table.c.id < before_id)
        if action:
            query = query.where(audit_table.c.action == action)
        if username:
            query = query.where(audit_table.c.username == username)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            AuditEntry(
                id=row.id,
                at=as_utc(row.at),
                user_id=row.user_id,
                username=row.username,
                action=row.action,
                target=row.target,
                detail=row.detail,
                ip=row.ip,
            )
            for row in rows
        ]
