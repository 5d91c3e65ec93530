"""Adding to an order (``supplement_form``): its number, the citizen's phone, the text."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import HotlineAction, latest_text
from actions.workorders.desk import get_desk
from actions.workorders.forms import (
    SUPPLEMENT_FORM,
    SUPPLEMENT_SLOTS,
    AskAction,
    FollowUpValidation,
)
from actions.workorders.tracker import number_and_phone, reset, text_slot
from bot.workorders.dialogue.answers import Unclear, read_note
from bot.workorders.dialogue.intake import first_supplement
from bot.workorders.errors import WorkOrderError


class ActionStartSupplement(HotlineAction):
    def name(self) -> str:
        return "action_start_supplement"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return [
            *reset(*SUPPLEMENT_SLOTS, "requested_slot"),
            *number_and_phone(tracker),
            SlotSet("supplement_text", first_supplement(latest_text(tracker))),
            FollowupAction(SUPPLEMENT_FORM),
        ]


class AskSupplementNumber(AskAction):
    key = "supplement_form_ticket_number"


class AskSupplementPhone(AskAction):
    key = "supplement_form_phone_number"


class AskSupplementText(AskAction):
    key = "supplement_text"


class ValidateSupplementForm(FollowUpValidation):
    def name(self) -> str:
        return "validate_supplement_form"

    async def validate_supplement_text(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        text = self.answer_text(tracker, "supplement_text", value)
        try:
            return {"supplement_text": read_note(text, optional=False)}
        except Unclear as exc:
            return self.refuse(dispatcher, "supplement_text", exc)


class ActionSupplementTicket(HotlineAction):
    def name(self) -> str:
        return "action_supplement_ticket"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        number = text_slot(tracker, "ticket_number")
        phone = text_slot(tracker, "phone_number")
        text = text_slot(tracker, "supplement_text")
        if not (number and phone and text):
            return reset(*SUPPLEMENT_SLOTS)
        try:
            desk = await get_desk()
            view = await desk.supplement(number, phone, text)
        except WorkOrderError as exc:
            dispatcher.utter_message(text=exc.message)
            return reset(*SUPPLEMENT_SLOTS)
        dispatcher.utter_message(
            text=f"已将您补充的情况添加到工单 {view.order_no}，承办单位会一并办理。\n"
            + desk.describe(view)
        )
        return reset(*SUPPLEMENT_SLOTS)
