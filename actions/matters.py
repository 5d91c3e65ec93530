"""Messages that describe a matter whatever the NLU made of them.

Real first messages are long and full of background; the NLU may be unsure of them
(nlu_fallback) or hear small talk in them ("…麻烦尽快处理，谢谢！" as thank, "…有没有拆迁
计划？" as deny). A message long enough to describe a matter (``describes_matter``) is then
treated as one: answered when the knowledge base is sure, else taken up as a work order
(``ActionAnswerKnowledge``). Only short messages get the small-talk reply or "没有完全理解".
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import latest_text
from actions.knowledge import ActionAnswerKnowledge
from bot.workorders.dialogue.intake import describes_matter

SMALL_TALK = {
    "greet": "utter_greet",
    "goodbye": "utter_goodbye",
    "thank": "utter_you_are_welcome",
    "affirm": "utter_affirm_ack",
    "deny": "utter_deny_ack",
    # "合并" / "一并处理" inside a long complaint is not a request to merge work orders.
    "merge_request": "utter_merge_without_request",
}


class ActionHandleUnclear(ActionAnswerKnowledge):
    """nlu_fallback: a described matter is answered or taken up; a short message is asked
    to be said another way."""

    def name(self) -> str:
        return "action_handle_unclear"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if describes_matter(latest_text(tracker)):
            return await super().respond(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_default")
        return []


class ActionSmallTalk(ActionAnswerKnowledge):
    """greet, goodbye, thank, affirm, deny and a merge asked for on its own: the usual reply,
    unless the message describes a matter."""

    def name(self) -> str:
        return "action_small_talk"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if describes_matter(latest_text(tracker)):
            return await super().respond(dispatcher, tracker, domain)
        intent = str((tracker.latest_message.get("intent") or {}).get("name") or "")
        dispatcher.utter_message(response=SMALL_TALK.get(intent, "utter_affirm_ack"))
        return []
