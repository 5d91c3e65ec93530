"""Rasa lock store whose tickets are issued and released atomically in Redis.

Runs inside the Rasa runtime (Python 3.10, rasa 3.6), loaded by module path from the
rendered ``endpoints.yml`` (``type: connectors.rasa_lock_store.AtomicRedisLockStore``).

Why not Rasa's own ``RedisLockStore``: it reads the whole ticket lock, adds a ticket in
Python and writes it back (GET then SET). Two replicas that receive a message for the same
conversation at the same moment both read "no tickets", both write ticket 0 and both
believe they hold the lock (RasaHQ/rasa#9213); the SQL tracker store then counts stored
events to decide what to append, so one citizen turn is silently dropped or interleaved.
Here every state change is one Lua script, which Redis runs without interleaving:

- ``<prefix>:lock:<conversation>:next`` — counter; INCR gives each waiter a unique ticket;
- ``<prefix>:lock:<conversation>`` — sorted set of live tickets, scored by number;
- ``<prefix>:lock:<conversation>:expires`` — ticket → expiry (Redis server time, ms), so a
  replica killed while holding the lock blocks the conversation for one lifetime at most,
  and no replica's clock matters.

All three keys carry a TTL of a lifetime plus a margin, so nothing is left behind.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig
from redis import Redis

logger = logging.getLogger(__name__)

# Lua helpers shared by the scripts: the server's clock in milliseconds, and dropping
# tickets whose holder outlived its lifetime (a crashed replica).
_PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function drop_expired()
  local tickets = redis.call('ZRANGE', KEYS[1], 0, -1)
  for _, ticket in ipairs(tickets) do
    local expires = tonumber(redis.call('HGET', KEYS[3], ticket) or '0')
    if expires <= now then
      redis.call('ZREM', KEYS[1], ticket)
      redis.call('HDEL', KEYS[3], ticket)
    end
  end
end
local function keep_for(ms)
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ms) end
end
"""

# KEYS: queue, counter, expiries. ARGV: lifetime ms, key TTL ms. Returns the new ticket.
_ISSUE = (
    _PRELUDE
    + """
drop_expired()
local ticket = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], ticket, ticket)
redis.call('HSET', KEYS[3], ticket, now + tonumber(ARGV[1]))
keep_for(tonumber(ARGV[2]))
return ticket
"""
)

# KEYS: queue, counter, expiries. ARGV: ticket. Returns the ticket now served (the
# smallest live one), 0 when the queue is empty, -1 when ARGV's ticket has expired.
_SERVING = (
    _PRELUDE
    + """
drop_expired()
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return -1 end
local first = redis.call('ZRANGE', KEYS[1], 0, 0)
return tonumber(first[1])
"""
)

# KEYS: queue, counter, expiries. ARGV: ticket. Deletes the keys when no one waits, in
# the same step, so a ticket issued meanwhile can never be deleted with them.
_RELEASE = (
    _PRELUDE
    + """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
drop_expired()
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return 0
end
return redis.call('ZCARD', KEYS[1])
"""
)

DEFAULT_POLL_INTERVAL_S = 0.02
KEY_TTL_MARGIN_S = 60.0


class AtomicRedisLockStore(LockStore):
    """A ``LockStore`` for several Rasa replicas sharing one Redis.

    Endpoint settings (``lock_store`` in endpoints.yml): ``url``, ``port``, ``db``,
    ``password``, ``key_prefix``, ``lock_lifetime`` (seconds a holder may keep the lock;
    Rasa's ``TICKET_LOCK_LIFETIME`` when absent) and ``poll_interval`` (seconds between
    checks while waiting; Rasa's fixed 1 s would add up to a second to a queued turn).
    """

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        options: dict[str, Any] = dict(endpoint_config.kwargs) if endpoint_config else {}
        options.update(kwargs)
        host = (endpoint_config.url if endpoint_config else None) or options.get("url")
        self.red = Redis(
            host=host or "127.0.0.1",
            port=int(options.get("port", 6379)),
            db=int(options.get("db", 0)),
            password=options.get("password"),
            socket_timeout=float(options.get("socket_timeout", 10)),
        )
        self.prefix = f"{options.get('key_prefix') or 'rasa'}:lock:"
        self.lock_lifetime = float(options.get("lock_lifetime") or LOCK_LIFETIME)
        self.poll_interval = float(options.get("poll_interval") or DEFAULT_POLL_INTERVAL_S)
        self._issue = self.red.register_script(_ISSUE)
        self._serving = self.red.register_script(_SERVING)
        self._release = self.red.register_script(_RELEASE)
        super().__init__()

    def _keys(self, conversation_id: str) -> list[str]:
        queue = self.prefix + conversation_id
        return [queue, f"{queue}:next", f"{queue}:expires"]

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        lifetime_ms = int(lock_lifetime * 1000)
        ttl_ms = lifetime_ms + int(KEY_TTL_MARGIN_S * 1000)
        try:
            return int(self._issue(keys=self._keys(conversation_id), args=[lifetime_ms, ttl_ms]))
        except Exception as error:  # Rasa expects LockError for any store failure
            raise LockError(f"Could not issue a ticket for '{conversation_id}': {error}") from error

    def now_serving(self, conversation_id: str, ticket: int) -> int:
        """The ticket being served, 0 if none, -1 if ``ticket`` itself has expired."""
        return int(self._serving(keys=self._keys(conversation_id), args=[ticket]))

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._release(keys=self._keys(conversation_id), args=[ticket_number])

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        self.finish_serving(conversation_id, ticket_number)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[TicketLock, None]:
        """Rasa passes its defaults for ``lock_lifetime`` and ``wait_time_in_seconds``;
        the configured values apply instead, so one endpoints file governs every replica."""
        lifetime = self.lock_lifetime
        ticket = self.issue_ticket(conversation_id, lifetime)
        try:
            while (serving := self.now_serving(conversation_id, ticket)) != ticket:
                if serving == -1:
                    raise LockError(
                        f"Ticket {ticket} for '{conversation_id}' expired while waiting."
                    )
                await asyncio.sleep(self.poll_interval)
            lock = TicketLock(conversation_id)
            lock.tickets.append(Ticket(ticket, time.time() + lifetime))
            yield lock
        finally:
            self.cleanup(conversation_id, ticket)

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        """A read-only snapshot for diagnostics; the store never writes a ``TicketLock``."""
        queue, _, expiries = self._keys(conversation_id)
        tickets = [int(t) for t in self.red.zrange(queue, 0, -1)]
        if not tickets:
            return None
        expires = self.red.hmget(expiries, [str(t) for t in tickets])
        lock = TicketLock(conversation_id)
        for number, expiry in zip(tickets, expires, strict=True):
            lock.tickets.append(Ticket(number, int(expiry or 0) / 1000))
        return lock

    def delete_lock(self, conversation_id: str) -> None:
        self.red.delete(*self._keys(conversation_id))

    def save_lock(self, lock: TicketLock) -> None:
        raise LockError(
            "AtomicRedisLockStore changes tickets only through its scripts; "
            "writing a whole TicketLock would reintroduce the read-modify-write race."
        )
