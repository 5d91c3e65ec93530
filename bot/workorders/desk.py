"""The work-order desk: the one Python interface the dialogue (Rasa actions) calls.

    async with WorkOrderDesk.open(settings, system) as desk:   # or start(…) … aclose()
        candidates = await desk.merge_candidates(request)       # offer 并单 first
        acceptance = await desk.submit(request)                 # or desk.merge(request, number)
        acceptance.message                                      # tell the citizen
        report = await desk.status("GD2026112900012", phone)    # GD or SL numbers
        reports = await desk.list_by_phone(phone, ContactProof(order_no=...))
        view = await desk.supplement(number, phone, "补充：…")
        view = await desk.rate(number, phone, "不满意", "还是很吵")
        view = await desk.cancel(number, phone, "已自行解决")

Every method raises :class:`bot.workorders.errors.WorkOrderError` (``.message`` is a
polite Chinese sentence to show the citizen) when it cannot do what was asked. Creation
never fails because the work-order system is down: the request is written to the durable
outbox first and the citizen gets an acceptance number (受理号) at once; the order number
follows when the relay has delivered it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime

from bot.clock import utcnow
from bot.settings import Settings
from bot.workorders import merge as similarity
from bot.workorders.deadlines import DeadlinePolicy
from bot.workorders.errors import (
    WorkOrderError,
    WorkOrderForbidden,
    WorkOrderInvalid,
    WorkOrderNotFound,
    WorkOrderUnavailable,
)
from bot.workorders.models import (
    CitizenRequest,
    ContactProof,
    Deadline,
    MergeCandidate,
    OrderView,
    Rating,
    Status,
)
from bot.workorders.notices import format_due
from bot.workorders.numbers import is_acceptance_no, is_order_no
from bot.workorders.outbox import (
    DEFAULT_REDIS_PREFIX,
    EntryKind,
    EntryStatus,
    NewEntry,
    Outbox,
    OutboxEntry,
    OutboxRelay,
    create_outbox,
)
from bot.workorders.phone import InvalidPhone, validate_phone
from bot.workorders.rules import TimeLimitRules
from bot.workorders.system import WorkOrderSystem
from bot.workorders.workcalendar import WorkingCalendar

logger = logging.getLogger(__name__)

MAX_CONTENT_CHARS = 2000
PENDING_SCAN = 500


@dataclass(frozen=True)
class Acceptance:
    """The answer to a submitted request."""

    acceptance_no: str
    order_no: str  # empty while the work-order system has not confirmed the order yet
    deadline: Deadline
    department: str
    duplicate: bool
    merged_into: str
    message: str

    @property
    def delivered(self) -> bool:
        return bool(self.order_no)

    @property
    def number(self) -> str:
        """The number the citizen should quote: the order number once there is one."""
        return self.order_no or self.acceptance_no


@dataclass(frozen=True)
class StatusReport:
    """Where a request stands, found by its order or acceptance number."""

    number: str
    acceptance_no: str
    order_no: str
    view: OrderView | None
    message: str


class WorkOrderDesk:
    def __init__(
        self,
        outbox: Outbox,
        system: WorkOrderSystem,
        relay: OutboxRelay,
        policy: DeadlinePolicy,
        dedupe_window_s: float = 24 * 3600,
        submit_wait_s: float = 2.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.outbox = outbox
        self.system = system
        self.relay = relay
        self.policy = policy
        self.dedupe_window_s = dedupe_window_s
        self.submit_wait_s = submit_wait_s
        self.clock = clock
        self._owns_system = False
        self._relay_stop: asyncio.Event | None = None
        self._relay_task: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls,
        settings: Settings,
        system: WorkOrderSystem,
        run_relay: bool = False,
        redis_prefix: str | None = None,
    ) -> WorkOrderDesk:
        """A desk for a process that keeps it (call :meth:`aclose`), with the outbox from
        settings and the ``system`` the process chose; the desk closes the system with
        itself. ``run_relay`` also delivers the outbox from this process."""
        outbox = create_outbox(settings, redis_prefix or DEFAULT_REDIS_PREFIX)
        await outbox.setup()
        relay = OutboxRelay(outbox, system, idle_poll_s=relay_poll_s(settings))
        desk = cls(
            outbox,
            system,
            relay,
            build_policy(settings),
            submit_wait_s=settings.workorder_submit_wait_s,
        )
        desk._owns_system = True
        if run_relay:
            desk._relay_stop = asyncio.Event()
            desk._relay_task = asyncio.create_task(relay.run(desk._relay_stop))
        return desk

    async def aclose(self) -> None:
        if self._relay_task is not None and self._relay_stop is not None:
            self._relay_stop.set()
            await self._relay_task
            self._relay_task = None
        if self._owns_system:
            await self.system.aclose()
            self._owns_system = False
        await self.outbox.close()

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: Settings,
        system: WorkOrderSystem,
        run_relay: bool = False,
        redis_prefix: str | None = None,
    ) -> AsyncIterator[WorkOrderDesk]:
        """:meth:`start` and :meth:`aclose` around a block."""
        desk = await cls.start(settings, system, run_relay, redis_prefix)
        try:
            yield desk
        finally:
            await desk.aclose()

    # -- creating --------------------------------------------------------------------------

    def check(self, request: CitizenRequest) -> CitizenRequest:
        """The request with its phone in canonical form, or WorkOrderInvalid saying why."""
        content = request.content.strip()
        if not content:
            raise WorkOrderInvalid("请描述一下您要反映的问题。")
        if len(content) > MAX_CONTENT_CHARS:
            raise WorkOrderInvalid(f"诉求内容请控制在 {MAX_CONTENT_CHARS} 字以内。")
        try:
            phone = validate_phone(request.phone)
        except InvalidPhone as exc:
            raise WorkOrderInvalid(exc.message) from exc
        return replace(
            request, content=content, phone=phone.number, address=request.address.strip()
        )

    def estimate_deadline(self, request: CitizenRequest, accepted_at: datetime) -> Deadline:
        limit = self.policy.rules.classify(request.department, request.urgent)
        return self.policy.deadline(accepted_at, limit)

    async def submit(self, request: CitizenRequest) -> Acceptance:
        """Accepts a new request: outbox first, then one quick delivery attempt."""
        return await self._accept(EntryKind.CREATE, self.check(request), "")

    async def merge(self, request: CitizenRequest, target: str) -> Acceptance:
        """并单: the citizen agreed that ``target`` (GD or SL number) is the same matter."""
        if not (is_order_no(target) or is_acceptance_no(target)):
            raise WorkOrderInvalid("请提供要合并的工单号或受理号。")
        return await self._accept(EntryKind.MERGE, self.check(request), target)

    async def _accept(self, kind: EntryKind, request: CitizenRequest, target: str) -> Acceptance:
        now = self.clock()
        new = NewEntry(
            kind=kind,
            request=request,
            accepted_at=now,
            deadline=self.estimate_deadline(request, now),
            day=self.policy.local_date(now),
            target=target,
        )
        submission = await self.outbox.submit(new, self.dedupe_window_s)
        entry = submission.entry
        view: OrderView | None = None
        if entry.status is EntryStatus.PENDING:
            delivery = await self.relay.deliver_now(entry.acceptance_no, self.submit_wait_s)
            view = delivery.view
        current = await self.outbox.get(entry.acceptance_no) or entry
        return self._acceptance(current, view, submission.duplicate)

    def _acceptance(
        self, entry: OutboxEntry, view: OrderView | None, duplicate: bool
    ) -> Acceptance:
        deadline = view.deadline if view and view.deadline else entry.deadline
        department = view.department if view else entry.request.department
        merged_into = ""
        if entry.kind is EntryKind.MERGE:
            merged_into = entry.order_no or entry.target
        order_no = entry.order_no if entry.status is EntryStatus.DELIVERED else ""
        acceptance = Acceptance(
            acceptance_no=entry.acceptance_no,
            order_no=order_no,
            deadline=deadline,
            department=department,
            duplicate=duplicate,
            merged_into=merged_into,
            message="",
        )
        return replace(acceptance, message=self._acceptance_message(acceptance, entry))

    def _acceptance_message(self, acceptance: Acceptance, entry: OutboxEntry) -> str:
        due = (
            f"办理时限{acceptance.deadline.description}，预计{format_due(acceptance.deadline)}答复"
        )
        unit = f"，由{acceptance.department}办理" if acceptance.department else ""
        if acceptance.duplicate:
            head = f"您已经提交过相同的诉求（{_numbers(acceptance)}），无需重复提交。"
        elif acceptance.merged_into:
            head = (
                f"已将您的诉求并入{acceptance.merged_into}一并办理"
                f"（{_numbers(acceptance)}），办理结果会同时告知您。"
            )
            return head
        elif acceptance.order_no:
            return f"您的诉求已受理，工单号 {acceptance.order_no}{unit}，{due}。"
        else:
            head = f"您的诉求已受理，受理号 {acceptance.acceptance_no}{unit}，{due}。"
        if entry.status is EntryStatus.REJECTED:
            return head + "提交工单时遇到问题，工作人员会尽快与您联系。"
        if not acceptance.order_no:
            return head + "工单系统正在处理，工单号生成后会通知您，您也可以随时用受理号查询进度。"
        return head

    # -- 并单 -------------------------------------------------------------------------------

    async def merge_candidates(
        self, request: CitizenRequest, limit: int = 3
    ) -> list[MergeCandidate]:
        """Open orders, and requests still in the outbox, about the same matter at the same
        place. Empty when nothing matches (or nothing can be checked right now)."""
        candidates: list[MergeCandidate] = []
        try:
            candidates = await self.system.similar_open(request, limit)
        except WorkOrderError as exc:
            logger.info("similar-order search unavailable: %s", exc.code)
        mine = similarity.Matter(request.content, request.address, request.department)
        for entry in await self.outbox.pending(PENDING_SCAN):
            if entry.kind is not EntryKind.CREATE or entry.request.confidential:
                continue
            other = entry.request
            result = similarity.compare(
                mine, similarity.Matter(other.content, other.address, other.department)
            )
            if result.is_same:
                candidates.append(
                    MergeCandidate(
                        number=entry.acceptance_no,
                        summary=similarity.summary(other.content),
                        address=other.address,
                        department=other.department,
                        status_label=Status.ACCEPTED.label,
                        score=result.score,
                        reason=similarity.reason(result),
                    )
                )
        candidates.sort(key=lambda candidate: candidate.score, reverse=True)
        return candidates[:limit]

    # -- following an order ------------------------------------------------------------------

    async def status(self, number: str, phone: str | None = None) -> StatusReport:
        number = number.strip().upper()
        if is_order_no(number):
            view = await self.system.get(number, phone)
            return StatusReport(number, view.acceptance_no, number, view, self.describe(view))
        if not is_acceptance_no(number):
            raise WorkOrderInvalid("请提供以 GD 开头的工单号，或以 SL 开头的受理号。")
        entry = await self.outbox.get(number)
        if entry is None:
            raise WorkOrderNotFound("没有找到这个受理号，请核对后再试。")
        return await self._report(entry, phone)

    async def _report(self, entry: OutboxEntry, phone: str | None) -> StatusReport:
        if entry.status is EntryStatus.DELIVERED:
            view = await self.system.get(entry.order_no, phone)
            return StatusReport(
                entry.acceptance_no, entry.acceptance_no, entry.order_no, view, self.describe(view)
            )
        if entry.status is EntryStatus.REJECTED:
            message = (
                f"受理号 {entry.acceptance_no} 的诉求在提交工单时遇到问题，"
                "工作人员会尽快与您联系，给您带来不便，敬请谅解。"
            )
        else:
            message = (
                f"受理号 {entry.acceptance_no} 的诉求已受理，正在转交工单系统，"
                f"工单号生成后会通知您；办理时限{entry.deadline.description}，"
                f"预计{format_due(entry.deadline)}答复。"
            )
        return StatusReport(entry.acceptance_no, entry.acceptance_no, "", None, message)

    async def list_by_phone(self, phone: str, proof: ContactProof) -> list[StatusReport]:
        """The citizen's orders, newest first, once ``proof`` shows the phone is theirs."""
        try:
            canonical = validate_phone(phone).number
        except InvalidPhone as exc:
            raise WorkOrderInvalid(exc.message) from exc
        proof = replace(proof, order_no=proof.order_no.strip().upper())
        waiting = [
            entry
            for entry in await self.outbox.pending(PENDING_SCAN)
            if entry.request.phone == canonical
        ]
        try:
            views = await self.system.list_by_contact(canonical, proof)
        except (WorkOrderForbidden, WorkOrderUnavailable):
            if not _proves_locally(waiting, proof):
                raise
            views = []
        reports = [await self._report(entry, canonical) for entry in waiting]
        reports += [
            StatusReport(
                view.order_no, view.acceptance_no, view.order_no, view, self.describe(view)
            )
            for view in views
        ]
        return reports

    async def _order_no(self, number: str) -> str:
        number = number.strip().upper()
        if is_order_no(number):
            return number
        if is_acceptance_no(number):
            entry = await self.outbox.get(number)
            if entry is None:
                raise WorkOrderNotFound("没有找到这个受理号，请核对后再试。")
            if entry.status is EntryStatus.DELIVERED:
                return entry.order_no
            raise WorkOrderUnavailable(
                "您的诉求正在转交工单系统，工单号生成后即可办理这项操作，请稍后再试。"
            )
        raise WorkOrderInvalid("请提供以 GD 开头的工单号，或以 SL 开头的受理号。")

    async def supplement(self, number: str, phone: str, text: str) -> OrderView:
        if not text.strip():
            raise WorkOrderInvalid("请告诉我们需要补充的内容。")
        return await self.system.supplement(await self._order_no(number), phone, text.strip())

    async def rate(
        self, number: str, phone: str, rating: Rating | str, comment: str = ""
    ) -> OrderView:
        if isinstance(rating, str):
            try:
                rating = Rating.parse(rating)
            except ValueError as exc:
                raise WorkOrderInvalid("请评价：满意、基本满意或不满意。") from exc
        return await self.system.rate(await self._order_no(number), phone, rating, comment.strip())

    async def cancel(self, number: str, phone: str, reason: str = "") -> OrderView:
        return await self.system.cancel(await self._order_no(number), phone, reason.strip())

    def describe(self, view: OrderView) -> str:
        """One paragraph about an order, for the citizen."""
        parts = [f"工单 {view.order_no} 当前状态：{view.status.label}"]
        if view.department:
            parts[0] += f"（承办单位：{view.department}）"
        if view.status.is_open and view.deadline:
            parts.append(
                f"办理时限{view.deadline.description}，预计{format_due(view.deadline)}答复"
            )
        if view.supervised and view.status.is_open:
            parts.append("已列入督办")
        if view.rework_count and view.status.is_open:
            parts.append("正在重新办理")
        text = "，".join(parts) + "。"
        if view.full and view.reply and view.status in (Status.REPLIED, Status.CLOSED):
            text += f"\n答复内容：{view.reply}"
        if view.status is Status.REPLIED:
            text += "\n请您对办理结果进行评价：满意、基本满意或不满意。"
        return text


def _numbers(acceptance: Acceptance) -> str:
    if acceptance.order_no:
        return f"工单号 {acceptance.order_no}"
    return f"受理号 {acceptance.acceptance_no}"


def _proves_locally(entries: list[OutboxEntry], proof: ContactProof) -> bool:
    for entry in entries:
        if proof.order_no and proof.order_no == entry.acceptance_no:
            return True
        if (
            proof.channel_user
            and proof.channel == entry.request.channel
            and proof.channel_user == entry.request.channel_user
        ):
            return True
    return False


def relay_poll_s(settings: Settings) -> float:
    """How often an idle relay looks for work: Redis Streams are cheap to poll, a table is not."""
    return 0.05 if settings.redis_url else 0.5


def build_policy(settings: Settings) -> DeadlinePolicy:
    rules = TimeLimitRules.load(settings.workorder_time_limits)
    return DeadlinePolicy(rules, WorkingCalendar(settings.workorder_holiday_dir))
