"""Retention of the SQL outbox: requests hold the citizen's phone, name, address and words.

An entry is only a delivery buffer: once delivered, the work order kept by the work-order
platform is the official record, so the copy here goes after the retention period (a
rejected entry likewise, counted from its acceptance). A citizen's deletion request removes
their entries whatever their state; one not yet delivered is withdrawn with it, and a
relay delivering it at that moment finds no row to mark. The dedupe keys of removed entries
go too (they are hashes, but they name the acceptance number).

On Redis the entries are found by scanning their keys, which is fine for a deletion
request and an hourly job; a removed pending entry also leaves the stream and the pending
set in the same script, so no relay claims it afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage import checkpoint, write_transaction
from bot.workorders.outbox.base import EntryStatus, OutboxEntry
from bot.workorders.outbox.redis_streams import GROUP, RedisStreamOutbox
from bot.workorders.outbox.sql import dedupe_table, outbox_table

_BATCH = 500


class SqlOutboxRetention:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._ready = False

    async def forget_conversations(self, conversation_ids: Sequence[str]) -> int:
        """Removes every entry made in these conversations; returns how many."""
        if not conversation_ids:
            return 0
        made_in = outbox_table.c.request["conversation_id"].as_string()
        return await self._remove(made_in.in_(list(conversation_ids)))

    async def purge_finished(self, before: datetime) -> int:
        """Removes delivered entries delivered before ``before``, rejected ones accepted
        before it; pending ones stay until they are delivered."""
        c = outbox_table.c
        return await self._remove(
            or_(
                and_(c.status == EntryStatus.DELIVERED.value, c.delivered_at < before),
                and_(c.status == EntryStatus.REJECTED.value, c.accepted_at < before),
            )
        )

    async def _remove(self, condition: ColumnElement[bool]) -> int:
        if not self._ready:  # a console alone may run before any desk made the tables
            async with self.engine.begin() as conn:
                await conn.run_sync(outbox_table.metadata.create_all)
            self._ready = True
        removed = 0
        while True:
            async with write_transaction(self.engine) as conn:
                query = select(outbox_table.c.acceptance_no).where(condition).limit(_BATCH)
                numbers = list((await conn.execute(query)).scalars().all())
                if numbers:
                    await conn.execute(
                        delete(dedupe_table).where(dedupe_table.c.acceptance_no.in_(numbers))
                    )
                    await conn.execute(
                        delete(outbox_table).where(outbox_table.c.acceptance_no.in_(numbers))
                    )
            removed += len(numbers)
            if len(numbers) < _BATCH:
                break
        if removed:
            await checkpoint(self.engine)
        return removed

    async def close(self) -> None:
        await self.engine.dispose()


_FORGET = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
if status == 'pending' then
  local id = redis.call('HGET', KEYS[1], 'stream_id')
  if id then
    redis.call('XACK', KEYS[2], ARGV[2], id)
    redis.call('XDEL', KEYS[2], id)
  end
  redis.call('ZREM', KEYS[3], ARGV[1])
end
redis.call('DEL', KEYS[1])
return 1
"""


class RedisOutboxRetention:
    def __init__(self, outbox: RedisStreamOutbox) -> None:
        self.outbox = outbox
        self._forget = outbox.redis.register_script(_FORGET)

    async def forget_conversations(self, conversation_ids: Sequence[str]) -> int:
        wanted = set(conversation_ids)
        if not wanted:
            return 0
        return await self._remove(lambda entry: entry.request.conversation_id in wanted)

    async def purge_finished(self, before: datetime) -> int:
        def finished(entry: OutboxEntry) -> bool:
            if entry.status is EntryStatus.DELIVERED:
                return entry.delivered_at is not None and entry.delivered_at < before
            return entry.status is EntryStatus.REJECTED and entry.accepted_at < before

        return await self._remove(finished)

    async def _remove(self, chosen: Callable[[OutboxEntry], bool]) -> int:
        outbox = self.outbox
        removed = 0
        marker = f"{outbox.prefix}:entry:"
        async for key in outbox.redis.scan_iter(match=marker + "*", count=500):
            number = (key.decode() if isinstance(key, bytes) else str(key))[len(marker) :]
            entry = await outbox.get(number)
            if entry is not None and chosen(entry):
                keys = [key, outbox.stream, outbox.pending_key]
                removed += int(await self._forget(keys=keys, args=[number, GROUP]))
        return removed

    async def close(self) -> None:
        await self.outbox.close()
