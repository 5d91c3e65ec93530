"""Storage helpers shared by the outbox and the reference service: per-day counters behind
GD/SL numbers, a time column that means the same instant on every backend, and the
columns added to tables that already exist."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, inspect, text
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeDecorator

from bot.clock import as_utc
from bot.storage import dialect_insert


class UtcDateTime(TypeDecorator[datetime]):
    """A moment stored as UTC on every backend.

    SQLite has no time-zone type: a ``+08:00`` moment was written as its Beijing wall-clock
    digits and read back naive, i.e. as UTC, eight hours off, and compared with UTC bound
    values the same wrong way (the overdue sweep supervised eight hours late). Converting
    every bound value, comparisons included, to UTC makes SQLite and PostgreSQL store,
    compare and return the same instant.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return as_utc(value)


def sequence_table(metadata: MetaData, name: str) -> Table:
    """Per-day counters behind GD/SL numbers, incremented inside the caller's transaction."""
    return Table(
        name,
        metadata,
        Column("name", String(32), primary_key=True),
        Column("value", Integer, nullable=False),
    )


async def next_in_sequence(conn: AsyncConnection, table: Table, name: str) -> int:
    insert = dialect_insert(conn.dialect.name)(table)
    statement = (
        insert.values(name=name, value=1)
        .on_conflict_do_update(index_elements=[table.c.name], set_={"value": table.c.value + 1})
        .returning(table.c.value)
    )
    return int((await conn.execute(statement)).scalar_one())


def create_and_extend(conn: Connection, metadata: MetaData) -> None:
    """``create_all``, then the columns a newer release added to tables that already exist.

    Added columns are nullable, so the rows already there stay valid (readers take NULL
    as the column's old meaning).
    """
    metadata.create_all(conn)
    inspector = inspect(conn)
    preparer = conn.dialect.identifier_preparer
    for table in metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(
                text(
                    f"ALTER TABLE {preparer.format_table(table)} "
                    f"ADD COLUMN {preparer.format_column(column)} {kind}"
                )
            )
