"""The work-order state machine: who may do what, in which state, and what it changes.

受理 → 派单 → 签收 → 办理 → 答复 → 回访 (rating) → 办结, with 退单 (a department returns an
order outside its remit), 改派 (the hotline centre re-assigns it), 延期 (extension, asked by
the department and decided by the centre), 督办 (supervision when overdue or dissatisfied
again) and 重办 (rework after a 不满意 rating). Pure: no I/O, the caller stores the record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.workorders.deadlines import DeadlinePolicy
from bot.workorders.models import (
    OPEN_STATUSES,
    CitizenRequest,
    Deadline,
    Rating,
    Status,
)


class Role(StrEnum):
    CITIZEN = "citizen"  # through the assistant (or the hotline agent) on the citizen's behalf
    CENTER = "center"  # the 12345 hotline centre: dispatch, 改派, 延期 approval, 督办, close
    DEPARTMENT = "department"  # a handling unit (承办单位), only on its own orders
    SYSTEM = "system"  # automatic dispatch and the deadline sweep


@dataclass(frozen=True)
class Actor:
    role: Role
    department: str = ""

    @property
    def label(self) -> str:
        return {
            Role.CITIZEN: "市民",
            Role.CENTER: "12345热线",
            Role.DEPARTMENT: self.department,
            Role.SYSTEM: "系统",
        }[self.role]


CITIZEN = Actor(Role.CITIZEN)
CENTER = Actor(Role.CENTER)
SYSTEM = Actor(Role.SYSTEM)


class Action(StrEnum):
    ACCEPT = "accept"
    DISPATCH = "dispatch"
    SIGN = "sign"
    START = "start"
    REPLY = "reply"
    RETURN = "return"
    REASSIGN = "reassign"
    REQUEST_EXTENSION = "request_extension"
    DECIDE_EXTENSION = "decide_extension"
    SUPERVISE = "supervise"
    RATE = "rate"
    CLOSE = "close"
    CANCEL = "cancel"
    SUPPLEMENT = "supplement"
    MERGE = "merge"

    @property
    def label(self) -> str:
        return _ACTION_LABELS[self]


_ACTION_LABELS = {
    Action.ACCEPT: "受理",
    Action.DISPATCH: "派单",
    Action.SIGN: "签收",
    Action.START: "办理",
    Action.REPLY: "答复",
    Action.RETURN: "退单",
    Action.REASSIGN: "改派",
    Action.REQUEST_EXTENSION: "申请延期",
    Action.DECIDE_EXTENSION: "延期审批",
    Action.SUPERVISE: "督办",
    Action.RATE: "回访评价",
    Action.CLOSE: "办结",
    Action.CANCEL: "撤销",
    Action.SUPPLEMENT: "补充诉求",
    Action.MERGE: "并单",
}

_ANY_OPEN = frozenset(OPEN_STATUSES)
_IN_HAND = frozenset({Status.SIGNED, Status.HANDLING})

# action -> (roles allowed, statuses allowed)
PERMISSIONS: dict[Action, tuple[frozenset[Role], frozenset[Status]]] = {
    Action.DISPATCH: (
        frozenset({Role.CENTER, Role.SYSTEM}),
        frozenset({Status.ACCEPTED, Status.RETURNED}),
    ),
    Action.SIGN: (frozenset({Role.DEPARTMENT}), frozenset({Status.DISPATCHED})),
    Action.START: (frozenset({Role.DEPARTMENT}), frozenset({Status.SIGNED})),
    Action.REPLY: (frozenset({Role.DEPARTMENT}), _IN_HAND),
    Action.RETURN: (
        frozenset({Role.DEPARTMENT}),
        frozenset({Status.DISPATCHED, Status.SIGNED, Status.HANDLING}),
    ),
    Action.REASSIGN: (frozenset({Role.CENTER}), _ANY_OPEN),
    Action.REQUEST_EXTENSION: (frozenset({Role.DEPARTMENT}), _IN_HAND),
    Action.DECIDE_EXTENSION: (frozenset({Role.CENTER}), _IN_HAND),
    Action.SUPERVISE: (frozenset({Role.CENTER, Role.SYSTEM}), _ANY_OPEN),
    Action.RATE: (frozenset({Role.CITIZEN}), frozenset({Status.REPLIED, Status.CLOSED})),
    Action.CLOSE: (frozenset({Role.CENTER, Role.SYSTEM}), frozenset({Status.REPLIED})),
    Action.CANCEL: (frozenset({Role.CITIZEN}), _ANY_OPEN),
    Action.SUPPLEMENT: (frozenset({Role.CITIZEN}), _ANY_OPEN),
    Action.MERGE: (frozenset({Role.CITIZEN}), _ANY_OPEN),
}


class TransitionError(Exception):
    """An action that the rules do not allow; ``message`` is shown to people as is."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class OrderRecord:
    """Everything the work-order system keeps about one order."""

    order_no: str
    acceptance_no: str
    request: CitizenRequest
    status: Status
    department: str
    accepted_at: datetime
    deadline: Deadline | None = None
    dispatched_at: datetime | None = None
    replied_at: datetime | None = None
    closed_at: datetime | None = None
    reply: str = ""
    replied_late: bool = False
    supervised: bool = False
    rework_count: int = 0
    rating: Rating | None = None
    rating_comment: str = ""
    extension_days: int = 0
    extension_requested: int = 0
    extension_reason: str = ""
    updated_at: datetime | None = None
    late_delivery: bool = False


@dataclass(frozen=True)
class Command:
    """One action with its arguments; unused fields stay empty."""

    action: Action
    text: str = ""
    department: str = ""
    days: int = 0
    approve: bool = True
    rating: Rating | None = None
    request: CitizenRequest | None = None


@dataclass(frozen=True)
class Change:
    """What an action did, for the event history and the webhook to the citizen."""

    action: Action
    actor: Actor
    at: datetime
    from_status: Status
    to_status: Status
    note: str = ""
    notify: bool = True
    data: dict[str, object] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.action.label


class Lifecycle:
    def __init__(self, policy: DeadlinePolicy) -> None:
        self.policy = policy
        self.rules = policy.rules

    def open(
        self,
        order_no: str,
        acceptance_no: str,
        request: CitizenRequest,
        accepted_at: datetime,
        now: datetime,
        late_delivery: bool = False,
    ) -> tuple[OrderRecord, list[Change]]:
        """受理 (the clock runs from when the citizen was told: ``accepted_at``), and 派单 at
        ``now`` when the assistant already knows the department.

        A ``late_delivery`` (held up by a long outage) keeps the citizen's acceptance time
        but runs its time limit from ``now``: the department could not act on it before,
        and an order born overdue would be supervised before anyone had seen it.
        """
        limit = self.rules.classify(request.department, request.urgent)
        start = now if late_delivery else accepted_at
        order = OrderRecord(
            order_no=order_no,
            acceptance_no=acceptance_no,
            request=request,
            status=Status.ACCEPTED,
            department="",
            accepted_at=accepted_at,
            deadline=self.policy.deadline(start, limit),
            updated_at=accepted_at,
            late_delivery=late_delivery,
        )
        note = "因系统中断逾期送达，办理时限自送达时起算" if late_delivery else ""
        data: dict[str, object] = {"late_delivery": True} if late_delivery else {}
        accept = Change(
            Action.ACCEPT, CITIZEN, accepted_at, Status.ACCEPTED, Status.ACCEPTED, note, True, data
        )
        changes = [accept]
        if request.department:
            command = Command(Action.DISPATCH, department=request.department)
            changes.append(self.apply(order, SYSTEM, command, now))
        return order, changes

    def apply(self, order: OrderRecord, actor: Actor, command: Command, now: datetime) -> Change:
        self._check(order, actor, command.action)
        before = order.status
        note, notify, data = _HANDLERS[command.action](self, order, actor, command, now)
        order.updated_at = now
        return Change(command.action, actor, now, before, order.status, note, notify, data)

    def _check(self, order: OrderRecord, actor: Actor, action: Action) -> None:
        roles, statuses = PERMISSIONS[action]
        if actor.role not in roles:
            raise TransitionError("forbidden", f"您没有权限对工单执行“{action.label}”操作。")
        if actor.role is Role.DEPARTMENT and actor.department != order.department:
            raise TransitionError("forbidden", "该工单不属于您的单位，无法操作。")
        if order.status not in statuses:
            raise TransitionError(
                "invalid_state",
                f"工单当前状态为“{order.status.label}”，不能进行“{action.label}”操作。",
            )

    # -- handlers: each mutates the record and returns (note, notify, data) -----------------

    def _dispatch(self, order: OrderRecord, actor: Actor, cmd: Command, now: datetime) -> _Out:
        department = _required(cmd.department, "请指定承办单位。")
        order.department = department
        order.dispatched_at = now
        order.status = Status.DISPATCHED
        return "", True, {"department": department}

    def _sign(self, order: OrderRecord, actor: Actor, cmd: Command, now: datetime) -> _Out:
        order.status = Status.SIGNED
        return cmd.text, True, {}

    def _start(self, order: OrderRecord, actor: Actor, cmd: Command, now: datetime) -> _Out:
        order.status = Status.HANDLING
        return cmd.text, True, {}

    def _reply(self, order: OrderRecord, actor: Actor, cmd: Command, now: datetime) -> _Out:
        order.reply = _required(cmd.text, "答复内容不能为空。")
        order.replied_at = now
        order.replied_late = bool(order.deadline and now > order.deadline.due_at)
        order.extension_requested = 0
        order.status = Status.REPLIED
        return order.reply, True, {"late": order.replied_late}

    def _return(self, order: OrderRecord, actor: Actor, cmd: Command, now: datetime) -> _Out:
        reason = _required(cmd.text, "退单须说明理由。")
        dispatched = order.dispatched_at or order.accepted_at
        window = self.policy.return_window_ends(dispatched)
        if now > window:
            days = self.rules.return_within_working_days
            raise TransitionError(
                "return_window_passed", f"已超过退单时限（派单后{days}个工作日内），请按期办理。"
            )
        order.status = Status.RETURNED
        order.extension_requested = 0
        return reason, True, {"department": order.department}

    def _reassign(self, order: OrderRecord, actor: Actor, cmd: Command, now: datetime) -> _Out:
        department = _required(cmd.department, "请指定改派的承办单位。")
        previous = order.department
        order.department = department
        order.dispatched_at = now
        order.extension_requested = 0
        order.extension_days = 0
        if order.deadline is not None:
            limit = self.rules.limit(order.deadline.kind)
            order.deadline = self.policy.deadline(now, limit)
        order.status = Status.DISPATCHED
        return cmd.text, True, {"department": department, "previous_department": previous}

    def _request_extension(
        self, order: OrderRecord, actor: Actor, cmd: Command, now: datetime
    ) -> _Out:
        reason = _required(cmd.text, "申请延期须说明理由。")
        allowed = self.rules.max_extension_working_days - order.extension_days
        if order.extension_requested:
            raise TransitionError("extension_pending", "已有延期申请正在审批，请等待审批结果。")
        if not 1 <= cmd.days <= allowed:
            raise TransitionError(
                "extension_too_long",
                f"延期天数须在 1 至 {allowed} 个工作日之间"
                f"（累计延期不超过{self.rules.max_extension_working_days}个工作日）。",
            )
        order.extension_requested = cmd.days
        order.extension_reason = reason
        return reason, False, {"days": cmd.days}

    def _decide_extension(
        self, order: OrderRecord, actor: Actor, cmd: Command, now: datetime
    ) -> _Out:
        days = order.extension_requested
        if not days:
            raise TransitionError("no_extension_request", "该工单没有待审批的延期申请。")
        order.extension_requested = 0
        if not cmd.approve:
            return cmd.text or "不同意延期", False, {"approved": False, "days": days}
        if order.deadline is not None:
            order.deadline = self.policy.extend(order.deadline, days)
        order.extension_days += days
        return cmd.text or order.extension_reason, True, {"approved": True, "days": days}

    def _supervise(self, order: OrderRecord, actor: Actor, cmd: Command, now: datetime) -> _Out:
        order.supervised = True
        return cmd.text or "超期督办", True, {}

    def _rate(self, order: OrderRecord, actor: Actor, cmd: Command, now: datetime) -> _Out:
        if cmd.rating is None:
            raise TransitionError("invalid", "请选择评价：满意、基本满意或不满意。")
        if order.rating is not None or order.replied_at is None:
            raise TransitionError("already_rated", "该工单本轮办理已经评价过了，感谢您的反馈。")
        order.rating = cmd.rating
        order.rating_comment = cmd.text
        data: dict[str, object] = {"rating": cmd.rating.value}
        if cmd.rating is not Rating.DISSATISFIED:
            if order.status is not Status.CLOSED:
                order.status = Status.CLOSED
                order.closed_at = now
            return cmd.text, True, data
        # 不满意: 重办 with a fresh limit; dissatisfied again means 督办 as well.
        order.rework_count += 1
        order.status = Status.DISPATCHED
        order.dispatched_at = now
        order.closed_at = None
        order.extension_requested = 0
        order.deadline = self.policy.deadline(now, self.rules.rework)
        if order.rework_count >= 2:
            order.supervised = True
        data.update(rework=order.rework_count, supervised=order.supervised)
        order.rating = None  # the next round of 回访 rates the rework
        order.replied_at = None
        return cmd.text, True, data

    def _close(self, order: OrderRecord, actor: Actor, cmd: Command, now: datetime) -> _Out:
        order.status = Status.CLOSED
        order.closed_at = now
        return cmd.text or "回访未评价，自动办结", True, {}

    def _cancel(self, order: OrderRecord, actor: Actor, cmd: Command, now: datetime) -> _Out:
        order.status = Status.CANCELLED
        order.closed_at = now
        return cmd.text, True, {}

    def _supplement(self, order: OrderRecord, actor: Actor, cmd: Command, now: datetime) -> _Out:
        return _required(cmd.text, "补充内容不能为空。"), False, {}

    def _merge(self, order: OrderRecord, actor: Actor, cmd: Command, now: datetime) -> _Out:
        if cmd.request is None:
            raise TransitionError("invalid", "并单须提供诉求内容。")
        return cmd.request.content, False, {"acceptance_no": cmd.text}


_Out = tuple[str, bool, dict[str, object]]


def _required(value: str, message: str) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise TransitionError("invalid", message)
    return cleaned


_HANDLERS = {
    Action.DISPATCH: Lifecycle._dispatch,
    Action.SIGN: Lifecycle._sign,
    Action.START: Lifecycle._start,
    Action.REPLY: Lifecycle._reply,
    Action.RETURN: Lifecycle._return,
    Action.REASSIGN: Lifecycle._reassign,
    Action.REQUEST_EXTENSION: Lifecycle._request_extension,
    Action.DECIDE_EXTENSION: Lifecycle._decide_extension,
    Action.SUPERVISE: Lifecycle._supervise,
    Action.RATE: Lifecycle._rate,
    Action.CLOSE: Lifecycle._close,
    Action.CANCEL: Lifecycle._cancel,
    Action.SUPPLEMENT: Lifecycle._supplement,
    Action.MERGE: Lifecycle._merge,
}
