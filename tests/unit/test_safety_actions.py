"""The safety actions, called the way the action server calls them."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.safety import ActionEmergencyDiversion, ActionOutOfScopeGuidance


def _tracker(text: str, intent: str) -> Tracker:
    return Tracker(
        sender_id="unit-1",
        slots={},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def test_emergency_action_names_the_number() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionEmergencyDiversion().run(
        dispatcher, _tracker("有人拿刀抢劫", "emergency"), {}
    )
    assert events == []
    assert "110" in dispatcher.messages[0]["text"]


async def test_out_of_scope_action_gives_the_route() -> None:
    dispatcher = CollectingDispatcher()
    await ActionOutOfScopeGuidance().run(
        dispatcher, _tracker("我想申请政府信息公开", "out_of_scope"), {}
    )
    assert "政府信息公开条例" in dispatcher.messages[0]["text"]
