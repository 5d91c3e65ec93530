"""Answers "which department handles this?" from the dispatch catalogue."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
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
        answer = department_answer(classify(latest_text(tracker)))
        if answer is None:
            dispatcher.utter_message(response="utter_ask_department_detail")
        else:
            dispatcher.utter_message(text=answer)
        return []
