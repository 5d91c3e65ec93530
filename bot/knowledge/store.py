"""The knowledge base's durable store: entries, their passages and the passages' embeddings.

SQLite under ``var/`` by default, PostgreSQL when ``DATABASE_URL`` is set. The store is
used synchronously (the importer and CLI are batch jobs; the search processes read it once
at start-up and then answer from memory), so this module owns a sync SQLAlchemy engine of
its own and nothing else in the project touches these tables.

Embeddings are kept next to each passage with the id of the model that made them: a
re-import only re-embeds passages whose text changed, and switching models re-embeds all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray

from bot.knowledge.models import (
    Entry,
    Kind,
    KnowledgePoint,
    Passage,
    Provenance,
    Section,
    Standard,
    Status,
)
from bot.knowledge.passages import passages_of
from bot.settings import Settings

metadata = sa.MetaData()

entries_table = sa.Table(
    "kb_entries",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("match_key", sa.String(160), index=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("status", sa.String(16)),
    sa.Column("origin", sa.Text, index=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

passages_table = sa.Table(
    "kb_passages",
    metadata,
    sa.Column("id", sa.String(300), primary_key=True),
    sa.Column(
        "entry_id",
        sa.String(255),
        sa.ForeignKey("kb_entries.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("ordinal", sa.Integer, nullable=False),
    sa.Column("heading", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("text_hash", sa.String(64), nullable=False),
    sa.Column("model", sa.String(64)),
    sa.Column("embedding", sa.LargeBinary),
)

revision_table = sa.Table(
    "kb_revision",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
)

_BATCH = 500


@dataclass(frozen=True)
class UpsertResult:
    added: list[str]
    updated: list[str]
    unchanged: list[str]


@dataclass(frozen=True)
class FreshVectors:
    """Vectors made before a write, by passage text hash, stored with the passages they fit
    (a published edit then reaches search in one revision, vectors included)."""

    model: str
    by_text: Mapping[str, bytes]


@dataclass(frozen=True)
class IndexRows:
    """Every embedded passage, in a stable order, with its vector."""

    passages: list[Passage]
    vectors: NDArray[np.float32]


def sync_url(settings: Settings) -> str:
    """The store's SQLAlchemy URL: PostgreSQL through psycopg2, or SQLite in ``var_dir``."""
    if settings.database_url:
        return urlsplit(settings.database_url)._replace(scheme="postgresql+psycopg2").geturl()
    return f"sqlite:///{settings.var_dir / 'knowledge.db'}"


def create_tables(engine: sa.Engine, tables: sa.MetaData) -> None:
    """The gateway and the action server open the store at the same moment; when both
    create a table, the loser's ``create_all`` fails ("already exists", a ``pg_type``
    duplicate) although the table is there. Trying again sees it and creates nothing."""
    for attempt in range(3):
        try:
            tables.create_all(engine)
            return
        except sa.exc.DBAPIError:
            if attempt == 2:
                raise


class KnowledgeStore:
    def __init__(self, url: str) -> None:
        if url.startswith("sqlite"):
            self.engine = sa.create_engine(url)
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
        create_tables(self.engine, metadata)

    @classmethod
    def from_settings(cls, settings: Settings) -> KnowledgeStore:
        if not settings.database_url:
            settings.var_dir.mkdir(parents=True, exist_ok=True)
        return cls(sync_url(settings))

    def close(self) -> None:
        self.engine.dispose()

    # -- the revision every search process polls -----------------------------------------

    def revision(self) -> int:
        """Grows with every write that changes what search sees (entries or vectors)."""
        with self.engine.connect() as conn:
            return int(conn.scalar(sa.select(revision_table.c.value)) or 0)

    @staticmethod
    def bump_revision(conn: sa.Connection) -> None:
        """Called inside the writing transaction, so a reader never sees data without it."""
        updated = conn.execute(
            revision_table.update().values(value=revision_table.c.value + 1)
        ).rowcount
        if not updated:
            conn.execute(revision_table.insert().values(id=1, value=1))

    # -- entries -------------------------------------------------------------------------

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(entries_table)) or 0)

    def get(self, entry_id: str) -> Entry | None:
        with self.engine.connect() as conn:
            data = conn.scalar(
                sa.select(entries_table.c.data).where(entries_table.c.id == entry_id)
            )
        return entry_from_json(data) if data is not None else None

    def get_many(self, entry_ids: Sequence[str]) -> list[Entry]:
        """The entries among ``entry_ids`` that exist, in one query per batch."""
        found: list[Entry] = []
        with self.engine.connect() as conn:
            for start in range(0, len(entry_ids), _BATCH):
                chunk = list(entry_ids[start : start + _BATCH])
                rows = conn.execute(
                    sa.select(entries_table.c.data).where(entries_table.c.id.in_(chunk))
                )
                found += [entry_from_json(row.data) for row in rows]
        return found

    def all_entries(self) -> list[Entry]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(entries_table.c.data).order_by(entries_table.c.id))
            return [entry_from_json(row.data) for row in rows]

    def content_hashes(self) -> dict[str, str]:
        """Every entry's id and content hash (how the console notices CLI imports)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(entries_table.c.id, entries_table.c.content_hash))
            return {row.id: row.content_hash for row in rows}

    def find_by_match_key(self, match_key: str) -> list[Entry]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(entries_table.c.data).where(entries_table.c.match_key == match_key)
            )
            return [entry_from_json(row.data) for row in rows]

    def ids_from_origin(self, origin: str) -> set[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(entries_table.c.id).where(entries_table.c.origin == origin)
            )
            return {row.id for row in rows}

    def upsert(self, entries: Sequence[Entry], origin: str) -> UpsertResult:
        """Writes new and changed entries; a passage whose text is unchanged keeps its vector.

        One transaction per batch, and the revision moves once at the end: every search
        process swaps its index once per import, not once per batch.
        """
        results = []
        for start in range(0, len(entries), _BATCH):
            with self.engine.begin() as conn:
                chunk = entries[start : start + _BATCH]
                results.append(self.upsert_in(conn, chunk, origin, bump=False))
        result = UpsertResult(
            [i for r in results for i in r.added],
            [i for r in results for i in r.updated],
            [i for r in results for i in r.unchanged],
        )
        if result.added or result.updated:
            self.announce()
        return result

    def upsert_in(
        self,
        conn: sa.Connection,
        entries: Sequence[Entry],
        origin: str,
        bump: bool = True,
        fresh: FreshVectors | None = None,
    ) -> UpsertResult:
        """``upsert`` inside the caller's transaction (the console commits its record too)."""
        result = UpsertResult([], [], [])
        for start in range(0, len(entries), _BATCH):
            self._upsert_chunk(conn, entries[start : start + _BATCH], origin, result, fresh)
        if bump and (result.added or result.updated):
            self.bump_revision(conn)
        return result

    def _upsert_chunk(
        self,
        conn: sa.Connection,
        entries: Sequence[Entry],
        origin: str,
        result: UpsertResult,
        fresh: FreshVectors | None,
    ) -> None:
        c = entries_table.c
        known = {
            row.id: row
            for row in conn.execute(
                sa.select(c.id, c.content_hash, c.origin).where(c.id.in_([e.id for e in entries]))
            )
        }
        added: list[tuple[Entry, str]] = []
        updated: list[tuple[Entry, str]] = []
        claimed: list[str] = []  # unchanged entries another file or the console wrote last
        for entry in entries:
            digest = entry.content_hash()
            row = known.get(entry.id)
            if row is None:
                result.added.append(entry.id)
                added.append((entry, digest))
            elif row.content_hash != digest:
                result.updated.append(entry.id)
                updated.append((entry, digest))
            else:
                result.unchanged.append(entry.id)
                if row.origin != origin:
                    claimed.append(entry.id)
        if claimed:
            conn.execute(entries_table.update().where(c.id.in_(claimed)).values(origin=origin))
        self._write(conn, added, updated, origin, fresh)

    def delete(self, entry_ids: Iterable[str]) -> int:
        with self.engine.begin() as conn:
            return self.delete_in(conn, entry_ids)

    def delete_in(self, conn: sa.Connection, entry_ids: Iterable[str]) -> int:
        ids = list(entry_ids)
        for start in range(0, len(ids), _BATCH):
            chunk = ids[start : start + _BATCH]
            conn.execute(passages_table.delete().where(passages_table.c.entry_id.in_(chunk)))
            conn.execute(entries_table.delete().where(entries_table.c.id.in_(chunk)))
        if ids:
            self.bump_revision(conn)
        return len(ids)

    def _write(
        self,
        conn: sa.Connection,
        added: Sequence[tuple[Entry, str]],
        updated: Sequence[tuple[Entry, str]],
        origin: str,
        fresh: FreshVectors | None,
    ) -> None:
        """A few set-wise statements for a whole batch: row-by-row statements made a
        10,000-row import spend its time in the database driver."""
        now = datetime.now(UTC)
        old_vectors: dict[tuple[str, str], tuple[str | None, bytes | None]] = {}
        if updated:
            ids = [entry.id for entry, _ in updated]
            p = passages_table.c
            rows = conn.execute(
                sa.select(p.entry_id, p.text_hash, p.model, p.embedding).where(p.entry_id.in_(ids))
            )
            old_vectors = {(r.entry_id, r.text_hash): (r.model, r.embedding) for r in rows}
            conn.execute(passages_table.delete().where(p.entry_id.in_(ids)))
            update_rows(
                conn,
                entries_table,
                [
                    {"id": entry.id, **_entry_values(entry, digest, origin, now)}
                    for entry, digest in updated
                ],
            )
        if added:
            conn.execute(
                entries_table.insert(),
                [
                    {"id": entry.id, **_entry_values(entry, digest, origin, now)}
                    for entry, digest in added
                ],
            )
        rows_to_insert = []
        for entry, _ in (*added, *updated):
            for passage in passages_of(entry):
                model, vector = old_vectors.get((entry.id, passage.text_hash), (None, None))
                if vector is None and fresh is not None and passage.text_hash in fresh.by_text:
                    model, vector = fresh.model, fresh.by_text[passage.text_hash]
                rows_to_insert.append(
                    {
                        "id": passage.id,
                        "entry_id": entry.id,
                        "ordinal": passage.ordinal,
                        "heading": passage.heading,
                        "body": passage.body,
                        "text": passage.text,
                        "text_hash": passage.text_hash,
                        "model": model,
                        "embedding": vector,
                    }
                )
        if rows_to_insert:
            conn.execute(passages_table.insert(), rows_to_insert)

    # -- passages and embeddings ---------------------------------------------------------

    def passages_needing_embeddings(self, model_id: str) -> list[tuple[str, str]]:
        """(passage id, text) of every passage without a vector from ``model_id``."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(passages_table.c.id, passages_table.c.text)
                .where(sa.or_(passages_table.c.model.is_(None), passages_table.c.model != model_id))
                .order_by(passages_table.c.id)
            )
            return [(row.id, row.text) for row in rows]

    def save_embeddings(
        self,
        model_id: str,
        ids: Sequence[str],
        vectors: NDArray[np.float32],
        *,
        bump: bool = True,
    ) -> None:
        """``bump=False`` for one chunk of many: the caller ``announce``s once at the end."""
        with self.engine.begin() as conn:
            conn.execute(
                passages_table.update()
                .where(passages_table.c.id == sa.bindparam("pid"))
                .values(model=model_id, embedding=sa.bindparam("vector")),
                [
                    {"pid": pid, "vector": np.asarray(vec, dtype=np.float32).tobytes()}
                    for pid, vec in zip(ids, vectors, strict=True)
                ],
            )
            if bump:
                self.bump_revision(conn)

    def announce(self) -> None:
        """Moves the revision after writes made without it (a whole import at once)."""
        with self.engine.begin() as conn:
            self.bump_revision(conn)

    def index_rows(self, model_id: str, dimension: int) -> IndexRows:
        passages: list[Passage] = []
        blobs: list[bytes] = []
        for row in self._iter_passages(model_id):
            passages.append(Passage(row.entry_id, row.ordinal, row.heading, row.body, row.text))
            blobs.append(row.embedding)
        vectors = (
            np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dimension).copy()
            if blobs
            else np.zeros((0, dimension), dtype=np.float32)
        )
        return IndexRows(passages, vectors)

    def _iter_passages(self, model_id: str) -> Iterator[Any]:
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=2000).execute(
                sa.select(
                    passages_table.c.entry_id,
                    passages_table.c.ordinal,
                    passages_table.c.heading,
                    passages_table.c.body,
                    passages_table.c.text,
                    passages_table.c.embedding,
                )
                .where(passages_table.c.model == model_id)
                .order_by(passages_table.c.entry_id, passages_table.c.ordinal)
            )
            yield from result


def update_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """One UPDATE statement for many rows by their ``id``; every row sets the same columns."""
    columns = [name for name in rows[0] if name != "id"]
    conn.execute(
        table.update()
        .where(table.c.id == sa.bindparam("row_id"))
        .values({name: sa.bindparam(f"set_{name}") for name in columns}),
        [{"row_id": row["id"], **{f"set_{c}": row[c] for c in columns}} for row in rows],
    )


def _entry_values(entry: Entry, digest: str, origin: str, now: datetime) -> dict[str, Any]:
    """The ``kb_entries`` columns of an entry (all but its id)."""
    return {
        "kind": entry.kind.value,
        "match_key": entry.match_key if isinstance(entry, Standard) else None,
        "title": entry.title,
        "status": entry.status.value if isinstance(entry, Standard) else None,
        "origin": origin,
        "data": entry_to_json(entry),
        "content_hash": digest,
        "updated_at": now,
    }


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# -- (de)serialisation ---------------------------------------------------------------------


def entry_to_json(entry: Entry) -> dict[str, Any]:
    data = asdict(entry)
    data["kind"] = entry.kind.value
    checked_on = entry.provenance.checked_on
    data["provenance"]["checked_on"] = checked_on.isoformat() if checked_on else None
    for key, value in list(data.items()):
        if isinstance(value, date):
            data[key] = value.isoformat()
        elif isinstance(value, tuple):
            data[key] = list(value)
        elif isinstance(value, Status):
            data[key] = value.value
    return data


def entry_from_json(data: dict[str, Any] | str) -> Entry:
    if isinstance(data, str):
        data = json.loads(data)
    assert isinstance(data, dict)
    values = {k: v for k, v in data.items() if k != "kind"}
    for key in ("issued", "implemented", "withdrawn", "effective", "expires", "reviewed"):
        if values.get(key):
            values[key] = date.fromisoformat(values[key])
    values["sections"] = tuple(Section(**s) for s in values.get("sections", []))
    values["provenance"] = provenance_from_json(values.get("provenance") or {})
    if data["kind"] == Kind.STANDARD.value:
        values["status"] = Status(values["status"])
        values["replaces"] = tuple(values.get("replaces", []))
        values["replaced_by"] = tuple(values.get("replaced_by", []))
        return Standard(**values)
    values["keywords"] = tuple(values.get("keywords", []))
    return KnowledgePoint(**values)


def provenance_from_json(data: dict[str, Any]) -> Provenance:
    checked_on = data.get("checked_on")
    return Provenance(
        document=data.get("document", ""),
        issuer=data.get("issuer", ""),
        url=data.get("url", ""),
        checked_on=date.fromisoformat(checked_on) if checked_on else None,
        checked_by=data.get("checked_by", ""),
        verified=bool(data.get("verified", False)),
    )
