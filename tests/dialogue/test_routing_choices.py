"""The citizen's say over the predicted request type and handling unit: changing them at
the summary, being asked when the type is unsure, and leaving an unsure unit to the hotline
staff; the work order filed carries what the citizen chose."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

import actions.workorders.request as request_actions
from actions.workorders.desk import DeskHolder
from actions.workorders.request import ActionAskRequestDecision, ActionStartRequest
from bot.routing import Classification, classify
from bot.workorders.dialogue.summary import (
    STAFF_CHOOSE,
    STAFF_DISPATCH,
    TYPE_QUESTION,
    UNIT_QUESTION,
    route,
)
from tests.dialogue.conversation import Conversation, assert_plain
from tests.dialogue.test_workorder_actions import (
    ORDER_NO,
    PHONE,
    answer,
    file_request,
    read_back,
)

MANHOLE = "我来反映个事，历下区泉城路123号附近人行道上的井盖丢了好几天，晚上很危险"
# Two units are plausible here (消防救援支队, 供电公司): the citizen may pick the second.
CHARGING = "我要投诉，历下区泉城路123号附近的电动车充电桩私拉电线"


async def choose(conv: Conversation, domain: dict[str, Any], text: str) -> str:
    """The citizen answers at the summary; the form asks (or reads back) again."""
    await answer(conv, "request_decision", text, domain)
    await conv.run(ActionAskRequestDecision())
    return conv.text()


async def filed_view(desks: DeskHolder, reply: str) -> Any:
    number = ORDER_NO.search(reply)
    assert number is not None, reply
    desk = await desks.get()
    view = (await desk.status(number.group(0), PHONE)).view
    assert view is not None
    return view


async def test_the_citizen_changes_type_and_unit_at_the_summary(
    desks: DeskHolder, domain: dict[str, Any]
) -> None:
    conv = Conversation("web-choose")
    await read_back(conv, domain, CHARGING)
    assert "诉求类型：投诉" in conv.text()
    predicted = conv.slots["request_routing"]
    assert len(predicted["units"]) >= 2

    assert "修改哪一项" in await choose(conv, domain, "修改")
    assert {"修改诉求类型", "修改承办单位"} <= set(conv.buttons())
    assert await choose(conv, domain, "修改诉求类型") == TYPE_QUESTION
    assert conv.buttons() == ["咨询", "求助", "投诉", "举报", "建议", "表扬"]
    summary = await choose(conv, domain, "举报")
    assert "诉求类型：举报" in summary and conv.slots["chosen_request_type"] == "举报"

    assert await choose(conv, domain, "承办单位不对") == UNIT_QUESTION
    offered = conv.buttons()
    assert offered[: len(predicted["units"])] == [unit["name"] for unit in predicted["units"]]
    assert offered[-1] == STAFF_CHOOSE
    # a unit that was not offered is not taken: asked again, with the same choices
    assert "工作人员判断" in await choose(conv, domain, "交给教育局")
    assert conv.buttons() == offered and conv.slots["chosen_department"] is None
    other = offered[1]
    summary = await choose(conv, domain, other)
    assert f"拟派承办单位：{other}" in summary and "诉求类型：举报" in summary
    assert_plain(summary)
    # the prediction stays on record for reviews and evaluations
    assert conv.slots["request_routing"]["department"] == predicted["department"]

    await answer(conv, "request_decision", "确认提交", domain)
    await conv.run(request_actions.ActionSubmitRequest())
    view = await filed_view(desks, conv.text())
    assert (view.request_type, view.department) == ("举报", other)
    assert conv.slots["chosen_request_type"] is None  # the next request starts afresh


async def test_the_citizen_leaves_the_unit_to_the_hotline_staff(
    desks: DeskHolder, domain: dict[str, Any]
) -> None:
    conv = Conversation("web-staff")
    await read_back(conv, domain)
    await choose(conv, domain, "修改承办单位")
    summary = await choose(conv, domain, STAFF_CHOOSE)
    assert f"拟派承办单位：{STAFF_DISPATCH}" in summary
    await answer(conv, "request_decision", "确认提交", domain)
    await conv.run(request_actions.ActionSubmitRequest())
    view = await filed_view(desks, conv.text())
    assert view.department == "" and view.request_type == "投诉"  # not dispatched yet


@pytest.fixture
def unsure(monkeypatch: pytest.MonkeyPatch) -> None:
    """The classifier unsure of both the type and the unit."""

    def unsure_classify(text: str) -> Classification:
        return replace(classify(text), type_unsure=True, department_unsure=True)

    monkeypatch.setattr(request_actions, "classify", unsure_classify)


async def test_an_unsure_type_is_asked_and_an_unsure_unit_left_to_the_staff(
    desks: DeskHolder, domain: dict[str, Any], unsure: None
) -> None:
    conv = Conversation("web-unsure")
    conv.user(MANHOLE, "register_request")
    await conv.run(ActionStartRequest())
    note = conv.text()
    assert "登记工单" in note and "类" not in note and "拟转" not in note
    routing = conv.slots["request_routing"]
    assert routing["type_unsure"] and routing["department"] == ""
    assert routing["department_id"] and routing["units"]  # still offered, never imposed

    conv.slots["requested_slot"] = None
    await conv.validate(
        request_actions.ValidateWorkorderForm(),
        {k: conv.slots[k] for k in ("matter", "location")},
        domain,
    )
    for slot, reply in (
        ("phone_number", PHONE),
        ("citizen_name", "王女士"),
        ("consent_contact", "同意"),
        ("confidential", "不需要保密"),
    ):
        await answer(conv, slot, reply, domain)
    conv.slots["requested_slot"] = "request_decision"
    await conv.run(ActionAskRequestDecision())
    assert conv.text() == TYPE_QUESTION and "举报" in conv.buttons()  # one short question
    summary = await choose(conv, domain, "求助")
    assert "诉求类型：求助" in summary and f"拟派承办单位：{STAFF_DISPATCH}" in summary
    assert_plain(summary)

    reply = await file_request_decision(conv, domain)
    view = await filed_view(desks, reply)
    assert (view.request_type, view.department) == ("求助", "")


async def file_request_decision(conv: Conversation, domain: dict[str, Any]) -> str:
    await answer(conv, "request_decision", "确认提交", domain)
    conv.slots["requested_slot"] = None
    await conv.run(request_actions.ActionSubmitRequest())
    return conv.text()


def test_a_stated_type_is_not_asked_and_an_unsure_unit_is_not_named() -> None:
    sure = classify("我要投诉，历下区泉城路123号附近的烧烤店油烟太大，天天熏得没法开窗")
    doubtful = replace(sure, type_unsure=True, department_unsure=True)
    assert not route(doubtful, "投诉").type_unsure
    assert route(doubtful, None).type_unsure
    assert route(doubtful, None).department == ""
    assert route(sure, None).department == sure.department.name  # type: ignore[union-attr]


async def test_the_summary_after_a_confident_start(
    desks: DeskHolder, domain: dict[str, Any]
) -> None:
    reply = await file_request(Conversation("web-confident"), domain)
    view = await filed_view(desks, reply)
    assert view.request_type == "投诉" and "城市管理局" in view.department
