"""A first message that describes a matter is answered or taken up as a work order, whatever
the NLU made of it: never "没有完全理解", never a diversion the safety rules do not back."""

from __future__ import annotations

from typing import Any

import pytest

import actions.knowledge as knowledge_actions
from actions.knowledge import ActionAnswerKnowledge
from actions.matters import ActionHandleUnclear, ActionSmallTalk
from actions.safety import JUST_IN_CASE, ActionEmergencyDiversion, ActionOutOfScopeGuidance
from actions.workorders.request import ActionStartRequest
from bot.knowledge.models import Answer
from tests.dialogue.conversation import Conversation

COMPLAINT = (
    "我要投诉，历下区泉城路123号附近的烧烤店每天晚上营业到凌晨两点，油烟和噪音特别大，"
    "楼上的住户根本没法休息，找过物业也没有用。"
)
NARRATIVE = "小区门口的路灯坏了一个多月了，晚上走路很不安全，老人孩子出门都提心吊胆，希望尽快修好。"


def followup(events: list[dict[str, Any]]) -> str | None:
    return next((e["name"] for e in events if e.get("event") == "followup"), None)


class _Knowledge:
    async def get(self) -> object:
        return object()


@pytest.fixture
def unsure_knowledge(monkeypatch: pytest.MonkeyPatch) -> None:
    """A knowledge base with no sure answer to anything."""
    monkeypatch.setattr(knowledge_actions, "knowledge", _Knowledge)
    monkeypatch.setattr(
        knowledge_actions,
        "answer_question",
        lambda kb, question: Answer(text="没有找到有把握的答案。", confident=False, confidence=0.1),
    )


async def test_the_intake_starts_with_the_predicted_type_and_department() -> None:
    conv = Conversation("web-described")
    conv.user(COMPLAINT, "complain")
    assert followup(await conv.run(ActionStartRequest())) == "workorder_form"
    routing = conv.slots["request_routing"]
    assert routing["request_type"] == "投诉" and routing["department_id"]
    assert routing["department"] in conv.text() and "投诉" in conv.text()


async def test_a_long_message_below_the_nlu_threshold_is_taken_up(unsure_knowledge: None) -> None:
    conv = Conversation("web-unclear")
    conv.user(NARRATIVE, "nlu_fallback")
    assert followup(await conv.run(ActionHandleUnclear())) == "workorder_form"
    assert conv.slots["matter"] and conv.slots["request_routing"]


async def test_a_short_unclear_message_is_asked_again() -> None:
    conv = Conversation("web-gibberish")
    conv.user("咕噜咕噜阿巴阿巴", "nlu_fallback")
    assert await conv.run(ActionHandleUnclear()) == []
    assert conv.said[0]["response"] == "utter_default"


async def test_a_consultation_without_a_sure_answer(unsure_knowledge: None) -> None:
    conv = Conversation("web-consult")
    conv.user("想问问我们小区旁边规划的那所小学什么时候开工建设，大概哪年能招生", "consult")
    assert followup(await conv.run(ActionAnswerKnowledge())) == "workorder_form"
    assert conv.slots["request_type"] == "咨询"
    conv.user("公积金怎么提取", "consult")  # a short question keeps the "not sure" offer
    assert followup(await conv.run(ActionAnswerKnowledge())) is None
    assert "我要登记工单" in [b["payload"] for b in conv.said[0]["buttons"]]


async def test_diversions_the_safety_rules_do_not_back_hand_the_matter_over() -> None:
    conv = Conversation("web-narrative")
    conv.user(NARRATIVE, "emergency")
    assert followup(await conv.run(ActionEmergencyDiversion())) == "action_answer_knowledge"
    assert conv.text() == JUST_IN_CASE
    conv.user(NARRATIVE, "out_of_scope")
    assert followup(await conv.run(ActionOutOfScopeGuidance())) == "action_answer_knowledge"
    conv.user("救命，楼道里着火了，浓烟滚滚", "emergency")
    assert followup(await conv.run(ActionEmergencyDiversion())) is None
    assert "119" in conv.text()


async def test_small_talk_heard_in_a_described_matter(unsure_knowledge: None) -> None:
    conv = Conversation("web-small-talk")
    conv.user(
        "请问我们村今年有没有拆迁计划？听说隔壁村都已经开始登记了，我们这边一直没有消息", "deny"
    )
    assert followup(await conv.run(ActionSmallTalk())) == "workorder_form"
    conv.user("谢谢，再见", "goodbye")
    assert await conv.run(ActionSmallTalk()) == []
    assert conv.said[0]["response"] == "utter_goodbye"


async def test_a_complaint_heard_as_a_merge_request_is_taken_up(unsure_knowledge: None) -> None:
    conv = Conversation("web-merge-heard")
    conv.user(COMPLAINT + "希望和邻居们反映的一并处理。", "merge_request")
    assert followup(await conv.run(ActionSmallTalk())) == "workorder_form"
    conv.user("能把我的工单合并一下吗", "merge_request")
    assert followup(await conv.run(ActionSmallTalk())) is None
    assert conv.said[-1]["response"] == "utter_merge_without_request"


async def test_a_complaint_that_only_gives_the_masked_place_keeps_the_question_before() -> None:
    """Asked about barbecue smoke first, the citizen complains with only the (masked) place:
    the matter is the question before, the place is the one given, nothing is asked twice."""
    conv = Conversation("web-masked-place")
    conv.user("楼下烧烤店的油烟太大了，晚上窗户都不敢开，这个归哪个部门管？", "consult")
    conv.user("我要投诉，地址在历下区****路**号", "complain")
    assert followup(await conv.run(ActionStartRequest())) == "workorder_form"
    assert conv.slots["location"] == "历下区****路**号"
    assert "烧烤店的油烟" in conv.slots["matter"]
    assert "城市管理局" in conv.slots["request_routing"]["department"]
