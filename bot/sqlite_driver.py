"""aiosqlite connections whose statements each cost one trip to the connection's thread.

aiosqlite runs every call on a thread of the connection's own, and SQLAlchemy's adapter
makes four calls per SELECT (open a cursor, execute, fetch, close) and three per write.
A trip is two thread switches and a wake-up of the event loop: cheap alone, but a
citizen's turn runs some forty statements, and on a busy machine each switch waits for
a core. Here ``execute`` opens the cursor, runs the statement, fetches the first rows
and closes the cursor in one trip (a longer result is fetched in further trips); a
``BEGIN`` travels with the transaction's first statement (SQLite takes no lock and no
snapshot before that statement anyway, and a failing ``BEGIN IMMEDIATE`` fails that
statement), handed over by :meth:`Connection.begin_transaction` from SQLAlchemy's
``begin`` event rather than executed, which would cost all of SQLAlchemy's execution
machinery for a string kept aside; and a commit or rollback with nothing to end (the
pool's rollback of every connection it takes back) makes no trip. Errors and the thread
are aiosqlite's.

A connection can also run one transaction *inline*, on the event loop's own thread
(``Connection.inline``, set by :func:`bot.storage.write_transaction` and
:func:`bot.storage.quick_read` for the few short transactions of every citizen turn). A
statement costs SQLite a few microseconds and a WAL commit one ``fsync``, while each trip
to the thread costs two thread wake-ups: the turn's two transactions spent more time
travelling than working. Inline work must never wait for another process's lock, so the
transaction's first statement (which carries its ``BEGIN``, where SQLite takes the lock or
the snapshot) is tried with no busy timeout, and when SQLite says busy the transaction
goes to the thread, where the busy timeout waits as before. In WAL mode nothing after
that first statement waits for a lock.

A transaction can also leave its ``fsync`` to the next one (``Connection.deferred_sync``,
set by :func:`bot.storage.write_transaction` for the bot's replies): its commit is written
to the log, so it survives the process dying, and reaches the disk with the next commit
that syncs, since a sync of the write-ahead log covers every frame before it. A citizen's
row is synced before it is forwarded; the replies to it are then one sync behind.

Written against aiosqlite 0.22 (``requirements/app.txt`` pins it): it uses its
``Connection._execute`` and ``_conn``, as aiosqlite's own cursor does.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

_CHUNK = 256  # rows fetched per trip
_T = TypeVar("_T")

# What a trip brings back: description, rowcount, lastrowid, first rows, and the cursor
# when rows remain (else it is closed already).
_Outcome = tuple[Any, int, int | None, list[Any], sqlite3.Cursor | None]


SYNCHRONOUS = "FULL"
"""Every commit syncs the log (set when a connection opens, see :mod:`bot.storage`)."""


def _run(
    conn: sqlite3.Connection, prelude: tuple[str, ...], sql: str, parameters: Any, many: bool
) -> _Outcome:
    """On the connection's thread."""
    for statement in prelude:
        conn.execute(statement)
    cursor = conn.cursor()
    if many:
        cursor.executemany(sql, parameters)
    else:
        cursor.execute(sql, parameters)
    rows = cursor.fetchmany(_CHUNK) if cursor.description else []
    outcome = (cursor.description, cursor.rowcount, cursor.lastrowid, rows)
    if len(rows) < _CHUNK:
        cursor.close()
        return (*outcome, None)
    return (*outcome, cursor)


class Cursor:
    """The part of aiosqlite's cursor that SQLAlchemy's adapter uses."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._open: sqlite3.Cursor | None = None  # while rows remain to fetch
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        return await self._run(sql, parameters, many=False)

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Cursor:
        return await self._run(sql, parameters, many=True)

    async def _run(self, sql: str, parameters: Any, many: bool) -> Cursor:
        await self.close()
        conn = self._connection
        begin, conn.begin = conn.begin, None
        prelude = () if begin is None else conn.prelude(begin)
        outcome = None
        if conn.inline and prelude:
            outcome = conn.first_inline(prelude, sql, parameters, many)
        if outcome is None:  # right here while inline; on the thread when busy or not inline
            outcome = await conn.on_thread(_run, conn._conn, prelude, sql, parameters, many)
        self.description, self.rowcount, self.lastrowid, rows, self._open = outcome
        self._rows = deque(rows)
        return self

    async def _more(self) -> bool:
        if self._open is None:
            return False
        rows = await self._connection.on_thread(self._open.fetchmany, _CHUNK)
        self._rows.extend(rows)
        if len(rows) < _CHUNK:
            await self.close()
        return bool(rows)

    async def fetchone(self) -> Any:
        if not self._rows:
            await self._more()
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size or self.arraysize
        while len(self._rows) < size and await self._more():
            pass
        return [self._rows.popleft() for _ in range(min(size, len(self._rows)))]

    async def fetchall(self) -> list[Any]:
        while await self._more():
            pass
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def __aiter__(self) -> AsyncIterator[Any]:
        while (row := await self.fetchone()) is not None:
            yield row

    async def close(self) -> None:
        if self._open is not None:
            cursor, self._open = self._open, None
            await self._connection.on_thread(cursor.close)


class Connection(aiosqlite.Connection):
    begin: str | None = None  # a BEGIN waiting for the transaction's first statement
    inline = False  # the current transaction runs on the event loop's thread
    deferred_sync = False  # the current transaction's commit is synced by the next one
    _synchronous = SYNCHRONOUS  # the level the connection commits at
    busy_timeout_ms = 0  # what the connection waits for another process's lock

    def cursor(self) -> Cursor:  # type: ignore[override]
        return Cursor(self)

    async def commit(self) -> None:
        if self._ends_something():
            await self.on_thread(self._conn.commit)
        self.inline = self.deferred_sync = False

    async def rollback(self) -> None:
        if self._ends_something():
            await self.on_thread(self._conn.rollback)
        self.inline = self.deferred_sync = False

    def begin_transaction(self, *, immediate: bool, inline: bool, deferred_sync: bool) -> None:
        """Opens a transaction (its BEGIN is sent with its first statement); ``inline`` and
        ``deferred_sync`` hold until it ends."""
        self.begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"
        self.inline, self.deferred_sync = inline, deferred_sync

    def prelude(self, begin: str) -> tuple[str, ...]:
        """What opens a transaction: its BEGIN, after the sync level it commits at when
        that differs from the previous transaction's (SQLite sets it outside a
        transaction only; in WAL mode NORMAL commits without a sync)."""
        wanted = "NORMAL" if self.deferred_sync else SYNCHRONOUS
        if wanted == self._synchronous:
            return (begin,)
        self._synchronous = wanted
        return (f"PRAGMA synchronous = {wanted}", begin)

    def _ends_something(self) -> bool:
        """Read between statements (SQLAlchemy runs one at a time on a connection)."""
        pending, self.begin = self.begin, None
        return pending is None and self._connection is not None and self._conn.in_transaction

    async def on_thread(self, function: Callable[..., _T], *args: Any) -> _T:
        """``function(*args)`` on the connection's thread (one trip), or right here while
        the transaction runs inline."""
        if self.inline:
            return function(*args)
        result: _T = await self._execute(function, *args)  # type: ignore[no-untyped-call]
        return result

    def first_inline(
        self, prelude: tuple[str, ...], sql: str, parameters: Any, many: bool
    ) -> _Outcome | None:
        """The transaction's first statement, inline; None (and nothing begun) when SQLite
        is busy: the caller sends it to the thread, which waits for the lock."""
        conn = self._conn
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            return _run(conn, prelude, sql, parameters, many)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # BUSY_RECOVERY too
                raise
            if conn.in_transaction:  # a deferred BEGIN, refused at its first read
                conn.rollback()
            self.inline = False
            return None
        finally:
            conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")


async def connect(path: Path, timeout_s: float) -> Connection:
    """For ``create_async_engine(async_creator=…)``: what SQLAlchemy's aiosqlite dialect
    would open (``check_same_thread=False``, a daemon thread), with these cursors."""
    connection = Connection(
        lambda: sqlite3.connect(path, timeout=timeout_s, check_same_thread=False), 64
    )
    connection.busy_timeout_ms = round(timeout_s * 1000)
    connection._thread.daemon = True
    await connection
    return connection
