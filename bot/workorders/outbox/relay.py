"""The relay: delivers outbox entries to the work-order system, exactly once per entry.

"Exactly once" rests on two things: the entry's delivery key is the idempotency key of the
create call (a repeated delivery returns the order made the first time), and an entry is
only marked delivered after the system answered with its order number. A relay killed
between the two leaves the entry pending; its lease runs out and the next delivery gets
the same order back.

While the system is down every attempt fails; the relay then waits with a growing,
jittered pause (at most ``max_backoff_s``) and the connector's circuit breaker turns the
attempts into instant failures until its half-open probe succeeds (every few seconds), so
recovery is noticed within seconds and the backlog is then drained at full speed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from enum import StrEnum

from bot.workorders.errors import (
    WorkOrderConflict,
    WorkOrderError,
    WorkOrderInvalid,
    WorkOrderNotFound,
)
from bot.workorders.models import OrderView
from bot.workorders.numbers import is_acceptance_no
from bot.workorders.outbox.base import EntryKind, EntryStatus, Outbox, OutboxEntry
from bot.workorders.system import WorkOrderSystem

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # the system is unavailable: try again later
    DEFERRED = "deferred"  # a merge waits for the entry it merges into
    REJECTED = "rejected"  # refused for good; logged for an operator


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    view: OrderView | None = None


def consumer_name(role: str = "relay") -> str:
    """Unique per process, so a restarted relay never inherits a dead one's leases by name."""
    return f"{role}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class OutboxRelay:
    def __init__(
        self,
        outbox: Outbox,
        system: WorkOrderSystem,
        consumer: str | None = None,
        batch: int = 32,
        concurrency: int = 8,
        lease_s: float = 30.0,
        idle_poll_s: float = 0.5,
        max_backoff_s: float = 2.0,
    ) -> None:
        self.outbox = outbox
        self.system = system
        self.consumer = consumer or consumer_name()
        self.batch = batch
        self.lease_s = lease_s
        self.idle_poll_s = idle_poll_s
        self.max_backoff_s = max_backoff_s
        self._slots = asyncio.Semaphore(concurrency)
        self.delivered = 0

    async def deliver(self, entry: OutboxEntry, consumer: str | None = None) -> Delivery:
        """One delivery attempt of a leased entry; the lease is released unless it ends."""
        delivery = await self._attempt(entry, consumer or self.consumer)
        if delivery.view is not None:
            await self.outbox.mark_delivered({entry.acceptance_no: delivery.view.order_no})
            self.delivered += 1
        return delivery

    async def _attempt(self, entry: OutboxEntry, owner: str) -> Delivery:
        """Sends the entry; failures end or release it here, success is recorded by the
        caller (one transaction for a whole batch)."""
        try:
            view = await self._send(entry)
        except _Waiting:
            await self.outbox.release(entry.acceptance_no, owner, "waiting for merge target")
            return Delivery(Outcome.DEFERRED)
        except (WorkOrderInvalid, WorkOrderConflict, WorkOrderNotFound) as exc:
            await self.outbox.mark_rejected(entry.acceptance_no, f"{exc.code}: {exc.message}")
            logger.error(
                "work-order system refused %s for good (%s: %s); an operator must handle it",
                entry.acceptance_no,
                exc.code,
                exc.message,
            )
            return Delivery(Outcome.REJECTED)
        except WorkOrderError as exc:
            await self.outbox.release(entry.acceptance_no, owner, exc.code)
            return Delivery(Outcome.RETRY)
        except Exception as exc:
            logger.exception("delivery of %s failed unexpectedly", entry.acceptance_no)
            await self.outbox.release(entry.acceptance_no, owner, type(exc).__name__)
            return Delivery(Outcome.RETRY)
        return Delivery(Outcome.DELIVERED, view)

    async def _send(self, entry: OutboxEntry) -> OrderView:
        if entry.kind is EntryKind.CREATE:
            return await self._create(entry)
        target = entry.target
        if is_acceptance_no(target):
            earlier = await self.outbox.get(target)
            if earlier is not None and earlier.status is EntryStatus.PENDING:
                raise _Waiting
            if earlier is None or earlier.status is EntryStatus.REJECTED:
                return await self._create(entry)
            target = earlier.order_no
        try:
            return await self.system.merge(
                target, entry.request, entry.idempotency_key, entry.acceptance_no
            )
        except (WorkOrderConflict, WorkOrderNotFound):
            # the order closed (or vanished) since the citizen chose to merge: the
            # matter still needs handling, so it becomes an order of its own
            logger.info(
                "merge target %s of %s not open any more: creating", target, entry.acceptance_no
            )
            return await self._create(entry)

    async def _create(self, entry: OutboxEntry) -> OrderView:
        return await self.system.create(
            entry.request, entry.idempotency_key, entry.accepted_at, entry.acceptance_no
        )

    async def deliver_now(self, acceptance_no: str, timeout_s: float) -> Delivery:
        """Tries one entry right away (the citizen is waiting); the relay retries later."""
        inline = f"{self.consumer}-inline"
        started = time.monotonic()
        entry = await self.outbox.claim_one(acceptance_no, inline, self.lease_s)
        if entry is None:
            # a relay got there first: wait for its result as long as the citizen would
            return await self._await_delivery(acceptance_no, started + timeout_s)
        try:
            return await asyncio.wait_for(self.deliver(entry, inline), timeout_s)
        except TimeoutError:
            await self.outbox.release(acceptance_no, inline, "timeout")
            return Delivery(Outcome.RETRY)

    async def _await_delivery(self, acceptance_no: str, until: float) -> Delivery:
        while True:
            entry = await self.outbox.get(acceptance_no)
            if entry is not None and entry.status is EntryStatus.DELIVERED:
                return Delivery(Outcome.DELIVERED)
            if entry is None or entry.status is EntryStatus.REJECTED:
                return Delivery(Outcome.REJECTED)
            if time.monotonic() >= until:
                return Delivery(Outcome.RETRY)
            await asyncio.sleep(0.05)

    async def run_once(self) -> list[Outcome]:
        entries = await self.outbox.claim(self.consumer, self.batch, self.lease_s)

        async def limited(entry: OutboxEntry) -> Delivery:
            async with self._slots:
                return await self._attempt(entry, self.consumer)

        deliveries = await asyncio.gather(*(limited(entry) for entry in entries))
        done = {
            entry.acceptance_no: delivery.view.order_no
            for entry, delivery in zip(entries, deliveries, strict=True)
            if delivery.view is not None
        }
        if done:
            await self.outbox.mark_delivered(done)
            self.delivered += len(done)
        return [delivery.outcome for delivery in deliveries]

    async def run(self, stop: asyncio.Event) -> None:
        """Delivers until ``stop`` is set; in-flight deliveries finish first."""
        backoff = 0.0
        housekeeping_at = time.monotonic() + 60
        logger.info("outbox relay %s started", self.consumer)
        while not stop.is_set():
            try:
                outcomes = await self.run_once()
            except Exception:
                logger.exception("outbox relay %s: the outbox itself failed", self.consumer)
                outcomes = [Outcome.RETRY]
            if Outcome.RETRY in outcomes and Outcome.DELIVERED not in outcomes:
                # nothing got through: the system is down (or the circuit is open)
                backoff = min(self.max_backoff_s, backoff * 2 if backoff else 0.2)
                await _sleep(stop, random.uniform(backoff / 2, backoff))
            elif not outcomes or all(outcome is Outcome.DEFERRED for outcome in outcomes):
                backoff = 0.0
                await _sleep(stop, self.idle_poll_s)
            else:
                backoff = 0.0
            if time.monotonic() > housekeeping_at:
                housekeeping_at = time.monotonic() + 60
                await self._housekeeping()
        logger.info("outbox relay %s stopped after %d deliveries", self.consumer, self.delivered)

    async def _housekeeping(self) -> None:
        try:
            await self.outbox.housekeeping()
        except Exception:
            logger.exception("outbox housekeeping failed")


class _Waiting(Exception):
    """A merge whose target entry has not been delivered yet."""


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


@asynccontextmanager
async def run_in_background(relay: OutboxRelay) -> AsyncIterator[None]:
    """Runs the relay as a task of the current event loop for the duration of the block."""
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop), name=f"outbox-relay-{relay.consumer}")
    try:
        yield
    finally:
        stop.set()
        await task
