"""Which agents are on duty: an agent is counted while their console keeps reporting in.

Kept in the database with a last-seen time rather than in a replica's memory, so that a
queue estimate made on one gateway replica counts the agents connected to all of them,
and an agent whose browser died simply drops out after the timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Boolean, Column, DateTime, Integer, String, Table, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import as_utc, utcnow
from bot.storage import metadata

presence_table = Table(
    "agent_presence",
    metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=False),
    Column("username", String(64), nullable=False),
    Column("display_name", String(64), nullable=False),
    Column("on_duty", Boolean, nullable=False, default=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class AgentPresence:
    user_id: int
    username: str
    display_name: str
    on_duty: bool
    last_seen: datetime

    def available(self, now: datetime, timeout_s: float) -> bool:
        return self.on_duty and now - self.last_seen <= timedelta(seconds=timeout_s)


class PresenceStore:
    def __init__(self, engine: AsyncEngine, timeout_s: float) -> None:
        self.engine = engine
        self.timeout_s = timeout_s

    async def seen(
        self, user_id: int, username: str, display_name: str, on_duty: bool | None = None
    ) -> None:
        """Records that the agent's console is alive; ``on_duty`` changes the duty status."""
        values: dict[str, object] = {
            "username": username,
            "display_name": display_name,
            "last_seen": utcnow(),
        }
        if on_duty is not None:
            values["on_duty"] = on_duty
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(presence_table).where(presence_table.c.user_id == user_id).values(**values)
            )
            if result.rowcount:
                return
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    presence_table.insert().values(
                        **{**values, "user_id": user_id, "on_duty": bool(on_duty)}
                    )
                )
        except IntegrityError:
            await self.seen(user_id, username, display_name, on_duty)

    async def get(self, user_id: int) -> AgentPresence | None:
        async with self.engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(presence_table).where(presence_table.c.user_id == user_id)
                    )
                )
                .mappings()
                .first()
            )
        return _presence(row) if row else None

    async def on_duty(self, now: datetime | None = None) -> list[AgentPresence]:
        """Agents on duty whose console reported in within the timeout."""
        now = now or utcnow()
        since = now - timedelta(seconds=self.timeout_s)
        query = (
            select(presence_table)
            .where(presence_table.c.on_duty.is_(True), presence_table.c.last_seen >= since)
            .order_by(presence_table.c.display_name)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_presence(row) for row in rows]


def _presence(row: object) -> AgentPresence:
    data = dict(row)  # type: ignore[call-overload]
    last_seen = as_utc(data["last_seen"])
    assert last_seen is not None
    return AgentPresence(
        user_id=int(data["user_id"]),
        username=str(data["username"]),
        display_name=str(data["display_name"]),
        on_duty=bool(data["on_duty"]),
        last_seen=last_seen,
    )
