"""The durable outbox between the dialogue and the work-order system.

A citizen's request is written here first and gets an acceptance number (受理号) at once;
a relay then delivers it to the work-order system with the entry's own random delivery key
as the idempotency key, so an entry becomes exactly one order however often delivery is
retried or whichever relay process delivers it, and an acceptance number that another
outbox also handed out can never make the platform refuse it. Entries are leased while being delivered; a
lease that runs out (a relay killed mid-call) makes the entry claimable again.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol

from bot.workorders.models import CitizenRequest, Deadline


class EntryKind(StrEnum):
    CREATE = "create"  # a new work order
    MERGE = "merge"  # 并单: attach this request to an order (or to an earlier entry)


class EntryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    REJECTED = "rejected"  # the work-order system refused it for good; an operator must act


@dataclass(frozen=True)
class OutboxEntry:
    acceptance_no: str
    kind: EntryKind
    request: CitizenRequest
    accepted_at: datetime
    deadline: Deadline
    status: EntryStatus = EntryStatus.PENDING
    target: str = ""
    order_no: str = ""
    attempts: int = 0
    last_error: str = ""
    delivered_at: datetime | None = None
    delivery_key: str = ""  # empty for entries written before delivery keys existed

    @property
    def idempotency_key(self) -> str:
        """The key of every delivery attempt of this entry; entries older than delivery
        keys keep the acceptance number they were first delivered with."""
        return self.delivery_key or self.acceptance_no


def new_delivery_key() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Submission:
    entry: OutboxEntry
    duplicate: bool  # the same request was already accepted: this is the earlier entry


@dataclass(frozen=True)
class NewEntry:
    """What :meth:`Outbox.submit` stores; the outbox adds the acceptance number."""

    kind: EntryKind
    request: CitizenRequest
    accepted_at: datetime
    deadline: Deadline
    day: date  # the local calendar day, which the acceptance number carries
    target: str = ""

    @property
    def dedupe_key(self) -> str:
        return fingerprint(self.kind, self.request, self.target)


class Outbox(Protocol):
    """Implemented on SQL (SQLite/PostgreSQL) and on Redis Streams."""

    async def setup(self) -> None:
        """Creates tables, streams or consumer groups; safe to call on every start."""

    async def submit(self, new: NewEntry, dedupe_window_s: float) -> Submission:
        """Stores the entry durably, or returns the earlier one for the same request."""

    async def get(self, acceptance_no: str) -> OutboxEntry | None: ...

    async def pending(self, limit: int) -> list[OutboxEntry]:
        """Undelivered entries, newest first (for 并单 candidates while the system is down)."""

    async def claim(self, consumer: str, limit: int, lease_s: float) -> list[OutboxEntry]:
        """Leases up to ``limit`` deliverable entries to ``consumer``."""

    async def claim_one(
        self, acceptance_no: str, consumer: str, lease_s: float
    ) -> OutboxEntry | None:
        """Leases one entry if it is pending and nobody else holds it."""

    async def mark_delivered(self, deliveries: Mapping[str, str]) -> None:
        """Records acceptance number -> order number for delivered entries, in one go."""

    async def mark_rejected(self, acceptance_no: str, error: str) -> None: ...

    async def release(self, acceptance_no: str, consumer: str, error: str) -> None:
        """Gives a lease back after a failed attempt, so the entry is retried."""

    async def counts(self) -> dict[str, int]: ...

    async def housekeeping(self) -> None:
        """Periodic clean-up (expired dedupe keys, consumers of dead relays)."""

    async def close(self) -> None: ...


_NORMALISE = re.compile(r"[\s,，.。!！?？、;；:：\"'“”‘’()（）\[\]【】\-—~～…]+")


def fingerprint(kind: EntryKind, request: CitizenRequest, target: str = "") -> str:
    """The same citizen sending the same matter about the same place (a double click, a
    channel retry, a restart mid-call) maps to the same key, whatever the whitespace."""
    parts = [
        kind.value,
        target,
        request.phone,
        _NORMALISE.sub("", request.content).lower(),
        _NORMALISE.sub("", request.address).lower(),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def entry_to_fields(entry: OutboxEntry) -> dict[str, Any]:
    return {
        "acceptance_no": entry.acceptance_no,
        "kind": entry.kind.value,
        "request": entry.request.to_json(),
        "accepted_at": entry.accepted_at.isoformat(),
        "deadline": entry.deadline.to_json(),
        "status": entry.status.value,
        "target": entry.target,
        "order_no": entry.order_no,
        "attempts": entry.attempts,
        "last_error": entry.last_error,
        "delivered_at": entry.delivered_at.isoformat() if entry.delivered_at else None,
        "delivery_key": entry.delivery_key,
    }
