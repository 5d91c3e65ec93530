"""The reference work-order platform's operations, each one database transaction.

A state change, its event, its webhook delivery row and its idempotency record are
written together, so a crash never leaves an order changed without the notice to the
citizen (a transactional outbox for webhooks) or a retried request applied twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.clock import as_utc, utcnow
from bot.storage import write_transaction
from bot.workorder_service.checks import (
    ServiceError,
    VerificationLimiter,
    canonical_phone,
    checked_request,
    request_fingerprint,
)
from bot.workorder_service.listing import (
    DEFAULT_PAGE_SIZE,
    ListedOrders,
    OrderFilter,
    OrderListing,
)
from bot.workorder_service.matching import similar_open
from bot.workorder_service.store import (
    contacts,
    events,
    idempotency,
    orders,
    prepare,
    record_from_row,
    row_from_record,
    sequences,
    webhooks,
)
from bot.workorder_service.webhook_sender import order_event
from bot.workorders.db import next_in_sequence
from bot.workorders.deadlines import DeadlinePolicy
from bot.workorders.lifecycle import (
    PERMISSIONS,
    SYSTEM,
    Action,
    Actor,
    Change,
    Command,
    Lifecycle,
    OrderRecord,
    Role,
    TransitionError,
)
from bot.workorders.models import (
    OPEN_STATUSES,
    Card,
    CitizenRequest,
    ContactProof,
    MergeCandidate,
    OrderEvent,
    OrderView,
    Status,
)
from bot.workorders.numbers import ORDER_PREFIX, format_number, is_acceptance_no, sequence_name
from bot.workorders.webhooks import encode_event

LATE_AFTER = timedelta(days=7)
_TRANSITION_STATUS = {"forbidden": 403, "invalid": 422, "extension_too_long": 422}


class WorkOrderService:
    def __init__(
        self,
        engine: AsyncEngine,
        lifecycle: Lifecycle,
        webhook_url: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        on_webhook: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.lifecycle = lifecycle
        self.policy: DeadlinePolicy = lifecycle.policy
        self.webhook_url = webhook_url
        self.clock = clock
        self.on_webhook = on_webhook
        self.verifications = VerificationLimiter()

    async def setup(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(prepare)

    # -- creating ----------------------------------------------------------------------------

    async def create(
        self,
        request: CitizenRequest,
        key: str,
        accepted_at: datetime | None,
        acceptance_no: str = "",
    ) -> tuple[OrderRecord, bool]:
        """The order for ``key``: created now (True) or by an earlier call (False).

        ``acceptance_no`` defaults to ``key`` when that is one (callers from before the two
        were separate). An ``accepted_at`` older than a week is a request held up by a long
        outage: it is created all the same, flagged ``late_delivery``, never refused.
        """
        acceptance_no = acceptance_no or (key if is_acceptance_no(key) else "")
        request = checked_request(request)
        if not key or len(key) > 128:
            raise ServiceError(
                400, "idempotency_key_required", "请求缺少幂等键（Idempotency-Key）。"
            )
        fingerprint = request_fingerprint("create", request.to_json())
        for _ in range(3):
            try:
                return await self._create_once(
                    request, key, accepted_at, acceptance_no, fingerprint
                )
            except IntegrityError:
                continue  # a concurrent call with the same key won: replay it
        return await self._create_once(request, key, accepted_at, acceptance_no, fingerprint)

    async def _create_once(
        self,
        request: CitizenRequest,
        key: str,
        accepted_at: datetime | None,
        acceptance_no: str,
        fingerprint: str,
    ) -> tuple[OrderRecord, bool]:
        now = self.clock()
        accepted = accepted_at or now
        if accepted > now + timedelta(minutes=5):
            raise ServiceError(422, "invalid_accepted_at", "受理时间晚于当前时间，请核对后再试。")
        late = accepted < now - LATE_AFTER
        async with write_transaction(self.engine) as conn:
            earlier = await self._replay(conn, key, "create", fingerprint)
            if earlier is not None:
                return await self._load(conn, earlier), False
            day = self.policy.local_date(now)
            serial = await next_in_sequence(conn, sequences, sequence_name(ORDER_PREFIX, day))
            order_no = format_number(ORDER_PREFIX, day, serial)
            await self._remember(conn, key, "create", fingerprint, order_no, now)
            order, changes = self.lifecycle.open(
                order_no, acceptance_no, request, accepted, now, late
            )
            await conn.execute(orders.insert().values(**row_from_record(order)))
            await self._add_contact(conn, order_no, request, "primary", acceptance_no, now)
            for change in changes:
                await self._record(conn, order, change)
        self._wake_webhooks()
        return order, True

    # -- acting on an order ----------------------------------------------------------------

    async def act(
        self,
        order_no: str,
        actor: Actor,
        command: Command,
        key: str | None = None,
        phone: str | None = None,
    ) -> OrderRecord:
        if command.request is not None:
            command = replace(command, request=checked_request(command.request))
        fingerprint = request_fingerprint(
            command.action.value,
            {
                "order_no": order_no,
                "text": command.text,
                "department": command.department,
                "days": command.days,
                "approve": command.approve,
                "rating": command.rating.value if command.rating else None,
                "request": command.request.to_json() if command.request else None,
            },
        )
        for _ in range(3):
            try:
                return await self._act_once(order_no, actor, command, key, phone, fingerprint)
            except IntegrityError:
                continue
        return await self._act_once(order_no, actor, command, key, phone, fingerprint)

    async def _act_once(
        self,
        order_no: str,
        actor: Actor,
        command: Command,
        key: str | None,
        phone: str | None,
        fingerprint: str,
    ) -> OrderRecord:
        now = self.clock()
        async with write_transaction(self.engine) as conn:
            if key:
                earlier = await self._replay(conn, key, command.action.value, fingerprint)
                if earlier is not None:
                    return await self._load(conn, earlier)
            order = await self._load(conn, order_no, lock=True)
            citizen_action = Role.CITIZEN in PERMISSIONS[command.action][0]
            if actor.role is Role.CITIZEN and citizen_action and command.action is not Action.MERGE:
                primary_only = command.action is Action.CANCEL
                await self._check_contact(conn, order_no, phone, primary_only)
            try:
                change = self.lifecycle.apply(order, actor, command, now)
            except TransitionError as exc:
                raise ServiceError(
                    _TRANSITION_STATUS.get(exc.code, 409), exc.code, exc.message
                ) from exc
            await conn.execute(
                update(orders).where(orders.c.order_no == order_no).values(**row_from_record(order))
            )
            if command.action is Action.MERGE and command.request is not None:
                number = command.text or key or ""  # the 受理号, or the key of older callers
                await self._add_contact(conn, order_no, command.request, "merged", number, now)
            await self._record(conn, order, change)
            if key:
                await self._remember(conn, key, command.action.value, fingerprint, order_no, now)
        if change.notify:
            self._wake_webhooks()
        return order

    async def _check_contact(
        self, conn: AsyncConnection, order_no: str, phone: str | None, primary_only: bool
    ) -> None:
        canonical = canonical_phone(phone or "")
        query = select(contacts.c.role).where(
            and_(contacts.c.order_no == order_no, contacts.c.phone == canonical)
        )
        roles = set((await conn.execute(query)).scalars().all())
        if not canonical or not roles:
            raise ServiceError(
                403, "contact_mismatch", "联系电话与工单登记的不一致，无法办理这项操作。"
            )
        if primary_only and "primary" not in roles:
            raise ServiceError(
                403, "not_primary_contact", "这张工单由其他市民首先反映，并单的市民不能撤销。"
            )

    # -- reading -----------------------------------------------------------------------------

    async def get(self, order_no: str) -> tuple[OrderRecord, list[OrderEvent], dict[str, str]]:
        """The order, its history and its contacts (phone -> primary | merged)."""
        async with self.engine.connect() as conn:
            order = await self._load(conn, order_no)
            rows = (
                await conn.execute(
                    select(events).where(events.c.order_no == order_no).order_by(events.c.id)
                )
            ).all()
            phones: dict[str, str] = {}
            query = select(contacts.c.phone, contacts.c.role).where(contacts.c.order_no == order_no)
            for phone, role in (await conn.execute(query)).all():
                if phones.get(phone) != "primary":
                    phones[phone] = role
        history = [
            OrderEvent(
                at=as_utc(row.at),
                action=row.action,
                label=Action(row.action).label,
                status=Status(row.to_status),
                note=row.note if row.action == Action.REPLY.value else "",
            )
            for row in rows
        ]
        return order, history, phones

    def view(
        self,
        order: OrderRecord,
        full: bool,
        history: list[OrderEvent] | None = None,
        show_content: bool = True,
    ) -> OrderView:
        """``full`` adds the reply and history; ``show_content`` the citizen's own words and
        address, which a citizen who merged into someone else's order does not see."""
        card = Card.NONE
        if order.status.is_open and order.deadline is not None:
            card = self.policy.card(order.deadline, self.clock())
        return OrderView(
            order_no=order.order_no,
            status=order.status,
            department=order.department,
            request_type=order.request.request_type,
            accepted_at=order.accepted_at,
            deadline=order.deadline,
            card=card,
            supervised=order.supervised,
            rework_count=order.rework_count,
            rating=order.rating,
            acceptance_no=order.acceptance_no,
            full=full,
            content=order.request.content if full and show_content else "",
            address=order.request.address if full and show_content else "",
            reply=order.reply if full else "",
            history=tuple(history or ()) if full else (),
            late_delivery=order.late_delivery,
        )

    async def by_contact(self, phone: str, proof: ContactProof) -> list[OrderRecord]:
        """The orders of ``phone``, if ``proof`` shows that the caller owns it."""
        canonical = canonical_phone(phone)
        if not canonical:
            raise ServiceError(422, "invalid_phone", "电话号码格式不正确。")
        self.verifications.check(canonical)
        async with self.engine.connect() as conn:
            mine = (await conn.execute(select(contacts).where(contacts.c.phone == canonical))).all()
            numbers = {row.order_no for row in mine}
            acceptances = {row.acceptance_no for row in mine if row.acceptance_no}
            verified = bool(
                (proof.order_no and (proof.order_no in numbers or proof.order_no in acceptances))
                or (
                    proof.channel_user
                    and any(
                        row.channel == proof.channel and row.channel_user == proof.channel_user
                        for row in mine
                    )
                )
            )
            if not verified:
                self.verifications.failed(canonical)
                raise ServiceError(
                    403,
                    "verification_failed",
                    "身份核验未通过：请提供您用这个号码登记过的任意一个工单号或受理号。",
                )
            rows = (
                await conn.execute(
                    select(orders)
                    .where(orders.c.order_no.in_(numbers))
                    .order_by(orders.c.accepted_at.desc())
                    .limit(50)
                )
            ).all()
        return [record_from_row(row._mapping) for row in rows]

    async def similar(self, request: CitizenRequest, limit: int) -> list[MergeCandidate]:
        return await similar_open(self.engine, request, self.clock(), limit)

    async def listing(
        self, where: OrderFilter, cursor: str | None = None, limit: int = DEFAULT_PAGE_SIZE
    ) -> ListedOrders:
        return await OrderListing(self.engine, self.policy, self.clock).page(where, cursor, limit)

    # -- the deadline sweep ---------------------------------------------------------------

    async def sweep(self) -> int:
        """督办 for overdue orders, 办结 for answered orders nobody rated in time."""
        now = self.clock()
        async with self.engine.connect() as conn:
            overdue = (
                (
                    await conn.execute(
                        select(orders.c.order_no)
                        .where(orders.c.status.in_([s.value for s in OPEN_STATUSES]))
                        .where(orders.c.supervised.is_(False))
                        .where(orders.c.deadline_at < now)
                        .limit(500)
                    )
                )
                .scalars()
                .all()
            )
            answered = (
                await conn.execute(
                    select(orders.c.order_no, orders.c.replied_at)
                    .where(orders.c.status == Status.REPLIED.value)
                    .where(orders.c.replied_at < now - timedelta(days=1))
                    .limit(500)
                )
            ).all()
        done = 0
        for order_no in overdue:
            done += await self._system_act(order_no, Command(Action.SUPERVISE, text="超期自动督办"))
        for order_no, replied_at in answered:
            if self.policy.auto_close_at(as_utc(replied_at)) <= now:
                command = Command(Action.CLOSE, text="回访期内未评价，自动办结")
                done += await self._system_act(order_no, command)
        return done

    async def _system_act(self, order_no: str, command: Command) -> int:
        try:
            await self.act(order_no, SYSTEM, command)
        except ServiceError:
            return 0  # changed meanwhile (answered, rated): nothing to do
        return 1

    # -- plumbing ----------------------------------------------------------------------------

    async def _load(self, conn: AsyncConnection, order_no: str, lock: bool = False) -> OrderRecord:
        query = select(orders).where(orders.c.order_no == order_no)
        if lock:
            query = query.with_for_update()
        row = (await conn.execute(query)).first()
        if row is None:
            raise ServiceError(404, "not_found", "没有找到该工单，请核对工单号后再试。")
        return record_from_row(row._mapping)

    async def _replay(
        self, conn: AsyncConnection, key: str, operation: str, fingerprint: str
    ) -> str | None:
        row = (await conn.execute(select(idempotency).where(idempotency.c.key == key))).first()
        if row is None:
            return None
        if row.operation != operation or row.fingerprint != fingerprint:
            raise ServiceError(
                422, "idempotency_key_reused", "该幂等键已用于另一项不同的请求，请更换后重试。"
            )
        return str(row.order_no)

    async def _remember(
        self,
        conn: AsyncConnection,
        key: str,
        operation: str,
        fingerprint: str,
        order_no: str,
        now: datetime,
    ) -> None:
        await conn.execute(
            idempotency.insert().values(
                key=key,
                operation=operation,
                fingerprint=fingerprint,
                order_no=order_no,
                created_at=now,
            )
        )

    async def _add_contact(
        self,
        conn: AsyncConnection,
        order_no: str,
        request: CitizenRequest,
        role: str,
        acceptance_no: str,
        now: datetime,
    ) -> None:
        await conn.execute(
            contacts.insert().values(
                order_no=order_no,
                phone=request.phone,
                channel=request.channel,
                channel_user=request.channel_user,
                conversation_id=request.conversation_id,
                role=role,
                acceptance_no=acceptance_no,
                created_at=now,
            )
        )

    async def _record(self, conn: AsyncConnection, order: OrderRecord, change: Change) -> None:
        await conn.execute(
            events.insert().values(
                order_no=order.order_no,
                at=change.at,
                actor_role=change.actor.role.value,
                actor_department=change.actor.department,
                action=change.action.value,
                from_status=change.from_status.value,
                to_status=change.to_status.value,
                note=change.note,
                data=change.data,
            )
        )
        if not (change.notify and self.webhook_url):
            return
        # one notice per citizen reachable on a channel: the first reporter and any
        # citizen whose request was merged into this order
        query = select(contacts).where(contacts.c.order_no == order.order_no)
        for contact in (await conn.execute(query)).all():
            if not contact.channel_user:
                continue
            event = order_event(order, change, contact._mapping)
            await conn.execute(
                webhooks.insert().values(
                    event_id=event.event_id,
                    order_no=order.order_no,
                    body=encode_event(event).decode(),
                    status="pending",
                    attempts=0,
                    next_attempt_at=time.time(),
                    lease_until=0.0,
                    last_error="",
                    created_at=change.at,
                )
            )

    def _wake_webhooks(self) -> None:
        if self.on_webhook is not None and self.webhook_url:
            self.on_webhook()
