"""The work-order state machine, without storage or HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.settings import PROJECT_ROOT
from bot.workorders.deadlines import DeadlinePolicy
from bot.workorders.lifecycle import (
    CENTER,
    CITIZEN,
    SYSTEM,
    Action,
    Actor,
    Command,
    Lifecycle,
    OrderRecord,
    Role,
    TransitionError,
)
from bot.workorders.models import CitizenRequest, Rating, Status
from bot.workorders.rules import TimeLimitRules
from bot.workorders.workcalendar import WorkingCalendar

CST = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=CST)  # a Monday
CITY = Actor(Role.DEPARTMENT, "市城市管理局")
OTHER = Actor(Role.DEPARTMENT, "市生态环境局")


@pytest.fixture
def life(calendar: WorkingCalendar) -> Lifecycle:
    rules = TimeLimitRules.load(PROJECT_ROOT / "config" / "time_limits.yml")
    return Lifecycle(DeadlinePolicy(rules, calendar))


def new_order(life: Lifecycle, department: str = "市城市管理局") -> OrderRecord:
    request = CitizenRequest(
        content="小区门口烧烤摊油烟扰民", phone="13812345678", department=department
    )
    order, changes = life.open("GD2026112300001", "SL2026112300001", request, T0, T0)
    assert [c.action for c in changes] == (
        [Action.ACCEPT, Action.DISPATCH] if department else [Action.ACCEPT]
    )
    return order


def status(order: OrderRecord) -> Status:
    """Read through a call, so the type checker does not pin the status between steps."""
    return order.status


def step(life: Lifecycle, order: OrderRecord, actor: Actor, action: Action, **kw: object) -> None:
    life.apply(order, actor, Command(action, **kw), order.updated_at or T0)  # type: ignore[arg-type]


def test_full_path_to_closed(life: Lifecycle) -> None:
    order = new_order(life)
    assert status(order) is Status.DISPATCHED and order.department == "市城市管理局"
    assert order.deadline is not None
    assert order.deadline.due_at.date().isoformat() == "2026-11-30"  # 5 working days
    step(life, order, CITY, Action.SIGN)
    step(life, order, CITY, Action.START)
    step(life, order, CITY, Action.REPLY, text="已联系摊主整改并加装油烟净化器。")
    assert status(order) is Status.REPLIED and not order.replied_late
    step(life, order, CITIZEN, Action.RATE, rating=Rating.SATISFIED)
    assert status(order) is Status.CLOSED and order.rating is Rating.SATISFIED


def test_only_the_right_role_and_department_may_act(life: Lifecycle) -> None:
    order = new_order(life)
    with pytest.raises(TransitionError) as raised:
        step(life, order, OTHER, Action.SIGN)
    assert raised.value.code == "forbidden" and "不属于您的单位" in raised.value.message
    with pytest.raises(TransitionError, match="没有权限"):
        step(life, order, CITIZEN, Action.SIGN)
    with pytest.raises(TransitionError) as raised:
        step(life, order, CITY, Action.REPLY, text="答复")  # not signed yet
    assert raised.value.code == "invalid_state" and "已派单" in raised.value.message


def test_return_then_reassign(life: Lifecycle) -> None:
    order = new_order(life)
    with pytest.raises(TransitionError, match="理由"):
        step(life, order, CITY, Action.RETURN, text=" ")
    step(life, order, CITY, Action.RETURN, text="属于环保部门职责")
    assert status(order) is Status.RETURNED
    step(life, order, CENTER, Action.REASSIGN, department="市生态环境局")
    assert status(order) is Status.DISPATCHED and order.department == "市生态环境局"
    step(life, order, OTHER, Action.SIGN)


def test_return_after_two_working_days_is_refused(life: Lifecycle) -> None:
    order = new_order(life)
    late = T0 + timedelta(days=3)  # Thursday: Tue and Wed have passed
    with pytest.raises(TransitionError) as raised:
        life.apply(order, CITY, Command(Action.RETURN, text="不归我们管"), late)
    assert raised.value.code == "return_window_passed"


def test_extension_is_asked_then_decided_and_capped(life: Lifecycle) -> None:
    order = new_order(life)
    step(life, order, CITY, Action.SIGN)
    assert order.deadline is not None
    before = order.deadline.due_at
    with pytest.raises(TransitionError, match="1 至 10"):
        step(life, order, CITY, Action.REQUEST_EXTENSION, days=11, text="情况复杂")
    step(life, order, CITY, Action.REQUEST_EXTENSION, days=6, text="需要协调多个部门")
    with pytest.raises(TransitionError, match="正在审批"):
        step(life, order, CITY, Action.REQUEST_EXTENSION, days=1, text="再延")
    step(life, order, CENTER, Action.DECIDE_EXTENSION, approve=True)
    assert order.deadline.due_at > before and order.extension_days == 6
    with pytest.raises(TransitionError, match="1 至 4"):
        step(life, order, CITY, Action.REQUEST_EXTENSION, days=5, text="还要")
    step(life, order, CITY, Action.REQUEST_EXTENSION, days=2, text="还要两天")
    step(life, order, CENTER, Action.DECIDE_EXTENSION, approve=False)
    assert order.extension_days == 6 and order.extension_requested == 0


def test_dissatisfied_reopens_for_rework_and_twice_means_supervision(life: Lifecycle) -> None:
    order = new_order(life)
    for round_ in (1, 2):
        step(life, order, CITY, Action.SIGN)
        step(life, order, CITY, Action.REPLY, text="已处理")
        step(life, order, CITIZEN, Action.RATE, rating=Rating.DISSATISFIED, text="还是有油烟")
        assert status(order) is Status.DISPATCHED and order.rework_count == round_
        assert order.rating is None  # the rework will be rated again
    assert order.supervised
    step(life, order, CITY, Action.SIGN)
    step(life, order, CITY, Action.REPLY, text="已取缔")
    step(life, order, CITIZEN, Action.RATE, rating=Rating.BASICALLY_SATISFIED)
    assert status(order) is Status.CLOSED
    with pytest.raises(TransitionError) as raised:
        step(life, order, CITIZEN, Action.RATE, rating=Rating.SATISFIED)
    assert raised.value.code == "already_rated"


def test_auto_closed_order_can_still_be_rated_dissatisfied(life: Lifecycle) -> None:
    order = new_order(life)
    step(life, order, CITY, Action.SIGN)
    step(life, order, CITY, Action.REPLY, text="已处理")
    step(life, order, SYSTEM, Action.CLOSE)
    assert status(order) is Status.CLOSED
    step(life, order, CITIZEN, Action.RATE, rating=Rating.DISSATISFIED)
    assert status(order) is Status.DISPATCHED and order.rework_count == 1


def test_cancel_supplement_and_undispatched_orders(life: Lifecycle) -> None:
    order = new_order(life, department="")
    assert status(order) is Status.ACCEPTED
    step(life, order, CITIZEN, Action.SUPPLEMENT, text="补充：每晚十点以后最严重")
    step(life, order, CENTER, Action.DISPATCH, department="市城市管理局")
    step(life, order, CITIZEN, Action.CANCEL, text="已经解决了")
    assert status(order) is Status.CANCELLED
    with pytest.raises(TransitionError, match="已撤销"):
        step(life, order, CITIZEN, Action.SUPPLEMENT, text="还有")


def test_late_reply_is_recorded(life: Lifecycle) -> None:
    order = new_order(life)
    step(life, order, CITY, Action.SIGN)
    late = T0 + timedelta(days=14)
    life.apply(order, CITY, Command(Action.REPLY, text="已处理"), late)
    assert order.replied_late
