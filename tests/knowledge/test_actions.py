"""The knowledge action, called the way the action server calls it, on the starter corpus."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.knowledge as knowledge_actions
from actions.knowledge import UNAVAILABLE, ActionAnswerKnowledge
from bot.knowledge.engine import KnowledgeBase
from bot.knowledge.runtime import LazyKnowledgeBase
from bot.settings import Settings


@pytest.fixture(autouse=True)
def knowledge(monkeypatch: pytest.MonkeyPatch, seeded_kb: KnowledgeBase) -> None:
    loaded = LazyKnowledgeBase(Settings(), knowledge_base=seeded_kb)
    monkeypatch.setattr(knowledge_actions, "knowledge", lambda: loaded)


def _tracker(text: str, intent: str, entities: list[dict[str, Any]] | None = None) -> Tracker:
    return Tracker(
        sender_id="kb-test",
        slots={},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 0.95},
            "entities": entities or [],
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def _run(tracker: Tracker) -> dict[str, Any]:
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerKnowledge().run(dispatcher, tracker, {})
    # An answer records which entry gave it (read by make eval-dialogue); nothing else
    # changes the conversation's state, and the reply is one message.
    assert [event["name"] for event in events] in ([], ["answered_entry"])
    assert len(dispatcher.messages) == 1
    message: dict[str, Any] = dispatcher.messages[0]
    return message


def _payload_json(payload: str) -> dict[str, str]:
    parsed: dict[str, str] = json.loads(payload[payload.index("{") :])
    return parsed


async def test_a_standard_question_is_answered_with_its_citation() -> None:
    message = await _run(
        _tracker(
            "GB/T 33358-2016是什么标准",
            "ask_standard",
            [{"entity": "standard_number", "value": "GB/T 33358-2016"}],
        )
    )
    text = message["text"]
    assert text.startswith(
        "据知识库记载，《政府热线服务规范》（GB/T 33358-2016）是国家标准，当前状态：现行。"
    )
    assert (
        "（依据：GB/T 33358-2016《政府热线服务规范》，现行，状态日期2017年7月1日；"
        "来源：全国标准信息公共服务平台公开信息）" in text
    )
    assert len(message["buttons"]) <= 2
    for button in message["buttons"]:
        assert button["title"].startswith("相关：")
        assert button["payload"].startswith(("/ask_standard{", "/consult{"))
        assert _payload_json(button["payload"])


async def test_a_consultation_gets_the_knowledge_point_and_its_source() -> None:
    message = await _run(_tracker("身份证丢了能在外地补办吗", "consult"))
    assert message["text"].startswith("据知识库记载，关于“身份证丢了怎么补办，在外地可以办吗”：")
    assert "（来源：" in message["text"]


async def test_an_obsolete_version_is_corrected() -> None:
    message = await _run(
        _tracker(
            "GB 5749-2006还有效吗",
            "ask_standard",
            [{"entity": "standard_number", "value": "GB 5749-2006"}],
        )
    )
    assert message["text"].startswith("据知识库记载，您提到的 GB 5749-2006")
    assert "GB 5749-2022《生活饮用水卫生标准》（现行）" in message["text"]


async def test_below_the_threshold_it_says_so_and_offers_a_work_order_or_a_human() -> None:
    message = await _run(_tracker("帮我推荐一部好看的电影", "consult"))
    assert message["text"].startswith("抱歉，这个问题我暂时没有找到有把握的答案")
    titles = [b["title"] for b in message["buttons"]]
    assert titles[-2:] == ["登记咨询工单", "转人工客服"]
    assert message["buttons"][-1]["payload"] == "/ask_human"


async def test_an_alternative_button_answers_that_entry() -> None:
    message = await _run(
        _tracker(
            '/consult{"knowledge_id":"kp-0054"}',
            "consult",
            [{"entity": "knowledge_id", "value": "kp-0054"}],
        )
    )
    assert message["text"].startswith(
        "据知识库记载，关于“家里暖气不热怎么办，室温达到多少算合格”："
    )
    standard = await _run(
        _tracker(
            '/ask_standard{"standard_number":"GB 5749-2022"}',
            "ask_standard",
            [{"entity": "standard_number", "value": "GB 5749-2022"}],
        )
    )
    assert standard["text"].startswith("据知识库记载，《生活饮用水卫生标准》（GB 5749-2022）")


async def test_a_question_without_a_topic_gets_asked_for_one() -> None:
    message = await _run(_tracker("我想咨询个事", "consult"))
    assert message["response"] == "utter_consult_received"
    standard = await _run(_tracker("查个国标", "ask_standard"))
    assert standard["response"] == "utter_ask_standard_detail"


async def test_when_the_knowledge_base_fails_the_citizen_still_gets_a_way_forward(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Broken(LazyKnowledgeBase):
        async def get(self) -> KnowledgeBase:
            raise RuntimeError("store unreachable")

    broken = Broken(Settings())
    monkeypatch.setattr(knowledge_actions, "knowledge", lambda: broken)
    message = await _run(_tracker("公积金怎么提取", "consult"))
    assert message["text"] == UNAVAILABLE
    assert [b["title"] for b in message["buttons"]] == ["登记咨询工单", "转人工客服"]
