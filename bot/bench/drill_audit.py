"""After a fault drill: what the stores hold, compared with what the citizens sent.

The counts come from the stores themselves — the gateway's transcript and Rasa's tracker
events in PostgreSQL, Rasa's conversation locks and the work-order outbox in Redis, the
reference work-order service's orders — not from what the simulated citizens saw, which
is only the yardstick: every message a citizen got an answer for must be on record once.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Any

import psycopg2
import redis

from bot.bench.drill_citizens import ConversationLog
from bot.workorders.outbox import DEFAULT_REDIS_PREFIX

# connectors/rasa_lock_store.py's keys with key_prefix "hotline" (bot/rasa_runtime.py)
LOCK_PREFIX = "hotline:lock:"
HEARTBEAT_PREFIX = "hotline:holder:"
NOTICE_STATUS = "workorder"  # a status notice row, pushed outside any turn


@dataclass
class Counts:
    """What a drill must leave at zero (the first seven) and what describes it."""

    turns_lost: int = 0  # answered, yet not in the transcript
    turns_doubled: int = 0  # in the transcript more often than sent
    replies_doubled: int = 0  # a turn (or a notice) with the same reply row twice
    events_doubled: int = 0  # Rasa tracker events stored twice
    locked: int = 0  # conversations whose Rasa lock is still held at quiescence
    orders_lost: int = 0  # accepted, yet no work order (or a number told that is unknown)
    orders_doubled: int = 0  # one acceptance (or one conversation) with two orders
    understanding_lost: int = 0  # answered by Rasa, yet its NLU result never recorded
    stuck: int = 0  # conversations whose last message got no real answer
    conversations: int = 0
    turns: int = 0
    polite: int = 0  # answered with the polite "系统正忙 / 请稍后再试"
    unanswered: int = 0  # no answer at all (socket dropped, request failed)
    repeated: int = 0  # answers that said the same sentence twice (recorded as said)
    orders: int = 0

    MUST_BE_ZERO = (
        "turns_lost",
        "turns_doubled",
        "replies_doubled",
        "events_doubled",
        "locked",
        "orders_lost",
        "orders_doubled",
        "understanding_lost",
        "stuck",
    )

    def failures(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.MUST_BE_ZERO if getattr(self, name)}

    def as_dict(self) -> dict[str, int]:
        return {item.name: getattr(self, item.name) for item in fields(self)}


class Stores:
    """Read access to the stores of one deployment (the drill's private servers)."""

    def __init__(self, database_url: str, redis_url: str) -> None:
        self.database_url = database_url
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self.outbox_prefix = "{" + DEFAULT_REDIS_PREFIX + "}"

    def _query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg2.connect(self.database_url) as conn, conn.cursor() as cursor:
            cursor.execute(sql, params)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
        conn.close()
        return rows

    def transcript(self, ids: list[str]) -> list[tuple[str, str, str, dict[str, Any]]]:
        rows = self._query(
            "SELECT conversation_id, role, text, data FROM transcript"
            " WHERE conversation_id = ANY(%s) ORDER BY id",
            ids,
        )
        return [
            (c, r, t, d if isinstance(d, dict) else json.loads(d or "null") or {})
            for c, r, t, d in rows
        ]

    def tracker_events(self, ids: list[str]) -> list[tuple[str, str, float, str]]:
        return [
            (sender, kind, float(stamp), data)
            for sender, kind, stamp, data in self._query(
                "SELECT sender_id, type_name, timestamp, data FROM events"
                " WHERE sender_id = ANY(%s) ORDER BY id",
                ids,
            )
        ]

    def live_locks(self, ids: Iterable[str]) -> list[str]:
        """Conversations with a lock ticket that still counts: not expired (Redis server
        time) and held by a replica whose heartbeat is alive, as the lock store decides."""
        seconds, micros = self.redis.time()
        now_ms = seconds * 1000 + micros // 1000
        held = []
        for conversation_id in ids:
            queue = LOCK_PREFIX + conversation_id
            tickets = [str(ticket) for ticket in self.redis.zrange(queue, 0, -1)]
            if not tickets:
                continue
            expiries = self.redis.hmget(f"{queue}:expires", tickets)
            holders = self.redis.hmget(f"{queue}:holders", tickets)
            for expiry, holder in zip(expiries, holders, strict=True):
                beating = holder is None or self.redis.exists(HEARTBEAT_PREFIX + str(holder))
                if int(expiry or 0) > now_ms and beating:
                    held.append(conversation_id)
                    break
        return held

    def _outbox(self) -> Iterator[dict[str, str]]:
        """Every entry of the Redis Streams outbox, as its hash's fields."""
        for key in self.redis.scan_iter(match=f"{self.outbox_prefix}:entry:*", count=500):
            yield {str(name): str(value) for name, value in self.redis.hgetall(key).items()}

    def outbox_entries(self, ids: set[str]) -> list[dict[str, str]]:
        """The outbox entries of these conversations."""
        entries = []
        for entry in self._outbox():
            conversation_id = json.loads(entry.get("request") or "{}").get("conversation_id")
            if conversation_id in ids:
                entries.append({**entry, "conversation_id": conversation_id})
        return entries

    def relay_leases(self) -> int:
        """Undelivered outbox entries a relay process (not an action server's inline
        attempt) is delivering right now."""
        seconds, micros = self.redis.time()
        now = seconds + micros / 1_000_000
        return sum(
            entry.get("status") == "pending"
            and entry.get("lease_owner", "").startswith("relay-")
            and not entry["lease_owner"].endswith("-inline")
            and float(entry.get("lease_until") or 0) > now
            for entry in self._outbox()
        )

    def orders(self, acceptances: list[str], numbers: list[str]) -> list[tuple[str, str]]:
        """(order number, acceptance number) of the orders for these acceptances or numbers."""
        return [
            (str(order), str(acceptance))
            for order, acceptance in self._query(
                "SELECT order_no, acceptance_no FROM wo_orders"
                " WHERE acceptance_no = ANY(%s) OR order_no = ANY(%s)",
                acceptances,
                numbers,
            )
        ]

    def orders_by_conversation(self, ids: list[str]) -> Counter[str]:
        rows = self._query(
            "SELECT conversation_id FROM wo_contacts"
            " WHERE conversation_id = ANY(%s) AND role = 'primary'",
            ids,
        )
        return Counter(str(row[0]) for row in rows)


def wait_until(done: Callable[[], bool], timeout_s: float) -> None:
    """Polls ``done``; the deadline bounds a store that never settles (the counts then say
    what was left)."""
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        time.sleep(0.5)


def wait_for_locks(stores: Stores, logs: list[ConversationLog], timeout_s: float) -> None:
    """Waits until no lock of these conversations counts any more. Called with the
    gateway's Rasa timeout: a lock held longer than a turn may last blocks the citizen's
    next turn, so what is still held then is counted as left locked."""
    ids = [log.conversation_id for log in logs]
    wait_until(lambda: not stores.live_locks(ids), timeout_s)


def wait_for_outbox(stores: Stores, logs: list[ConversationLog], timeout_s: float) -> None:
    """Waits until no outbox entry of these conversations is pending (a relay or action
    server killed mid-delivery leaves a lease to run out first); what is still pending at
    the deadline is counted as lost."""
    ids = {log.conversation_id for log in logs}
    wait_until(
        lambda: all(e.get("status") != "pending" for e in stores.outbox_entries(ids)), timeout_s
    )


def missing_understanding(stores: Stores, logs: list[ConversationLog]) -> int:
    """Turns Rasa answered whose transcript row never got what Rasa understood (``nlu``,
    written by the gateway, or from the event stream when RabbitMQ is configured)."""
    understood: Counter[tuple[str, str]] = Counter(
        (conversation_id, text)
        for conversation_id, role, text, data in stores.transcript(
            [log.conversation_id for log in logs]
        )
        if role == "citizen" and data.get("nlu")
    )
    worked = Counter(
        (log.conversation_id, turn.text) for log in logs for turn in log.turns if turn.worked
    )
    return sum(max(0, n - understood[key]) for key, n in worked.items())


def wait_for_understanding(stores: Stores, logs: list[ConversationLog], timeout_s: float) -> None:
    """Waits until the event stream has caught up (at once without one)."""
    wait_until(lambda: missing_understanding(stores, logs) == 0, timeout_s)


def audit(stores: Stores, logs: list[ConversationLog]) -> Counts:
    ids = [log.conversation_id for log in logs]
    counts = Counts(conversations=len(logs))
    sent: dict[str, Counter[str]] = {}
    for log in logs:
        sent[log.conversation_id] = Counter(turn.text for turn in log.turns)
        counts.turns += len(log.turns)
        counts.polite += sum(turn.failed_politely for turn in log.turns)
        counts.unanswered += sum(not turn.answered for turn in log.turns)
        counts.stuck += not log.recovered
    _count_transcript(counts, stores.transcript(ids), logs, sent)
    _count_tracker(counts, stores.tracker_events(ids), sent)
    counts.locked = len(stores.live_locks(ids))
    counts.understanding_lost = missing_understanding(stores, logs)
    _count_orders(counts, stores, logs)
    return counts


def _count_transcript(
    counts: Counts,
    rows: list[tuple[str, str, str, dict[str, Any]]],
    logs: list[ConversationLog],
    sent: dict[str, Counter[str]],
) -> None:
    """Citizen rows against what was sent and answered; each turn's reply rows against the
    messages the citizen received for it (a turn nobody heard back from: no row twice)."""
    turns: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
    notices: Counter[tuple[str, str]] = Counter()
    for conversation_id, role, text, data in rows:
        if role == "citizen":
            turns[conversation_id].append((text, []))
        elif role == "bot" and data.get("status") == NOTICE_STATUS:
            notices[(conversation_id, text)] += 1
        elif role == "bot" and turns[conversation_id]:
            turns[conversation_id][-1][1].append(text)
    for log in logs:
        stored = turns[log.conversation_id]
        recorded = Counter(text for text, _ in stored)
        answered = Counter(turn.text for turn in log.turns if turn.answered)
        counts.turns_lost += sum(max(0, n - recorded[text]) for text, n in answered.items())
        limit = sent[log.conversation_id]
        counts.turns_doubled += sum(max(0, n - limit[text]) for text, n in recorded.items())
        position = 0
        for turn in log.turns:
            if position < len(stored) and stored[position][0] == turn.text:
                replies = stored[position][1]
                heard = len(turn.messages) if turn.answered else len(set(replies))
                counts.replies_doubled += len(replies) > heard
                position += 1
        counts.repeated += sum(len(t.messages) != len(set(t.messages)) for t in log.turns)
    counts.replies_doubled += sum(n - 1 for n in notices.values())


def _count_tracker(
    counts: Counts, events: list[tuple[str, str, float, str]], sent: dict[str, Counter[str]]
) -> None:
    """An event stored twice (the same event, or the same user message id), or a citizen's
    message in the tracker more often than the citizen sent it."""
    same = Counter(events)
    counts.events_doubled = sum(n - 1 for n in same.values())
    message_ids: Counter[tuple[str, str]] = Counter()
    texts: dict[str, Counter[str]] = defaultdict(Counter)
    for sender, kind, _, raw in events:
        if kind != "user":
            continue
        data = json.loads(raw)
        if data.get("message_id"):
            message_ids[(sender, data["message_id"])] += 1
        texts[sender][str(data.get("text", ""))] += 1
    counts.events_doubled += sum(n - 1 for n in message_ids.values())
    for sender, stored in texts.items():
        limit = sent.get(sender, Counter())
        counts.events_doubled += sum(max(0, n - limit[text]) for text, n in stored.items())


def _count_orders(counts: Counts, stores: Stores, logs: list[ConversationLog]) -> None:
    """Every accepted request (outbox entry) has exactly one order, every number a citizen
    was told exists, and no conversation (each submits one complaint) has two orders."""
    ids = [log.conversation_id for log in logs]
    entries = [e for e in stores.outbox_entries(set(ids)) if e.get("kind") == "create"]
    told = [number for log in logs for number in log.numbers]
    acceptances = [str(e["acceptance_no"]) for e in entries]
    orders = stores.orders(acceptances, [n for n in told if n.startswith("GD")])
    per_acceptance = Counter(acceptance for _, acceptance in orders)
    known = {order for order, _ in orders} | set(acceptances)
    counts.orders = len({order for order, _ in orders})
    counts.orders_lost = sum(per_acceptance[a] == 0 for a in acceptances)
    counts.orders_lost += sum(number not in known for number in told)
    counts.orders_doubled = sum(n - 1 for n in per_acceptance.values() if n > 1)
    per_conversation = stores.orders_by_conversation(ids)
    counts.orders_doubled += sum(n - 1 for n in per_conversation.values() if n > 1)
    counts.orders_doubled += sum(
        n - 1 for n in Counter(e["conversation_id"] for e in entries).values() if n > 1
    )
