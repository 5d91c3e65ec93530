"""The statements the conversation index runs for every transcript row, built once.

The index runs in the transaction of every citizen turn and every reply, and building a
SQLAlchemy statement and its cache key costs more than SQLite takes to run it: so these
are built once with bound parameters, and the summary's UPDATE once per set of columns
it changes (a handful of shapes).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Update, bindparam, case, func, select, update
from sqlalchemy.sql.dml import Insert

from bot.console.tables import conversation_intent_table, conversation_table, unanswered_table
from bot.conversation.transcript import transcript_table
from bot.storage import dialect_insert

_c = conversation_table.c

SUMMARY = select(_c.seq, _c.first_message, _c.last_at).where(
    _c.conversation_id == bindparam("conversation_id")
)
HANDOFF_REQUESTED = select(_c.handoff_requested_at).where(_c.seq == bindparam("seq"))
ROW = (
    select(
        transcript_table.c.role,
        transcript_table.c.text,
        transcript_table.c.created_at,
        _c.seq,
    )
    .select_from(
        transcript_table.outerjoin(
            conversation_table, _c.conversation_id == transcript_table.c.conversation_id
        )
    )
    .where(transcript_table.c.id == bindparam("row_id"))
)
"""A transcript row and its conversation's summary (``seq`` is None before it has one)."""


def _value(column: str) -> BindParameter[Any]:
    return bindparam(f"p_{column}", type_=conversation_table.c[column].type)


# Columns whose new value is not simply the one given: counters, the lowest confidence,
# and facts that keep the first value they got.
_LOWEST = _value("min_confidence")
_SET: dict[str, ColumnElement[Any]] = {
    "turns": _c.turns + 1,
    "citizen_turns": _c.citizen_turns + 1,
    "min_confidence": case(
        (_c.min_confidence.is_(None), _LOWEST),
        (_c.min_confidence > _LOWEST, _LOWEST),
        else_=_c.min_confidence,
    ),
    **{
        column: func.coalesce(_c[column], _value(column))
        for column in ("handoff_requested_at", "handoff_wait_s", "workorder_no")
    },
}
COUNTED: Any = object()
"""The value of a counter in :func:`summary_update`'s ``changes``: one more."""

_UPDATES: dict[frozenset[str], Update] = {}


def summary_update(seq: int, changes: Mapping[str, Any]) -> tuple[Update, dict[str, Any]]:
    """The UPDATE of summary ``seq`` that makes ``changes`` (column → value; counters add
    one, ``min_confidence`` keeps the lowest, handoff and work-order facts their first),
    and its parameters."""
    columns = frozenset(changes)
    statement = _UPDATES.get(columns)
    if statement is None:
        statement = (
            update(conversation_table)
            .where(_c.seq == bindparam("p_seq"))
            .values({column: _SET.get(column, _value(column)) for column in columns})
        )
        _UPDATES[columns] = statement
    params = {f"p_{column}": value for column, value in changes.items() if value is not COUNTED}
    return statement, {**params, "p_seq": seq}


@cache
def inserts(dialect: str) -> tuple[Insert, Insert, Insert]:
    """INSERT … ON CONFLICT DO NOTHING of a new summary, an unanswered question and an
    intent; their columns come with the parameters."""
    insert = dialect_insert(dialect)
    return (
        insert(conversation_table).on_conflict_do_nothing(index_elements=["conversation_id"]),
        insert(unanswered_table).on_conflict_do_nothing(),
        insert(conversation_intent_table).on_conflict_do_nothing(),
    )
