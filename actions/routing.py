"""Answers "which department handles this?" from the dispatch catalogue.

The unit named is kept in the ``answered_department`` slot, so that a review of the
conversation (and ``make eval-dialogue``) sees what the citizen was told without reading it.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import HotlineAction, latest_text
from bot.routing import classify
from bot.routing.answer import department_answer


class ActionAnswerDepartment(HotlineAction):
    def name(self) -> str:
        return "action_answer_department"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        result = classify(latest_text(tracker))
        answer = department_answer(result)
        if answer is None:
            dispatcher.utter_message(response="utter_ask_department_detail")
            return []
        dispatcher.utter_message(text=answer)
        return (
            []
            if result.department is None
            else [SlotSet("answered_department", result.department.id)]
        )
