"""The citizen-facing answer to "这事归哪个部门管"."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.routing import ActionAnswerDepartment


def _tracker(text: str) -> Tracker:
    return Tracker(
        sender_id="routing-1",
        slots={},
        latest_message={"text": text, "intent": {"name": "ask_department", "confidence": 0.9}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def _answer(text: str) -> dict:
    dispatcher = CollectingDispatcher()
    await ActionAnswerDepartment().run(dispatcher, _tracker(text), {})
    return dispatcher.messages[0]


async def test_a_described_matter_is_routed_in_one_plain_sentence() -> None:
    message = await _answer("我们小区暖气一点都不热，这事归哪个部门管")
    assert message["text"].startswith(
        "这类事项一般由济南热力集团（济南能源集团供热单位）负责办理。"
    )
    assert "工单" in message["text"]
    for reasoning in ("置信度", "关键词", "典型事项", "职责", "模型"):
        assert reasoning not in message["text"]


async def test_a_bare_question_asks_for_details() -> None:
    message = await _answer("这事归哪个部门管")
    assert message["response"] == "utter_ask_department_detail"


async def test_an_emergency_is_never_routed_to_a_department() -> None:
    message = await _answer("楼下着火了归谁管")
    assert "119" in message["text"]
