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
  holder that hangs blocks the conversation for one lifetime at most, and no replica's
  clock matters;
- ``<prefix>:lock:<conversation>:holders`` — ticket → the replica that holds it, and
  ``<prefix>:holder:<replica>`` — that replica's heartbeat, renewed by a thread every
  second with a TTL of a few seconds. A replica killed with ``kill -9`` stops beating, so
  its tickets are dropped within that TTL and the conversation's next turn (on another
  replica) goes ahead at once instead of waiting out the whole lifetime.

The four lock keys carry a TTL of a lifetime plus a margin, so nothing is left behind. The
heartbeat keys are named inside the scripts, so the store needs one Redis server (not a
cluster), as Rasa's own lock stores do.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig
from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

logger = logging.getLogger(__name__)

# Lua helpers shared by the scripts: the server's clock in milliseconds, and dropping
# tickets whose holder outlived its lifetime (a hung replica) or stopped beating (a dead
# one). ARGV[1] is the prefix of the heartbeat keys in every script.
_PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function drop_expired()
  local tickets = redis.call('ZRANGE', KEYS[1], 0, -1)
  for _, ticket in ipairs(tickets) do
    local expires = tonumber(redis.call('HGET', KEYS[3], ticket) or '0')
    local holder = redis.call('HGET', KEYS[4], ticket)
    local dead = holder and redis.call('EXISTS', ARGV[1] .. holder) == 0
    if expires <= now or dead then
      redis.call('ZREM', KEYS[1], ticket)
      redis.call('HDEL', KEYS[3], ticket)
      redis.call('HDEL', KEYS[4], ticket)
    end
  end
end
local function keep_for(ms)
  for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ms) end
end
"""

# KEYS: queue, counter, expiries, holders. ARGV: heartbeat prefix, lifetime ms, key TTL
# ms, holder, heartbeat TTL ms. Returns the new ticket. The holder's heartbeat is set here
# too, so a ticket is never issued to a holder that looks dead.
_ISSUE = (
    _PRELUDE
    + """
redis.call('SET', ARGV[1] .. ARGV[4], '1', 'PX', tonumber(ARGV[5]))
drop_expired()
local ticket = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], ticket, ticket)
redis.call('HSET', KEYS[3], ticket, now + tonumber(ARGV[2]))
redis.call('HSET', KEYS[4], ticket, ARGV[4])
keep_for(tonumber(ARGV[3]))
return ticket
"""
)

# KEYS: queue, counter, expiries, holders. ARGV: heartbeat prefix, ticket. Returns the
# ticket now served (the smallest live one), 0 when the queue is empty, -1 when ARGV's
# ticket has expired.
_SERVING = (
    _PRELUDE
    + """
drop_expired()
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return -1 end
local first = redis.call('ZRANGE', KEYS[1], 0, 0)
return tonumber(first[1])
"""
)

# KEYS: queue, counter, expiries, holders. ARGV: heartbeat prefix, ticket. Deletes the
# keys when no one waits, in the same step, so a ticket issued meanwhile can never be
# deleted with them.
_RELEASE = (
    _PRELUDE
    + """
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
redis.call('HDEL', KEYS[4], ARGV[2])
drop_expired()
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
  return 0
end
return redis.call('ZCARD', KEYS[1])
"""
)

DEFAULT_POLL_INTERVAL_S = 0.02
KEY_TTL_MARGIN_S = 60.0
DEFAULT_HOLDER_TTL_S = 5.0  # a dead replica's tickets are dropped this long after it died


class AtomicRedisLockStore(LockStore):
    """A ``LockStore`` for several Rasa replicas sharing one Redis.

    Endpoint settings (``lock_store`` in endpoints.yml): ``url``, ``port``, ``db``,
    ``password``, ``key_prefix``, ``lock_lifetime`` (seconds a holder may keep the lock;
    Rasa's ``TICKET_LOCK_LIFETIME`` when absent), ``poll_interval`` (seconds between
    checks while waiting; Rasa's fixed 1 s would add up to a second to a queued turn) and
    ``holder_ttl`` (seconds after its last heartbeat that a replica counts as dead).
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
            # After Redis restarts, each pooled connection is dead: send the command again
            # on a fresh one rather than failing the citizen's turn (the fault drills).
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 5),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        )
        key_prefix = options.get("key_prefix") or "rasa"
        self.prefix = f"{key_prefix}:lock:"
        self.heartbeat_prefix = f"{key_prefix}:holder:"
        self.holder = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.holder_ttl_ms = int(float(options.get("holder_ttl") or DEFAULT_HOLDER_TTL_S) * 1000)
        self.lock_lifetime = float(options.get("lock_lifetime") or LOCK_LIFETIME)
        self.poll_interval = float(options.get("poll_interval") or DEFAULT_POLL_INTERVAL_S)
        self._heartbeat: threading.Thread | None = None
        # Tickets whose release failed (Redis restarting), with the monotonic time after
        # which they have expired anyway; the heartbeat thread releases them.
        self._unreleased: list[tuple[str, int, float]] = []
        self._unreleased_guard = threading.Lock()
        self._issue = self.red.register_script(_ISSUE)
        self._serving = self.red.register_script(_SERVING)
        self._release = self.red.register_script(_RELEASE)
        super().__init__()

    def _keys(self, conversation_id: str) -> list[str]:
        queue = self.prefix + conversation_id
        return [queue, f"{queue}:next", f"{queue}:expires", f"{queue}:holders"]

    def _beat_forever(self) -> None:
        """Renews this replica's heartbeat while the process lives (a thread, so a busy
        event loop cannot make a live replica look dead)."""
        key = self.heartbeat_prefix + self.holder
        while True:
            try:
                self.red.set(key, "1", px=self.holder_ttl_ms)
            except Exception as error:  # Redis restarting: the next beat tries again
                logger.debug("lock heartbeat failed: %s", error)
            else:
                self._release_late()
            time.sleep(self.holder_ttl_ms / 5000)

    def _release_late(self) -> None:
        with self._unreleased_guard:
            now = time.monotonic()
            pending = [item for item in self._unreleased if item[2] > now]
            self._unreleased = []
        for number, (conversation_id, ticket, _) in enumerate(pending):
            try:
                self.finish_serving(conversation_id, ticket)
            except Exception:
                with self._unreleased_guard:
                    self._unreleased.extend(pending[number:])
                return
            logger.info("released ticket %s of '%s' late (Redis was away)", ticket, conversation_id)

    def _ensure_heartbeat(self) -> None:
        if self._heartbeat is None or not self._heartbeat.is_alive():
            self._heartbeat = threading.Thread(
                target=self._beat_forever, name="lock-heartbeat", daemon=True
            )
            self._heartbeat.start()

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        self._ensure_heartbeat()
        lifetime_ms = int(lock_lifetime * 1000)
        ttl_ms = lifetime_ms + int(KEY_TTL_MARGIN_S * 1000)
        args = [self.heartbeat_prefix, lifetime_ms, ttl_ms, self.holder, self.holder_ttl_ms]
        try:
            return int(self._issue(keys=self._keys(conversation_id), args=args))
        except Exception as error:  # Rasa expects LockError for any store failure
            raise LockError(f"Could not issue a ticket for '{conversation_id}': {error}") from error

    def now_serving(self, conversation_id: str, ticket: int) -> int:
        """The ticket being served, 0 if none, -1 if ``ticket`` itself has expired."""
        args = [self.heartbeat_prefix, ticket]
        return int(self._serving(keys=self._keys(conversation_id), args=args))

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        args = [self.heartbeat_prefix, ticket_number]
        self._release(keys=self._keys(conversation_id), args=args)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Releases the ticket. When Redis cannot be reached (a restart), the heartbeat
        thread keeps trying: a live replica that is done with a conversation must not
        block its next turn for the rest of the lock lifetime."""
        try:
            self.finish_serving(conversation_id, ticket_number)
        except Exception as error:
            logger.warning(
                "could not release ticket %s of '%s' yet: %s", ticket_number, conversation_id, error
            )
            expires = time.monotonic() + self.lock_lifetime
            with self._unreleased_guard:
                self._unreleased.append((conversation_id, ticket_number, expires))
            self._ensure_heartbeat()

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
        queue, _, expiries, _ = self._keys(conversation_id)
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
