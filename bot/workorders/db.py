"""Per-day counters behind GD/SL numbers, shared by the outbox and the reference service."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def sequence_table(metadata: MetaData, name: str) -> Table:
    """Per-day counters behind GD/SL numbers, incremented inside the caller's transaction."""
    return Table(
        name,
        metadata,
        Column("name", String(32), primary_key=True),
        Column("value", Integer, nullable=False),
    )


async def next_in_sequence(conn: AsyncConnection, table: Table, name: str) -> int:
    insert: Any = (
        postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)
    )
    statement = (
        insert.values(name=name, value=1)
        .on_conflict_do_update(index_elements=[table.c.name], set_={"value": table.c.value + 1})
        .returning(table.c.value)
    )
    return int((await conn.execute(statement)).scalar_one())
