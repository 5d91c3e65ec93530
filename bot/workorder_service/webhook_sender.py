"""Delivers the webhook rows written with each status change, retrying until it succeeds.

Rows are leased before sending, so several replicas of the service can run the sender
without posting the same event twice at the same time; a receiver should still drop
repeats by ``event_id`` (a delivery whose answer was lost is sent again).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from contextlib import suppress
from typing import Any

import aiohttp
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import utcnow
from bot.storage import write_transaction
from bot.workorder_service.store import webhooks
from bot.workorders.lifecycle import Change, OrderRecord
from bot.workorders.notices import citizen_message
from bot.workorders.webhooks import EVENT_ID_HEADER, SIGNATURE_HEADER, WebhookEvent, sign

logger = logging.getLogger(__name__)


class WebhookSender:
    def __init__(
        self,
        engine: AsyncEngine,
        session: aiohttp.ClientSession,
        url: str,
        secret: str,
        timeout_s: float = 5.0,
        max_attempts: int = 12,
        base_delay_s: float = 1.0,
        max_delay_s: float = 300.0,
        poll_s: float = 1.0,
        lease_s: float = 30.0,
    ) -> None:
        if not secret:
            raise ValueError("WORKORDER_WEBHOOK_SECRET must be set when WORKORDER_WEBHOOK_URL is")
        self.engine = engine
        self.session = session
        self.url = url
        self.secret = secret
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.poll_s = poll_s
        self.lease_s = lease_s
        self.wakeup = asyncio.Event()

    def notify(self) -> None:
        self.wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                sent = await self.send_due()
            except Exception:
                logger.exception("webhook sender failed; retrying")
                sent = 0
            if not sent:
                self.wakeup.clear()
                with suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), timeout=self.poll_s)

    async def send_due(self, limit: int = 20) -> int:
        """Sends the webhooks that are due; returns how many were attempted."""
        now = time.time()
        due = (webhooks.c.status == "pending") & (webhooks.c.next_attempt_at <= now)
        free = or_(webhooks.c.lease_until < now, webhooks.c.lease_until == 0.0)
        oldest = select(webhooks.c.id).where(due & free).order_by(webhooks.c.id).limit(limit)
        async with write_transaction(self.engine) as conn:
            rows = (
                await conn.execute(
                    update(webhooks)
                    .where(webhooks.c.id.in_(oldest.scalar_subquery()))
                    .where(due & free)
                    .values(lease_until=now + self.lease_s)
                    .returning(
                        webhooks.c.id, webhooks.c.event_id, webhooks.c.body, webhooks.c.attempts
                    )
                )
            ).all()
        for row in sorted(rows, key=lambda item: item.id):
            await self._deliver(row.id, row.event_id, row.body, row.attempts)
        return len(rows)

    async def _deliver(self, row_id: int, event_id: str, body: str, attempts: int) -> None:
        payload = body.encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(self.secret, payload),
            EVENT_ID_HEADER: event_id,
        }
        error = ""
        try:
            async with self.session.post(
                self.url, data=payload, headers=headers, timeout=self.timeout
            ) as response:
                if 200 <= response.status < 300:
                    await self._finish(row_id, "delivered", attempts + 1, "")
                    return
                error = f"HTTP {response.status}"
        except (TimeoutError, aiohttp.ClientError) as exc:
            error = type(exc).__name__
        attempts += 1
        if attempts >= self.max_attempts:
            logger.error("webhook %s given up after %d attempts: %s", event_id, attempts, error)
            await self._finish(row_id, "failed", attempts, error)
            return
        delay = min(self.max_delay_s, self.base_delay_s * 2 ** (attempts - 1))
        delay = random.uniform(delay / 2, delay)
        logger.warning(
            "webhook %s failed (%s), retry %d in %.1fs", event_id, error, attempts, delay
        )
        async with write_transaction(self.engine) as conn:
            await conn.execute(
                update(webhooks)
                .where(webhooks.c.id == row_id)
                .values(
                    attempts=attempts,
                    last_error=error,
                    next_attempt_at=time.time() + delay,
                    lease_until=0.0,
                )
            )

    async def _finish(self, row_id: int, status: str, attempts: int, error: str) -> None:
        async with write_transaction(self.engine) as conn:
            await conn.execute(
                update(webhooks)
                .where(webhooks.c.id == row_id)
                .values(
                    status=status,
                    attempts=attempts,
                    last_error=error,
                    lease_until=0.0,
                    delivered_at=utcnow() if status == "delivered" else None,
                )
            )


def order_event(order: OrderRecord, change: Change, contact: Any) -> WebhookEvent:
    """The notice of ``change`` for one contact of the order (the first reporter or a
    citizen merged into it), with the sentence the citizen is told."""
    return WebhookEvent(
        event_id=uuid.uuid4().hex,
        order_no=order.order_no,
        acceptance_no=contact["acceptance_no"] or order.acceptance_no,
        action=change.action.value,
        action_label=change.label,
        status=order.status.value,
        status_label=order.status.label,
        previous_status=change.from_status.value,
        department=order.department,
        deadline=order.deadline.due_at.isoformat() if order.deadline else None,
        at=change.at.isoformat(),
        channel=contact["channel"],
        channel_user=contact["channel_user"],
        conversation_id=contact["conversation_id"],
        request_type=order.request.request_type,
        rating=order.rating.value if order.rating else None,
        confidential=order.request.confidential,
        message=citizen_message(
            change.action.value,
            order.order_no,
            order.status.value,
            order.department,
            order.deadline,
            change.data,
            order.reply,
        ),
    )
