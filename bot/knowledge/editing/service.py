"""Editing records: versions, the review workflow, and publishing into search.

Every save is a new version (who, when, what); nothing is overwritten, so any version can
be restored (as a new draft). Publishing and withdrawing change the record and the
searchable entry in one transaction and bump the store's revision, which every search
process watches (``bot.knowledge.runtime``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.clock import as_utc, utcnow
from bot.knowledge.ccs import ccs_label
from bot.knowledge.editing.tables import events_table, records_table, versions_table
from bot.knowledge.editing.workflow import (
    Action,
    NotFound,
    State,
    WorkflowError,
    check_review,
    check_submit,
    check_withdraw,
)
from bot.knowledge.embedder import Embedder
from bot.knowledge.engine import fresh_vectors
from bot.knowledge.models import Entry, KnowledgePoint, Standard
from bot.knowledge.store import (
    KnowledgeStore,
    create_tables,
    entry_from_json,
    entry_to_json,
    metadata,
    update_rows,
)

CONSOLE_ORIGIN = "console"
SYSTEM_AUTHOR = "system"
REMIND_DAYS = 30  # a record shows as due this long before its review date
PAGE_SIZE = 50


@dataclass(frozen=True)
class Record:
    id: str
    kind: str
    title: str
    category: str
    department: str
    state: State
    version: int
    live_version: int | None
    editor: str
    submitted_by: str | None
    verified: bool
    review_due: date | None
    updated_at: datetime

    def due(self, today: date) -> bool:
        return self.review_due is not None and self.review_due <= today + timedelta(REMIND_DAYS)


@dataclass(frozen=True)
class Version:
    record_id: str
    version: int
    entry: Entry
    action: Action
    author: str
    note: str
    at: datetime


@dataclass(frozen=True)
class Event:
    version: int
    action: Action
    actor: str
    note: str
    at: datetime


@dataclass(frozen=True)
class RecordFilter:
    """Empty fields filter nothing; ``query`` matches every word in title, number or text."""

    query: str = ""
    kind: str = ""
    category: str = ""
    department: str = ""
    state: str = ""
    due: bool = False
    unverified: bool = False


class KnowledgeEditor:
    def __init__(self, store: KnowledgeStore, review_days: int = 365) -> None:
        self.store = store
        self.review_days = review_days
        create_tables(store.engine, metadata)

    # -- reading -------------------------------------------------------------------------

    def records(
        self, filters: RecordFilter, today: date, offset: int = 0, limit: int = PAGE_SIZE
    ) -> tuple[list[Record], int]:
        condition = self._condition(filters, today)
        with self.store.engine.connect() as conn:
            total = conn.scalar(
                sa.select(sa.func.count()).select_from(records_table).where(condition)
            )
            rows = conn.execute(
                sa.select(records_table)
                .where(condition)
                .order_by(records_table.c.updated_at.desc(), records_table.c.id)
                .offset(offset)
                .limit(limit)
            )
            return [_record(row) for row in rows], int(total or 0)

    def reminders(self, today: date) -> dict[str, int]:
        """Counts for the console home: what waits for review, checking or a re-review."""
        counts = {}
        for name, filters in (
            ("review", RecordFilter(state=State.REVIEW.value)),
            ("due", RecordFilter(due=True)),
            ("unverified", RecordFilter(unverified=True)),
        ):
            counts[name] = self.records(filters, today, limit=0)[1]
        return counts

    def facets(self) -> dict[str, list[str]]:
        """The categories and departments in use, for the filter drop-downs."""
        with self.store.engine.connect() as conn:
            return {
                column: sorted(
                    v for v in conn.scalars(sa.select(records_table.c[column]).distinct()) if v
                )
                for column in ("category", "department")
            }

    def record(self, record_id: str) -> Record:
        with self.store.engine.connect() as conn:
            row = conn.execute(
                sa.select(records_table).where(records_table.c.id == record_id)
            ).first()
        if row is None:
            raise NotFound(record_id)
        return _record(row)

    def versions(self, record_id: str) -> list[Version]:
        """Newest first."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(versions_table)
                .where(versions_table.c.record_id == record_id)
                .order_by(versions_table.c.version.desc())
            )
            return [_version(row) for row in rows]

    def version(self, record_id: str, number: int) -> Version:
        with self.store.engine.connect() as conn:
            row = conn.execute(
                sa.select(versions_table).where(
                    versions_table.c.record_id == record_id, versions_table.c.version == number
                )
            ).first()
        if row is None:
            raise NotFound(f"{record_id} v{number}")
        return _version(row)

    def events(self, record_id: str) -> list[Event]:
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(events_table)
                .where(events_table.c.record_id == record_id)
                .order_by(events_table.c.id.desc())
            )
            return [Event(r.version, Action(r.action), r.actor, r.note, as_utc(r.at)) for r in rows]

    # -- editing and the workflow --------------------------------------------------------

    def save(self, entry: Entry, author: str, note: str = "", *, creating: bool) -> int:
        """A new draft version; creating refuses an id in use, editing needs one."""
        with self.store.engine.begin() as conn:
            row = self._locked(conn, entry.id, missing_ok=creating)
            if creating and row is not None:
                raise WorkflowError(f"编号“{entry.id}”已被另一条记录使用，请换一个编号。")
            if row is not None:
                latest = self._entry(conn, entry.id, row.version)
                entry = replace(entry, sections=latest.sections)
                if latest.content_hash() == entry.content_hash():
                    raise WorkflowError("内容没有变化，没有保存新版本。")
            action = Action.CREATE if row is None else Action.EDIT
            return self._draft(conn, entry, row, action, author, note)

    def restore(self, record_id: str, number: int, author: str) -> int:
        old = self.version(record_id, number)
        with self.store.engine.begin() as conn:
            row = self._locked(conn, record_id)
            note = f"恢复为第 {number} 版的内容"
            return self._draft(conn, old.entry, row, Action.RESTORE, author, note)

    def submit(self, record_id: str, author: str) -> None:
        with self.store.engine.begin() as conn:
            row = self._locked(conn, record_id)
            check_submit(State(row.state))
            self._set(conn, record_id, state=State.REVIEW.value, submitted_by=author)
            self._event(conn, record_id, row.version, Action.SUBMIT, author)

    def reject(self, record_id: str, reviewer: str, note: str) -> None:
        with self.store.engine.begin() as conn:
            row = self._locked(conn, record_id)
            check_review(State(row.state), reviewer, self._authors(conn, row))
            self._set(conn, record_id, state=State.DRAFT.value, submitted_by=None)
            self._event(conn, record_id, row.version, Action.REJECT, reviewer, note)

    def publish(
        self, record_id: str, reviewer: str, today: date, embedder: Embedder | None = None
    ) -> Entry:
        """Puts the reviewed version into search (same transaction as the record); with an
        embedder, its vectors too, so every search process swaps once and finds it at once."""
        fresh = None
        if embedder is not None:
            fresh = fresh_vectors(
                self.version(record_id, self.record(record_id).version).entry, embedder
            )
        with self.store.engine.begin() as conn:
            row = self._locked(conn, record_id)
            check_review(State(row.state), reviewer, self._authors(conn, row))
            entry = self._entry(conn, record_id, row.version)
            self.store.upsert_in(conn, [entry], CONSOLE_ORIGIN, fresh=fresh)
            self._set(conn, record_id, **self._live_values(entry, row.version, today))
            self._event(conn, record_id, row.version, Action.PUBLISH, reviewer)
        return entry

    def withdraw(self, record_id: str, actor: str, note: str) -> None:
        with self.store.engine.begin() as conn:
            row = self._locked(conn, record_id)
            check_withdraw(row.live_version)
            self.store.delete_in(conn, [record_id])
            self._set(
                conn, record_id, state=State.WITHDRAWN.value, live_version=None, live_hash=None
            )
            self._event(conn, record_id, row.version, Action.WITHDRAW, actor, note)

    # -- imports -------------------------------------------------------------------------

    def import_entries(
        self, entries: Sequence[Entry], origin: str, author: str, today: date
    ) -> tuple[list[str], list[str]]:
        """Publishes reviewed import rows at once: (added, updated) ids, each a new version."""
        with self.store.engine.begin() as conn:
            result = self.store.upsert_in(conn, entries, origin)
            changed = set(result.added) | set(result.updated)
            self._record_live(conn, [e for e in entries if e.id in changed], author, today)
        return result.added, result.updated

    def adopt(self, today: date) -> int:
        """Brings entries written outside the console (CLI import, seed) into the records.

        New or changed entries become a published version by ``system``; records whose
        entry was pruned by an import are marked withdrawn.
        """
        hashes = self.store.content_hashes()
        with self.store.engine.begin() as conn:
            known = {
                row.id: row.live_hash
                for row in conn.execute(sa.select(records_table.c.id, records_table.c.live_hash))
            }
            stale = [i for i, h in hashes.items() if known.get(i, "") != h]
            gone = [i for i, h in known.items() if h is not None and i not in hashes]
            for record_id in gone:
                self._set(
                    conn, record_id, state=State.WITHDRAWN.value, live_version=None, live_hash=None
                )
            entries = self.store.get_many(stale)
            self._record_live(conn, entries, SYSTEM_AUTHOR, today)
        return len(stale) + len(gone)

    # -- internals -----------------------------------------------------------------------

    def _record_live(
        self, conn: sa.Connection, entries: Sequence[Entry], author: str, today: date
    ) -> None:
        if not entries:
            return
        rows = {
            row.id: row
            for row in conn.execute(
                sa.select(records_table).where(records_table.c.id.in_([e.id for e in entries]))
            )
        }
        self._add_versions(
            conn,
            [(entry, rows.get(entry.id)) for entry in entries],
            Action.IMPORT,
            author,
            "",
            State.PUBLISHED,
            live=lambda entry, number: self._live_values(entry, number, today),
        )

    def _draft(
        self, conn: sa.Connection, entry: Entry, row: Any, action: Action, author: str, note: str
    ) -> int:
        return self._add_versions(conn, [(entry, row)], action, author, note, State.DRAFT)[0]

    def _add_versions(
        self,
        conn: sa.Connection,
        items: Sequence[tuple[Entry, Any]],
        action: Action,
        author: str,
        note: str,
        state: State,
        live: Callable[[Entry, int], dict[str, Any]] | None = None,
    ) -> list[int]:
        """A new version of each (entry, its record row or None), in three statements
        whatever their number: an import of 10,000 rows writes them set-wise."""
        now = utcnow()
        numbers, versions, created, changed = [], [], [], []
        for entry, row in items:
            number = (row.version if row is not None else 0) + 1
            numbers.append(number)
            versions.append(
                {
                    "record_id": entry.id,
                    "version": number,
                    "data": entry_to_json(entry),
                    "action": action.value,
                    "author": author,
                    "note": note,
                    "at": now,
                }
            )
            values = {
                **_describe(entry),
                "state": state.value,
                "version": number,
                "editor": author,
                "submitted_by": None,
                "updated_at": now,
                **(live(entry, number) if live is not None else {}),
            }
            if row is None:
                created.append({"id": entry.id, **values})
            else:
                changed.append({"id": entry.id, **values})
        conn.execute(versions_table.insert(), versions)
        if created:
            conn.execute(records_table.insert(), created)
        if changed:
            update_rows(conn, records_table, changed)
        return numbers

    def _live_values(self, entry: Entry, number: int, today: date) -> dict[str, Any]:
        checked = entry.provenance.checked_on
        if isinstance(entry, KnowledgePoint):
            checked = checked or entry.reviewed
        due = (checked or today) + timedelta(self.review_days)
        if isinstance(entry, KnowledgePoint) and entry.expires:
            due = min(due, entry.expires)
        return {
            "state": State.PUBLISHED.value,
            "live_version": number,
            "live_hash": entry.content_hash(),
            "review_due": due,
            "submitted_by": None,
        }

    @staticmethod
    def _authors(conn: sa.Connection, row: Any) -> set[str]:
        """Who wrote or submitted the versions under review: none of them may approve."""
        rows = conn.execute(
            sa.select(versions_table.c.author).where(
                versions_table.c.record_id == row.id,
                versions_table.c.version > (row.live_version or 0),
            )
        )
        return {r.author for r in rows} | {row.editor, row.submitted_by or row.editor}

    def _entry(self, conn: sa.Connection, record_id: str, number: int) -> Entry:
        data = conn.scalar(
            sa.select(versions_table.c.data).where(
                versions_table.c.record_id == record_id, versions_table.c.version == number
            )
        )
        if data is None:
            raise NotFound(f"{record_id} v{number}")
        return entry_from_json(data)

    @staticmethod
    def _locked(conn: sa.Connection, record_id: str, missing_ok: bool = False) -> Any:
        query = sa.select(records_table).where(records_table.c.id == record_id)
        if conn.dialect.name != "sqlite":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None and not missing_ok:
            raise NotFound(record_id)
        return row

    @staticmethod
    def _set(conn: sa.Connection, record_id: str, **values: Any) -> None:
        conn.execute(records_table.update().where(records_table.c.id == record_id).values(**values))

    @staticmethod
    def _event(
        conn: sa.Connection, record_id: str, number: int, action: Action, actor: str, note: str = ""
    ) -> None:
        conn.execute(
            events_table.insert().values(
                record_id=record_id,
                version=number,
                action=action.value,
                actor=actor,
                note=note,
                at=utcnow(),
            )
        )

    @staticmethod
    def _condition(filters: RecordFilter, today: date) -> sa.ColumnElement[bool]:
        c = records_table.c
        clauses: list[sa.ColumnElement[bool]] = []
        for word in filters.query.lower().split():
            clauses.append(c.search_text.contains(word, autoescape=True))
        for column, value in (
            (c.kind, filters.kind),
            (c.category, filters.category),
            (c.department, filters.department),
            (c.state, filters.state),
        ):
            if value:
                clauses.append(column == value)
        if filters.due:
            clauses.append(c.review_due <= today + timedelta(REMIND_DAYS))
            clauses.append(c.live_version.is_not(None))
        if filters.unverified:
            clauses.append(c.verified.is_(False))
            clauses.append(c.live_version.is_not(None))
        return sa.and_(sa.true(), *clauses)


def _describe(entry: Entry) -> dict[str, Any]:
    """The record's columns for listing, filtering and full-text search."""
    if isinstance(entry, Standard):
        category, department = entry.standard_type, entry.issuer
        text = [entry.number, entry.title, entry.scope, ccs_label(entry.ccs), entry.ics]
    else:
        category, department = entry.category, entry.department or entry.issuer
        text = [entry.id, entry.title, entry.content, " ".join(entry.keywords)]
    return {
        "kind": entry.kind.value,
        "title": entry.title,
        "category": category,
        "department": department,
        "search_text": " ".join([*text, category, department]).lower(),
        "verified": entry.provenance.verified,
    }


def _record(row: Any) -> Record:
    return Record(
        id=row.id,
        kind=row.kind,
        title=row.title,
        category=row.category,
        department=row.department,
        state=State(row.state),
        version=row.version,
        live_version=row.live_version,
        editor=row.editor,
        submitted_by=row.submitted_by,
        verified=bool(row.verified),
        review_due=row.review_due,
        updated_at=as_utc(row.updated_at),
    )


def _version(row: Any) -> Version:
    return Version(
        record_id=row.record_id,
        version=row.version,
        entry=entry_from_json(row.data),
        action=Action(row.action),
        author=row.author,
        note=row.note,
        at=as_utc(row.at),
    )
