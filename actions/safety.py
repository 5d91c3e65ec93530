"""Actions for messages that must not enter the normal 12345 flow."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import HotlineAction, latest_text
from bot.safety import detect_emergency, emergency_reply, out_of_scope_reply


class ActionEmergencyDiversion(HotlineAction):
    """Sends the citizen to 110/119/120/122 at once; nothing is queued or ticketed."""

    def name(self) -> str:
        return "action_emergency_diversion"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(text=emergency_reply(detect_emergency(latest_text(tracker))))
        return []


class ActionOutOfScopeGuidance(HotlineAction):
    """Tells the citizen where a matter outside 12345's remit belongs."""

    def name(self) -> str:
        return "action_out_of_scope_guidance"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(text=out_of_scope_reply(latest_text(tracker)))
        return []
