"""Upgrades of console tables that ``create_all`` cannot make on an existing database.

SQLite files made before ``conversation.seq`` was AUTOINCREMENT hand the number of the
newest conversation to the next one once it is deleted, so an audit entry naming a
deleted conversation would later point at another citizen's. SQLite cannot add
AUTOINCREMENT to a table, so the table is rebuilt once, in one transaction: a copy with
the new definition, the rows, then the copy takes the old name (the tables referring to
``conversation`` by name refer to the copy from then on). PostgreSQL's sequences never
reuse numbers and need nothing.
"""

from __future__ import annotations

from sqlalchemy import Connection, MetaData, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateTable

from bot.console.tables import conversation_table
from bot.storage import write_transaction

_REBUILD = "conversation_rebuild"


async def upgrade(engine: AsyncEngine) -> bool:
    """Makes ``conversation.seq`` AUTOINCREMENT on SQLite; True when the table was rebuilt."""
    if engine.dialect.name != "sqlite":
        return False
    async with write_transaction(engine) as conn:
        return await conn.run_sync(_rebuild_without_reuse)


def _rebuild_without_reuse(conn: Connection) -> bool:
    ddl = conn.scalar(
        text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
        {"name": conversation_table.name},
    )
    if ddl is None or "AUTOINCREMENT" in str(ddl).upper():
        return False
    copy = conversation_table.to_metadata(MetaData(), name=_REBUILD)
    conn.execute(CreateTable(copy))  # the indexes come after the old ones are gone
    columns = [column.name for column in conversation_table.columns]
    conn.execute(
        insert(copy).from_select(columns, select(*(conversation_table.c[n] for n in columns)))
    )
    conn.execute(text(f"DROP TABLE {conversation_table.name}"))
    conn.execute(text(f"ALTER TABLE {_REBUILD} RENAME TO {conversation_table.name}"))
    for index in conversation_table.indexes:
        index.create(conn)
    return True
