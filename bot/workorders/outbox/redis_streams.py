"""The outbox on Redis Streams, used when ``REDIS_URL`` is set (several relays, replicas).

Layout under one hash-tagged prefix (so every key lives in one cluster slot):
``P:stream`` (one stream entry per undelivered request, read by the consumer group
``relay``), ``P:entry:<acceptance no>`` (a hash with the request and its state),
``P:dedupe:<key>`` (the acceptance number of a recent identical request, with expiry),
``P:seq:<yyyymmdd>`` (the per-day counter behind acceptance numbers, which Redis takes
from its own block, see ``bot.workorders.numbers``), ``P:pending`` (a
sorted set of undelivered acceptance numbers) and ``P:counts`` (delivered/rejected).

Every state change is one Lua script, so a crash never leaves half an entry. A relay that
dies keeps its entries in the group's pending list; another relay takes them over with
XAUTOCLAIM once they have been idle longer than the lease. Delivered entries are acked
and deleted from the stream; their hash is kept for ``entry_ttl_s`` so the acceptance
number can still be looked up. Durability is that of the Redis server: run it with
``appendonly yes`` (and ``appendfsync everysec`` or ``always``) in production.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.workorders.models import CitizenRequest, Deadline
from bot.workorders.numbers import ACCEPTANCE_BLOCK_SIZE, REDIS_ACCEPTANCE_BLOCK
from bot.workorders.outbox.base import (
    EntryKind,
    EntryStatus,
    NewEntry,
    OutboxEntry,
    Submission,
    new_delivery_key,
)

logger = logging.getLogger(__name__)

GROUP = "relay"

_SUBMIT = """
local existing = redis.call('GET', KEYS[1])
if existing and redis.call('EXISTS', ARGV[1] .. ':entry:' .. existing) == 1 then
  return {0, existing}
end
local n = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 259200)
if n > tonumber(ARGV[11]) then return {-1, ''} end
local acc = 'SL' .. ARGV[2] .. string.format('%05d', n + tonumber(ARGV[10]))
local key = ARGV[1] .. ':entry:' .. acc
redis.call('HSET', key, 'acceptance_no', acc, 'kind', ARGV[4], 'target', ARGV[5],
  'request', ARGV[6], 'accepted_at', ARGV[7], 'deadline', ARGV[8], 'status', 'pending',
  'order_no', '', 'attempts', 0, 'last_error', '', 'lease_owner', '', 'lease_until', 0,
  'delivered_at', '', 'delivery_key', ARGV[12])
local id = redis.call('XADD', KEYS[3], '*', 'acceptance_no', acc)
redis.call('HSET', key, 'stream_id', id)
redis.call('ZADD', KEYS[4], ARGV[9], acc)
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[1], acc, 'EX', ARGV[3]) end
return {1, acc}
"""

_LEASE = """
local key = ARGV[1] .. ':entry:' .. ARGV[2]
if redis.call('HGET', key, 'status') ~= 'pending' then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
if tonumber(redis.call('HGET', key, 'lease_until') or '0') > now then return 0 end
redis.call('HSET', key, 'lease_owner', ARGV[3], 'lease_until', now + tonumber(ARGV[4]))
redis.call('HINCRBY', key, 'attempts', 1)
return 1
"""

_FINISH = """
local key = ARGV[1] .. ':entry:' .. ARGV[2]
if redis.call('HGET', key, 'status') ~= 'pending' then return 0 end
redis.call('HSET', key, 'status', ARGV[3], 'order_no', ARGV[4], 'last_error', ARGV[5],
  'delivered_at', ARGV[6], 'lease_owner', '', 'lease_until', 0)
local id = redis.call('HGET', key, 'stream_id')
redis.call('XACK', KEYS[1], ARGV[8], id)
redis.call('XDEL', KEYS[1], id)
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
if tonumber(ARGV[7]) > 0 then redis.call('EXPIRE', key, ARGV[7]) end
return 1
"""

_RELEASE = """
local key = ARGV[1] .. ':entry:' .. ARGV[2]
if redis.call('HGET', key, 'lease_owner') ~= ARGV[3] then return 0 end
redis.call('HSET', key, 'lease_owner', '', 'lease_until', 0, 'last_error', ARGV[4])
return 1
"""


class RedisStreamOutbox:
    def __init__(
        self,
        redis: Redis,
        prefix: str = "hotline:workorders",
        entry_ttl_s: int = 90 * 24 * 3600,
        block_ms: int = 500,
    ) -> None:
        self.redis = redis
        self.prefix = "{" + prefix.strip("{}") + "}"
        self.stream = f"{self.prefix}:stream"
        self.pending_key = f"{self.prefix}:pending"
        self.counts_key = f"{self.prefix}:counts"
        self.entry_ttl_s = entry_ttl_s
        self.block_ms = block_ms
        self._submit = redis.register_script(_SUBMIT)
        self._lease = redis.register_script(_LEASE)
        self._finish = redis.register_script(_FINISH)
        self._release = redis.register_script(_RELEASE)

    def _entry_key(self, acceptance_no: str) -> str:
        return f"{self.prefix}:entry:{acceptance_no}"

    async def setup(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def submit(self, new: NewEntry, dedupe_window_s: float) -> Submission:
        day = new.day.strftime("%Y%m%d")
        result = await self._submit(
            keys=[
                f"{self.prefix}:dedupe:{new.dedupe_key}",
                f"{self.prefix}:seq:{day}",
                self.stream,
                self.pending_key,
            ],
            args=[
                self.prefix,
                day,
                int(dedupe_window_s),
                new.kind.value,
                new.target,
                json.dumps(new.request.to_json(), ensure_ascii=False),
                new.accepted_at.isoformat(),
                json.dumps(new.deadline.to_json(), ensure_ascii=False),
                time.time(),
                REDIS_ACCEPTANCE_BLOCK,
                ACCEPTANCE_BLOCK_SIZE,
                new_delivery_key(),
            ],
        )
        created, acceptance_no = int(result[0]), _text(result[1])
        if created < 0:
            raise RuntimeError(f"acceptance numbers for {day} are exhausted")
        entry = await self.get(acceptance_no)
        if entry is None:
            raise RuntimeError(f"outbox entry {acceptance_no} vanished after submit")
        return Submission(entry, duplicate=created == 0)

    async def get(self, acceptance_no: str) -> OutboxEntry | None:
        data = await self.redis.hgetall(self._entry_key(acceptance_no))
        return _entry(data) if data else None

    async def pending(self, limit: int) -> list[OutboxEntry]:
        numbers = await self.redis.zrevrange(self.pending_key, 0, max(limit - 1, 0))
        return await self._load([_text(number) for number in numbers])

    async def _load(self, numbers: list[str]) -> list[OutboxEntry]:
        if not numbers:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for number in numbers:
                pipe.hgetall(self._entry_key(number))
            rows = await pipe.execute()
        return [_entry(row) for row in rows if row]

    async def claim(self, consumer: str, limit: int, lease_s: float) -> list[OutboxEntry]:
        messages: list[tuple[str, str]] = []
        # 1. this relay's own unacknowledged entries (earlier attempts that failed);
        mine = await self.redis.xreadgroup(GROUP, consumer, {self.stream: "0"}, count=limit)
        messages += _messages(mine)
        # 2. entries of relays that died holding them (idle longer than a lease);
        if len(messages) < limit:
            stale = await self.redis.xautoclaim(
                self.stream,
                GROUP,
                consumer,
                min_idle_time=int(lease_s * 1000),
                start_id="0-0",
                count=limit - len(messages),
            )
            messages += [(_text(i), _field(f)) for i, f in stale[1]]
        # 3. new entries, waiting briefly when there is nothing else to do.
        if len(messages) < limit:
            fresh = await self.redis.xreadgroup(
                GROUP,
                consumer,
                {self.stream: ">"},
                count=limit - len(messages),
                block=self.block_ms if not messages else None,
            )
            messages += _messages(fresh)
        claimed: list[OutboxEntry] = []
        seen: set[str] = set()
        for message_id, acceptance_no in messages:
            if not acceptance_no:  # deleted from the stream but never acknowledged
                await self.redis.xack(self.stream, GROUP, message_id)
                continue
            if acceptance_no in seen:
                continue
            seen.add(acceptance_no)
            entry = await self.claim_one(acceptance_no, consumer, lease_s)
            if entry is not None:
                claimed.append(entry)
                continue
            current = await self.get(acceptance_no)
            if current is None or current.status is not EntryStatus.PENDING:
                # delivered inline (or gone): acknowledge the leftover stream entry
                await self.redis.xack(self.stream, GROUP, message_id)
                await self.redis.xdel(self.stream, message_id)
        return sorted(claimed, key=lambda entry: entry.accepted_at)

    async def claim_one(
        self, acceptance_no: str, consumer: str, lease_s: float
    ) -> OutboxEntry | None:
        leased = await self._lease(keys=[], args=[self.prefix, acceptance_no, consumer, lease_s])
        return await self.get(acceptance_no) if int(leased) else None

    def _finish_args(
        self, acceptance_no: str, status: EntryStatus, order_no: str, error: str, stamp: str
    ) -> list[Any]:
        ttl = self.entry_ttl_s if status is EntryStatus.DELIVERED else 0
        return [self.prefix, acceptance_no, status.value, order_no, error, stamp, ttl, GROUP]

    async def mark_delivered(self, deliveries: Mapping[str, str]) -> None:
        stamp = datetime.now(UTC).isoformat()
        keys = [self.stream, self.pending_key, self.counts_key]
        async with self.redis.pipeline(transaction=False) as pipe:
            for number, order_no in deliveries.items():
                args = self._finish_args(number, EntryStatus.DELIVERED, order_no, "", stamp)
                await self._finish(keys=keys, args=args, client=pipe)
            await pipe.execute()

    async def mark_rejected(self, acceptance_no: str, error: str) -> None:
        args = self._finish_args(acceptance_no, EntryStatus.REJECTED, "", error[:2000], "")
        await self._finish(keys=[self.stream, self.pending_key, self.counts_key], args=args)

    async def release(self, acceptance_no: str, consumer: str, error: str) -> None:
        await self._release(keys=[], args=[self.prefix, acceptance_no, consumer, error[:2000]])

    async def counts(self) -> dict[str, int]:
        done = await self.redis.hgetall(self.counts_key)
        result = {status.value: 0 for status in EntryStatus}
        result.update({_text(k): int(v) for k, v in done.items()})
        result[EntryStatus.PENDING.value] = int(await self.redis.zcard(self.pending_key))
        return result

    async def housekeeping(self, idle_s: float = 3600.0) -> None:
        """Removes consumers of dead relays that hold nothing any more."""
        for info in await self.redis.xinfo_consumers(self.stream, GROUP):
            if int(info["pending"]) == 0 and int(info["idle"]) > idle_s * 1000:
                await self.redis.xgroup_delconsumer(self.stream, GROUP, _text(info["name"]))

    async def close(self) -> None:
        await self.redis.aclose()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _field(fields: dict[Any, Any] | None) -> str:
    if not fields:
        return ""
    return _text(fields.get(b"acceptance_no") or fields.get("acceptance_no") or "")


def _messages(response: Any) -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = []
    for _stream, entries in response or []:
        for message_id, fields in entries:
            result.append((_text(message_id), _field(fields)))
    return result


def _entry(raw: dict[Any, Any]) -> OutboxEntry:
    data = {_text(k): _text(v) for k, v in raw.items()}
    delivered = data.get("delivered_at", "")
    return OutboxEntry(
        acceptance_no=data["acceptance_no"],
        kind=EntryKind(data["kind"]),
        request=CitizenRequest.from_stored(json.loads(data["request"])),
        accepted_at=datetime.fromisoformat(data["accepted_at"]),
        deadline=Deadline.from_json(json.loads(data["deadline"])),
        status=EntryStatus(data["status"]),
        target=data.get("target", ""),
        order_no=data.get("order_no", ""),
        attempts=int(data.get("attempts", "0")),
        last_error=data.get("last_error", ""),
        delivered_at=datetime.fromisoformat(delivered) if delivered else None,
        delivery_key=data.get("delivery_key", ""),
    )
