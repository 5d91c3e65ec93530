"""Full-text search over conversations: SQLite FTS5 or a PostgreSQL tsvector, same tokens.

One document per conversation (its citizens' and agents' words, as ``tokens.document``),
keyed by the conversation's ``seq``. Bot replies are left out on purpose: they are a few
templates repeated in every conversation and would make every search match everything.
Both engines only split the stored document on spaces (FTS5 ``unicode61``, the ``simple``
text-search configuration), so a query's bigrams match exactly the stored ones.

A deleted document must not stay readable in the database file. FTS5 deletes by adding
"delete" markers and keeps the old terms in its segments until they are merged; since
SQLite 3.42 the ``secure-delete`` option removes them at once, and with an older SQLite
:meth:`SearchIndex.compact` merges the whole index after a deletion. (Freed pages are
zeroed by ``PRAGMA secure_delete``, see ``bot.storage``.)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from sqlalchemy import ColumnElement, Integer, column, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.console.tables import conversation_table
from bot.console.tokens import document, is_prefix_token, query_tokens

_SQLITE_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS conversation_fts "
    "USING fts5(body, tokenize = 'unicode61 remove_diacritics 0')"
)
_POSTGRES_DDL = (
    "CREATE TABLE IF NOT EXISTS conversation_search ("
    " seq INTEGER PRIMARY KEY REFERENCES conversation(seq) ON DELETE CASCADE,"
    " document TSVECTOR NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_conversation_search_document "
    "ON conversation_search USING GIN (document)",
)


_FTS5_SECURE_DELETE = (3, 42, 0)

# Run in the transaction of every citizen turn: built once.
_FTS_APPEND = text("UPDATE conversation_fts SET body = body || ' ' || :doc WHERE rowid = :seq")
_FTS_INSERT = text("INSERT INTO conversation_fts (rowid, body) VALUES (:seq, :doc)")
_SEARCH_APPEND = text(
    "INSERT INTO conversation_search (seq, document) "
    "VALUES (:seq, to_tsvector('simple', :doc)) "
    "ON CONFLICT (seq) DO UPDATE "
    "SET document = conversation_search.document || excluded.document"
)


class SearchIndex:
    def __init__(self, dialect: str) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"full-text search is not implemented for {dialect}")
        self.dialect = dialect
        self.secure_delete = dialect == "sqlite" and sqlite3.sqlite_version_info >= (
            _FTS5_SECURE_DELETE
        )

    async def setup(self, conn: AsyncConnection) -> None:
        if self.dialect == "sqlite":
            await conn.execute(text(_SQLITE_DDL))
            if self.secure_delete:
                await conn.execute(
                    text(
                        "INSERT INTO conversation_fts (conversation_fts, rank) "
                        "VALUES ('secure-delete', 1)"
                    )
                )
        else:
            for statement in _POSTGRES_DDL:
                await conn.execute(text(statement))

    async def add(self, conn: AsyncConnection, seq: int, words: str) -> None:
        """Appends a turn's words to the conversation's document."""
        doc = document(words)
        if not doc:
            return
        if self.dialect == "sqlite":
            updated = await conn.execute(_FTS_APPEND, {"doc": doc, "seq": seq})
            if updated.rowcount == 0:
                await conn.execute(_FTS_INSERT, {"doc": doc, "seq": seq})
        else:
            await conn.execute(_SEARCH_APPEND, {"doc": doc, "seq": seq})

    async def add_many(self, conn: AsyncConnection, documents: Iterable[tuple[int, str]]) -> None:
        """Bulk load of whole documents for new conversations (rebuilds, benchmarks)."""
        rows = [{"seq": seq, "doc": document(words)} for seq, words in documents]
        rows = [r for r in rows if r["doc"]]
        if not rows:
            return
        if self.dialect == "sqlite":
            statement = "INSERT INTO conversation_fts (rowid, body) VALUES (:seq, :doc)"
        else:
            statement = (
                "INSERT INTO conversation_search (seq, document) "
                "VALUES (:seq, to_tsvector('simple', :doc))"
            )
        await conn.execute(text(statement), rows)

    async def replace(self, conn: AsyncConnection, seq: int, words: str) -> None:
        await self.delete(conn, [seq])
        await self.add(conn, seq, words)

    async def delete(self, conn: AsyncConnection, seqs: list[int]) -> None:
        if not seqs:
            return
        table, key = (
            ("conversation_fts", "rowid")
            if self.dialect == "sqlite"
            else ("conversation_search", "seq")
        )
        await conn.execute(
            text(f"DELETE FROM {table} WHERE {key} = :seq"), [{"seq": s} for s in seqs]
        )

    async def compact(self, conn: AsyncConnection) -> None:
        """After deleting or rewriting documents: drops their terms from the index's
        segments where ``secure-delete`` did not already (it rewrites the whole index, so
        it runs once per deletion, not per document). PostgreSQL frees dead rows itself."""
        if self.dialect == "sqlite" and not self.secure_delete:
            await conn.execute(
                text("INSERT INTO conversation_fts (conversation_fts) VALUES ('optimize')")
            )

    def matches(
        self,
        query: str,
        *,
        below: int | None = None,
        low: int | None = None,
        fenced: bool = False,
    ) -> ColumnElement[bool] | None:
        """A condition on ``conversation.seq``; None when the query has no searchable token.

        ``below``/``low`` bound the seqs inside the index query itself (the keyset cursor
        and a scan window), so neither engine scans documents it will not return.
        ``fenced`` (PostgreSQL) stops the planner from walking the seq index backwards and
        testing every document: the GIN index yields all matches first, which is what a
        rare term needs (see ``queries.list_conversations``).
        """
        found = query_tokens(query)
        if not found:
            return None
        params: dict[str, object] = {}
        bounds = ""
        key = "rowid" if self.dialect == "sqlite" else "seq"
        if below is not None:
            bounds += f" AND {key} < :fts_below"
            params["fts_below"] = below
        if low is not None:
            bounds += f" AND {key} >= :fts_low"
            params["fts_low"] = low
        if self.dialect == "sqlite":
            # Tokens are CJK or [a-z0-9] only, so quoting cannot be broken out of.
            params["fts"] = " AND ".join(
                f'"{t}"*' if is_prefix_token(t) else f'"{t}"' for t in found
            )
            statement = (
                "SELECT rowid AS seq FROM conversation_fts WHERE conversation_fts MATCH :fts"
                + bounds
            )
        else:
            params["fts"] = " & ".join(f"{t}:*" if is_prefix_token(t) else t for t in found)
            statement = (
                "SELECT seq FROM conversation_search "
                "WHERE document @@ to_tsquery('simple', :fts)" + bounds
            )
        subquery = text(statement).bindparams(**params).columns(column("seq", Integer))
        if fenced and self.dialect == "postgresql":
            hits = subquery.cte("search_hits").prefix_with("MATERIALIZED")
            return conversation_table.c.seq.in_(select(hits.c.seq))
        return conversation_table.c.seq.in_(subquery)
