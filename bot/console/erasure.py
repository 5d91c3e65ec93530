"""The stores outside the console's own tables that keep a conversation's words.

The handoff's live row (its summary), its episodes (wrap-up notes), the messages citizens
left (留言 and the agents' replies), agent-assist suggestions (the question asked and what
the agent finally sent), phone calls (the caller's number) and supervisors' routing
corrections (the message text) all hold what a citizen said or numbers that identify
them. Deleting a conversation deletes these rows; anonymising it masks their text and
moves them to the conversation's new pseudonym, so handling times and suggestion outcomes
still count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Table, delete, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.handoff.calls import call_id_of, call_table
from bot.handoff.feedback import suggestion_table
from bot.handoff.notes import note_table
from bot.handoff.store import episode_table, handoff_table
from bot.privacy import mask_personal_data
from bot.routing.feedback import routing_correction_table


@dataclass(frozen=True)
class _Store:
    table: Table
    key: str  # the column that names the conversation (or the call, or the turn)
    texts: tuple[str, ...]


_BY_CONVERSATION = (
    _Store(handoff_table, "conversation_id", ("summary",)),
    _Store(episode_table, "conversation_id", ("wrap_up_note",)),
    _Store(note_table, "conversation_id", ("text", "reply")),
    _Store(suggestion_table, "conversation_id", ("query", "text", "final_text")),
)
_CALLS = _Store(call_table, "call_id", ("caller",))
_ROUTING = _Store(routing_correction_table, "transcript_id", ("text",))


async def erase(
    conn: AsyncConnection, conversation_ids: Sequence[str], transcript_ids: Sequence[int]
) -> None:
    """Deletes the rows of these conversations (and of their turns) in every store."""
    for store, keys in await _targets(conn, conversation_ids, transcript_ids):
        await conn.execute(delete(store.table).where(store.table.c[store.key].in_(keys)))


async def anonymise(
    conn: AsyncConnection, old_id: str, new_id: str, transcript_ids: Sequence[int]
) -> None:
    """Masks the rows of one conversation and files those keyed by it under ``new_id``."""
    for store, keys in await _targets(conn, [old_id], transcript_ids):
        table = store.table
        moved = {store.key: new_id} if store in _BY_CONVERSATION else {}
        for row in (await conn.execute(select(table).where(table.c[store.key].in_(keys)))).all():
            fields = row._mapping
            await conn.execute(
                update(table)
                .where(*(column == fields[column.name] for column in table.primary_key))
                .values(
                    **{name: mask_personal_data(fields[name] or "") for name in store.texts},
                    **moved,
                )
            )


async def _targets(
    conn: AsyncConnection, conversation_ids: Sequence[str], transcript_ids: Sequence[int]
) -> list[tuple[_Store, list[str] | list[int]]]:
    """Each store with the keys that name these conversations in it; a store whose table
    was never created in this database (routing corrections are made on first use) is
    left out."""
    calls = [c for c in map(call_id_of, conversation_ids) if c is not None]
    wanted: list[tuple[_Store, list[str] | list[int]]] = [
        *((store, list(conversation_ids)) for store in _BY_CONVERSATION),
        (_CALLS, calls),
        (_ROUTING, list(transcript_ids)),
    ]
    present = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    return [(store, keys) for store, keys in wanted if keys and store.table.name in present]
