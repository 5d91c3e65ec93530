"""Actions for messages that must not enter the normal 12345 flow."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.base import HotlineAction, latest_text
from bot.safety import detect_emergency, detect_out_of_scope, emergency_reply, out_of_scope_reply
from bot.workorders.dialogue.intake import describes_matter

JUST_IN_CASE = "如果现在情况紧急，请立即拨打110、119、120或122。您反映的问题，我先帮您处理。"
# Sent with the emergency reply: the web chat shows the reply as an alert, as it does the
# gateway's own emergency answer (status "emergency").
EMERGENCY_MARK = {"emergency": True}


class ActionEmergencyDiversion(HotlineAction):
    """Sends the citizen to 110/119/120/122 at once; nothing is queued or ticketed."""

    def name(self) -> str:
        return "action_emergency_diversion"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = latest_text(tracker)
        emergency = detect_emergency(text)
        if emergency is None and describes_matter(text):
            # The NLU heard danger in a narrative that the safety rules read as past,
            # hypothetical or a hazard: the numbers are given, and the matter is taken up.
            dispatcher.utter_message(text=JUST_IN_CASE)
            return [FollowupAction("action_answer_knowledge")]
        dispatcher.utter_message(text=emergency_reply(emergency), json_message=EMERGENCY_MARK)
        return []


class ActionOutOfScopeGuidance(HotlineAction):
    """Tells the citizen where a matter outside 12345's remit belongs."""

    def name(self) -> str:
        return "action_out_of_scope_guidance"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = latest_text(tracker)
        if detect_out_of_scope(text) is None and describes_matter(text):
            # Only the legal and petition routes are outside the remit, and the rules name
            # them; a described matter they do not name is one for 12345.
            return [FollowupAction("action_answer_knowledge")]
        dispatcher.utter_message(text=out_of_scope_reply(text))
        return []
