"""The citizen asks for a human (转人工): the gateway decides what happens next.

Whether a human can take over depends on the service hours, the agents on duty and the
queue, which only the gateway knows; this action hands the request over to it (a custom
payload the gateway replaces with the queue's answer). The gateway pauses this
conversation's tracker when the citizen is queued and resumes it when the bot gets the
conversation back, so no rule has to pause or resume here.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import HotlineAction
from bot.handoff.signal import HANDOFF_ACTION, handoff_request


class ActionHandoff(HotlineAction):
    def name(self) -> str:
        return HANDOFF_ACTION

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(json_message=handoff_request())
        return []
