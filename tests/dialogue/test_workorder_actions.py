"""The work-order actions against the real reference service, step by step as Rasa runs
them: start, the form's questions and validation, the summary, filing, and following up."""

from __future__ import annotations

import re
import socket
from typing import Any

import aiohttp

import actions.workorders.desk as workorder_desk
from actions.safety import ActionEmergencyDiversion, ActionOutOfScopeGuidance
from actions.workorders.desk import DeskHolder
from actions.workorders.forms import ActionStopForm
from actions.workorders.lookup import ActionCheckTicket, ActionStartTicketLookup, ValidateTicketForm
from actions.workorders.rating import ActionRateTicket, ActionStartRating, ValidateRatingForm
from actions.workorders.request import (
    ActionAskRequestDecision,
    ActionHandleInform,
    ActionStartRequest,
    ActionSubmitRequest,
    AskConsent,
    AskLocation,
    AskMatter,
    ValidateWorkorderForm,
)
from actions.workorders.supplement import (
    ActionStartSupplement,
    ActionSupplementTicket,
    ValidateSupplementForm,
)
from bot.settings import Settings
from tests.dialogue.conversation import Conversation, assert_plain
from tests.support.workorders import LiveServer, act, department_headers

PHONE = "13812345678"
COMPLAINT = "我要投诉，历下区泉城路123号附近的烧烤店油烟太大，天天熏得没法开窗"
ORDER_NO = re.compile(r"GD\d{13}")


def followup(events: list[dict[str, Any]]) -> str | None:
    return next((e["name"] for e in events if e.get("event") == "followup"), None)


async def answer(
    conv: Conversation, slot: str, text: str, domain: dict[str, Any], intent: str = "inform"
) -> list[dict[str, Any]]:
    """The citizen answers the question for ``slot``; Rasa's from_text mapping extracts it."""
    conv.slots["requested_slot"] = slot
    conv.user(text, intent)
    return await conv.validate(ValidateWorkorderForm(), {slot: text}, domain)


async def read_back(
    conv: Conversation,
    domain: dict[str, Any],
    text: str = COMPLAINT,
    confidential: str = "不需要保密",
) -> str:
    """A complaint from the first message to the summary read back for confirmation."""
    conv.user(text, "complain")
    events = await conv.run(ActionStartRequest())
    assert followup(events) == "workorder_form"
    prefilled = {
        k: conv.slots[k] for k in ("matter", "location", "phone_number") if conv.slots.get(k)
    }
    conv.slots["requested_slot"] = None
    await conv.validate(ValidateWorkorderForm(), prefilled, domain)
    if not conv.slots.get("phone_number"):
        await answer(conv, "phone_number", PHONE, domain)
    for slot, reply in (
        ("citizen_name", "王女士"),
        ("consent_contact", "同意"),
        ("confidential", confidential),
    ):
        await answer(conv, slot, reply, domain)
    conv.slots["requested_slot"] = "request_decision"
    await conv.run(ActionAskRequestDecision())
    return conv.text()


async def file_request(
    conv: Conversation, domain: dict[str, Any], text: str = COMPLAINT, decision: str = "确认提交"
) -> str:
    """A complaint from the first message to the answer with the number."""
    await read_back(conv, domain, text)
    await answer(conv, "request_decision", decision, domain)
    conv.slots["requested_slot"] = None
    await conv.run(ActionSubmitRequest())
    return conv.text()


async def test_a_complaint_becomes_a_work_order_with_number_and_deadline(
    desks: DeskHolder, domain: dict[str, Any]
) -> None:
    conv = Conversation("web-complaint")
    conv.user(COMPLAINT, "complain")
    events = await conv.run(ActionStartRequest())
    assert followup(events) == "workorder_form"
    assert "“投诉”类" in conv.text() and "城市管理局" in conv.text()
    assert_plain(conv.text())
    assert conv.slots["request_type"] == "投诉"
    assert conv.slots["matter"] == "历下区泉城路123号附近的烧烤店油烟太大，天天熏得没法开窗"
    assert conv.slots["location"] == "历下区泉城路123号附近"

    conv.slots["requested_slot"] = None  # activation: the prefilled slots are validated
    await conv.validate(
        ValidateWorkorderForm(),
        {"matter": conv.slots["matter"], "location": conv.slots["location"]},
        domain,
    )
    assert conv.slots["matter"] and conv.slots["location"]

    await answer(conv, "phone_number", "138123", domain)
    assert conv.slots["phone_number"] is None and "11 位" in conv.text()
    await answer(conv, "phone_number", "我的电话是138 1234 5678", domain)
    assert conv.slots["phone_number"] == PHONE
    await answer(conv, "citizen_name", "跳过", domain)
    assert conv.slots["citizen_name"] == ""
    conv.slots["requested_slot"] = "consent_contact"
    await conv.run(AskConsent())
    assert conv.buttons() == ["同意", "不同意"]
    await answer(conv, "consent_contact", "你说啥", domain)
    assert conv.slots["consent_contact"] is None and "同意" in conv.text()
    await answer(conv, "consent_contact", "同意", domain)
    await answer(conv, "confidential", "不需要保密", domain)
    assert (conv.slots["consent_contact"], conv.slots["confidential"]) == (True, False)

    conv.slots["requested_slot"] = "request_decision"
    await conv.run(ActionAskRequestDecision())
    summary = conv.text()
    assert "诉求类型：投诉" in summary
    assert "城市管理局" in summary and "油烟" in summary
    assert_plain(summary)
    assert "地点：历下区泉城路123号附近" in summary and "138****5678" in summary
    assert conv.buttons()[0] == "确认提交" and conv.buttons()[-2:] == ["修改", "取消"]

    await answer(conv, "request_decision", "确认提交", domain)
    assert conv.slots["request_decision"] == "submit"
    conv.slots["requested_slot"] = None
    events = await conv.run(ActionSubmitRequest())
    reply = conv.text()
    number = ORDER_NO.search(reply)
    assert number is not None, reply
    assert "个工作日" in reply and "城市管理局" in reply
    assert conv.slots["ticket_number"] == number.group(0)
    assert conv.slots["matter"] is None and conv.slots["phone_number"] == PHONE

    # the citizen checks it by number
    conv.user(f"查一下{number.group(0)}办得怎么样了", "check_ticket")
    assert followup(await conv.run(ActionStartTicketLookup())) == "ticket_form"
    conv.slots["requested_slot"] = None
    await conv.validate(ValidateTicketForm(), {"ticket_ref": conv.slots["ticket_ref"]}, domain)
    assert conv.slots["ticket_proof"] == ""
    await conv.run(ActionCheckTicket())
    assert number.group(0) in conv.text() and "当前状态" in conv.text()


async def test_modifying_an_answer_asks_again_and_reads_back_anew(
    desks: DeskHolder, domain: dict[str, Any]
) -> None:
    conv = Conversation("web-modify")
    conv.user("我要投诉", "complain")
    events = await conv.run(ActionStartRequest())
    assert conv.slots["matter"] is None
    # at activation Rasa hands over the slots the start action cleared: nothing to say
    cleared = {e["name"]: None for e in events if e.get("event") == "slot"}
    conv.slots["requested_slot"] = None
    await conv.validate(ValidateWorkorderForm(), cleared, domain)
    assert conv.said == [] and conv.slots["decision_prompt"] is None
    conv.slots["requested_slot"] = "matter"
    await conv.run(AskMatter())
    assert "描述" in conv.text()
    await answer(conv, "matter", "小区门口的路灯坏了一个多月，晚上一片漆黑", domain)
    conv.slots["requested_slot"] = "location"
    await conv.run(AskLocation())
    assert "地点" in conv.text()
    await answer(conv, "location", "在槐荫区经十路阳光花园东门", domain)
    await answer(conv, "phone_number", PHONE, domain)
    await answer(conv, "citizen_name", "我姓李", domain)
    await answer(conv, "consent_contact", "同意", domain)
    await answer(conv, "confidential", "不用保密", domain)
    conv.slots["requested_slot"] = "request_decision"
    await conv.run(ActionAskRequestDecision())
    assert "称呼：姓李" in conv.text()

    await answer(conv, "request_decision", "修改", domain)
    assert conv.slots["request_decision"] is None
    await conv.run(ActionAskRequestDecision())
    assert "修改哪一项" in conv.text() and "修改地点" in conv.buttons()
    await answer(conv, "request_decision", "修改地点", domain)
    assert conv.slots["location"] is None  # the form asks for it again
    await answer(conv, "location", "槐荫区经十路阳光花园西门", domain)
    conv.slots["requested_slot"] = "request_decision"
    await conv.run(ActionAskRequestDecision())
    assert "阳光花园西门" in conv.text()
    await answer(conv, "request_decision", "这次先不提交", domain)
    assert conv.slots["request_decision"] == "cancel"
    await conv.run(ActionSubmitRequest())
    assert "没有提交" in conv.text() and conv.slots["matter"] is None


async def test_a_detail_out_of_context(desks: DeskHolder) -> None:
    conv = Conversation("web-inform")
    conv.user("在槐荫区经十路阳光花园东门", "inform")
    assert followup(await conv.run(ActionHandleInform())) == "workorder_form"
    assert conv.slots["location"] == "槐荫区经十路阳光花园东门" and conv.slots["matter"] is None
    conv.user("我姓王", "inform")
    assert followup(await conv.run(ActionHandleInform())) is None
    assert conv.buttons() == ["反映问题", "查询工单"]


async def test_contact_details_given_for_the_place_are_not_the_place(
    domain: dict[str, Any],
) -> None:
    conv = Conversation("web-contact-for-place")
    conv.user("我要投诉小区门口的路灯坏了一个多月", "complain")
    await answer(conv, "location", "我姓李，电话13912345678", domain)
    assert conv.slots["location"] is None  # the form asks for the place again
    assert "联系方式已记下" in conv.text()
    await answer(conv, "location", "槐荫区经十路阳光花园东门，电话13912345678", domain)
    assert conv.slots["location"] == "槐荫区经十路阳光花园东门"


async def test_stopping_the_form_midway(desks: DeskHolder, domain: dict[str, Any]) -> None:
    conv = Conversation("web-stop")
    conv.user("我要举报", "report")
    await conv.run(ActionStartRequest())
    assert conv.slots["request_type"] == "举报"
    conv.slots["requested_slot"] = "matter"
    await conv.run(AskMatter())
    assert "举报" in conv.text()
    # 不办了 typed as the answer, without the NLU recognising stop_request
    events = await answer(conv, "matter", "算了，不登记了", domain)
    assert "没有提交" in conv.text()
    assert {"event": "slot", "name": "requested_slot", "value": None, "timestamp": None} in [
        {**e, "timestamp": None} for e in events
    ]
    assert conv.slots["matter"] is None
    # the form's completion finds nothing to file and says nothing
    await conv.run(ActionSubmitRequest())
    assert conv.said == []

    # stop_request recognised by the NLU: the rule runs action_stop_form
    conv.user("我要投诉", "complain")
    await conv.run(ActionStartRequest())
    conv.active_loop = "workorder_form"
    conv.user("取消", "stop_request")
    await conv.run(ActionStopForm())
    assert conv.active_loop is None and "没有提交" in conv.text()


async def test_an_emergency_or_a_matter_outside_12345_is_not_filed(desks: DeskHolder) -> None:
    conv = Conversation("web-urgent")
    conv.user("救命，楼道里着火了，浓烟滚滚", "seek_help")
    assert followup(await conv.run(ActionStartRequest())) == "action_emergency_diversion"
    await conv.run(ActionEmergencyDiversion())
    assert "119" in conv.text()
    conv.user("我要投诉，离婚案子法院已经判决了，判得不公平", "complain")
    assert followup(await conv.run(ActionStartRequest())) == "action_out_of_scope_guidance"
    await conv.run(ActionOutOfScopeGuidance())
    assert "法院" in conv.text()


async def test_an_open_order_about_the_same_matter_is_offered_for_merging(
    desks: DeskHolder, domain: dict[str, Any]
) -> None:
    first = await file_request(Conversation("web-first"), domain)
    number = ORDER_NO.search(first)
    assert number is not None, first

    neighbour = Conversation("web-neighbour")
    neighbour.user("投诉，历下区泉城路123号附近那家烧烤店油烟特别大，熏得开不了窗", "complain")
    await neighbour.run(ActionStartRequest())
    neighbour.slots["requested_slot"] = None
    await neighbour.validate(
        ValidateWorkorderForm(),
        {k: neighbour.slots[k] for k in ("matter", "location")},
        domain,
    )
    await answer(neighbour, "phone_number", "13900000000", domain)
    for slot, text in (
        ("citizen_name", "跳过"),
        ("consent_contact", "同意"),
        ("confidential", "不需要"),
    ):
        await answer(neighbour, slot, text, domain)
    neighbour.slots["requested_slot"] = "request_decision"
    await neighbour.run(ActionAskRequestDecision())
    assert f"并入工单{number.group(0)}" in neighbour.buttons(), neighbour.text()
    assert "并单" in neighbour.text()
    await answer(neighbour, "request_decision", f"并入工单{number.group(0)}", domain)
    await neighbour.run(ActionSubmitRequest())
    assert f"并入{number.group(0)}" in neighbour.text()

    # a citizen who asks for confidentiality is never merged with others
    discreet = Conversation("web-discreet")
    await read_back(discreet, domain, confidential="需要保密")
    assert not any(title.startswith("并入") for title in discreet.buttons())


async def test_listing_by_phone_needs_proof_of_owning_it(
    desks: DeskHolder, domain: dict[str, Any]
) -> None:
    owner = Conversation("web-owner")
    number = ORDER_NO.search(await file_request(owner, domain))
    assert number is not None

    # the same conversation is proof enough (it filed an order with this phone)
    owner.user(f"用手机号{PHONE}查一下我的工单", "check_ticket")
    await owner.run(ActionStartTicketLookup())
    assert owner.slots["ticket_ref"] == PHONE
    owner.slots["requested_slot"] = None
    await owner.validate(ValidateTicketForm(), {"ticket_ref": PHONE}, domain)
    assert owner.slots["ticket_proof"] == "channel"
    await owner.run(ActionCheckTicket())
    assert number.group(0) in owner.text() and "查到 1 件" in owner.text()

    # anyone else must quote one of the numbers registered with the phone
    other = Conversation("web-other")
    other.user(f"帮我查查用{PHONE}登记的诉求", "check_ticket")
    await other.run(ActionStartTicketLookup())
    other.slots["requested_slot"] = None
    await other.validate(ValidateTicketForm(), {"ticket_ref": PHONE}, domain)
    assert other.slots["ticket_proof"] is None
    other.slots["requested_slot"] = "ticket_proof"
    other.user("GD2026010100001")
    await other.validate(ValidateTicketForm(), {"ticket_proof": "GD2026010100001"}, domain)
    assert other.slots["ticket_proof"] is None and "身份核验未通过" in other.text()
    other.user(number.group(0))
    await other.validate(ValidateTicketForm(), {"ticket_proof": number.group(0)}, domain)
    assert other.slots["ticket_proof"] == number.group(0)
    await other.run(ActionCheckTicket())
    assert number.group(0) in other.text()


async def test_supplement_and_rating_with_reopening_for_rework(
    desks: DeskHolder,
    domain: dict[str, Any],
    wo_settings: Settings,
    service: LiveServer,
    http: aiohttp.ClientSession,
) -> None:
    conv = Conversation("web-follow-up")
    number = ORDER_NO.search(await file_request(conv, domain))
    assert number is not None
    order_no = number.group(0)

    conv.user(f"{order_no}补充一下：烧烤摊晚上十二点以后还在营业", "supplement_ticket")
    assert followup(await conv.run(ActionStartSupplement())) == "supplement_form"
    assert conv.slots["supplement_text"] == "烧烤摊晚上十二点以后还在营业"
    conv.slots["requested_slot"] = None
    prefilled = {k: conv.slots[k] for k in ("ticket_number", "phone_number", "supplement_text")}
    await conv.validate(ValidateSupplementForm(), prefilled, domain)
    await conv.run(ActionSupplementTicket())
    assert f"已将您补充的情况添加到工单 {order_no}" in conv.text()

    # rating an order still being handled is refused politely
    conv.user(f"{order_no}满意", "rate_ticket")
    await conv.run(ActionStartRating())
    await conv.validate(
        ValidateRatingForm(),
        {k: conv.slots[k] for k in ("ticket_number", "phone_number", "rating")},
        domain,
    )
    await conv.run(ActionRateTicket())
    assert conv.text() and "感谢" not in conv.text()

    # the department answers; the citizen is not satisfied: the order is reopened
    desk = await desks.get()
    department = (await desk.status(order_no, PHONE)).view.department  # type: ignore[union-attr]
    handler = department_headers(wo_settings, department)
    await act(http, service, handler, order_no, "sign")
    await act(http, service, handler, order_no, "reply", {"text": "已责令烧烤店安装油烟净化器。"})
    conv.user("评价一下处理结果", "rate_ticket")
    await conv.run(ActionStartRating())
    assert conv.slots["ticket_number"] == order_no and conv.slots["rating"] is None
    conv.slots["requested_slot"] = None
    await conv.validate(
        ValidateRatingForm(), {k: conv.slots[k] for k in ("ticket_number", "phone_number")}, domain
    )
    conv.slots["requested_slot"] = "rating"
    conv.user("不满意")
    await conv.validate(ValidateRatingForm(), {"rating": "不满意"}, domain)
    assert conv.slots["rating"] == "dissatisfied" and conv.slots["rating_comment"] is None
    conv.slots["requested_slot"] = "rating_comment"
    # the NLU takes the smoke for an emergency: the numbers are given, the answer is kept
    conv.user("油烟还是很大，根本没装净化器", "emergency")
    await conv.validate(
        ValidateRatingForm(), {"rating_comment": "油烟还是很大，根本没装净化器"}, domain
    )
    assert "119" in conv.text() and conv.slots["rating_comment"] == "油烟还是很大，根本没装净化器"
    await conv.run(ActionRateTicket())
    assert "重办" in conv.text() and "正在重新办理" in conv.text()
    reopened = await desk.status(order_no, PHONE)
    assert reopened.view is not None and reopened.view.status.is_open
    assert reopened.view.rework_count == 1


async def test_without_the_work_order_system_the_citizen_still_gets_a_number(
    domain: dict[str, Any], wo_settings: Settings, monkeypatch: Any
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    down = wo_settings.with_overrides(
        workorder_url=f"http://127.0.0.1:{closed}", workorder_submit_wait_s=0.5
    )
    holder = DeskHolder(lambda: down)
    monkeypatch.setattr(workorder_desk, "DESKS", holder)
    try:
        conv = Conversation("web-outage")
        reply = await file_request(conv, domain)
        assert "受理号 SL" in reply and "工单号生成后会通知您" in reply, reply
        acceptance = conv.slots["ticket_number"]
        conv.user(acceptance)
        events = await conv.run(ActionHandleInform())
        assert followup(events) == "ticket_form" and conv.slots["ticket_ref"] == acceptance
        conv.slots["requested_slot"] = None
        await conv.validate(ValidateTicketForm(), {"ticket_ref": acceptance}, domain)
        await conv.run(ActionCheckTicket())
        assert "正在转交工单系统" in conv.text()
    finally:
        await holder.aclose()
