"""Checking orders (``ticket_form``): by a GD/SL number, or by a phone once the citizen
shows it is theirs (the channel they filed from, or the number of one of its orders)."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import HotlineAction, latest_text
from actions.workorders.desk import get_desk
from actions.workorders.forms import LOOKUP_SLOTS, TICKET_FORM, AnswerValidation, AskAction
from actions.workorders.tracker import identity, phones_in_message, reset, text_slot
from bot.workorders.dialogue.answers import Unclear, read_number, read_phone, read_ticket_ref
from bot.workorders.dialogue.own_request import is_public_progress_question
from bot.workorders.dialogue.summary import order_list_text
from bot.workorders.errors import WorkOrderError, WorkOrderForbidden
from bot.workorders.models import ContactProof
from bot.workorders.numbers import find_number, is_acceptance_no, is_order_no

logger = logging.getLogger(__name__)


def start_lookup(tracker: Tracker) -> list[EventType]:
    text = latest_text(tracker)
    ref = find_number(text)
    if ref is None:
        # A phone in the request is looked up at once, whether or not the NLU tagged it:
        # asking "请提供工单号" after "用13912345678查工单" reads as not listening.
        try:
            ref = read_phone(text, phones_in_message(tracker))
        except Unclear:
            ref = None
    if ref is None:
        ref = text_slot(tracker, "ticket_number") or None  # the order discussed just now
    return [
        *reset(*LOOKUP_SLOTS, "requested_slot"),
        SlotSet("ticket_ref", ref),
        FollowupAction(TICKET_FORM),
    ]


class ActionStartTicketLookup(HotlineAction):
    def name(self) -> str:
        return "action_start_ticket_lookup"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if is_public_progress_question(latest_text(tracker)):
            # "地铁8号线什么时候通车" is a 咨询 for the department, not the citizen's order.
            return [FollowupAction("action_answer_department")]
        return start_lookup(tracker)


class AskTicketRef(AskAction):
    key = "ticket_ref"


class AskTicketProof(AskAction):
    key = "ticket_proof"


class ValidateTicketForm(AnswerValidation):
    def name(self) -> str:
        return "validate_ticket_form"

    async def validate_ticket_ref(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        text = self.answer_text(tracker, "ticket_ref", value)
        try:
            ref = read_ticket_ref(text, phones_in_message(tracker))
        except Unclear as exc:
            return self.refuse(dispatcher, "ticket_ref", exc)
        if is_order_no(ref) or is_acceptance_no(ref):
            return {"ticket_ref": ref, "ticket_proof": ""}
        channel, channel_user = identity(tracker)
        try:
            desk = await get_desk()
            await desk.list_by_phone(ref, ContactProof(channel=channel, channel_user=channel_user))
        except WorkOrderForbidden:
            return {"ticket_ref": ref, "ticket_proof": None}  # ask for a number as proof
        except WorkOrderError:
            logger.info("listing by phone failed; the lookup action reports it")
        return {"ticket_ref": ref, "ticket_proof": "channel"}

    async def validate_ticket_proof(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        if not self.answering(tracker, "ticket_proof"):
            return {"ticket_proof": value}
        try:
            number = read_number(latest_text(tracker))
            desk = await get_desk()
            await desk.list_by_phone(
                text_slot(tracker, "ticket_ref"), ContactProof(order_no=number)
            )
        except Unclear as exc:
            return self.refuse(dispatcher, "ticket_proof", exc)
        except WorkOrderForbidden as exc:
            dispatcher.utter_message(text=exc.message)
            return {"ticket_proof": None}
        except WorkOrderError:
            logger.info("verifying by number failed; the lookup action reports it")
        return {"ticket_proof": number}


class ActionCheckTicket(HotlineAction):
    def name(self) -> str:
        return "action_check_ticket"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        ref = text_slot(tracker, "ticket_ref")
        proof = tracker.get_slot("ticket_proof")
        if not ref or proof is None:
            return reset(*LOOKUP_SLOTS)
        events = reset(*LOOKUP_SLOTS)
        try:
            desk = await get_desk()
            if is_order_no(ref) or is_acceptance_no(ref):
                phone = text_slot(tracker, "phone_number") or None
                report = await desk.status(ref, phone)
                dispatcher.utter_message(text=report.message)
                events.append(SlotSet("ticket_number", report.number))
            else:
                if proof == "channel":
                    channel, channel_user = identity(tracker)
                    contact = ContactProof(channel=channel, channel_user=channel_user)
                else:
                    contact = ContactProof(order_no=str(proof))
                reports = await desk.list_by_phone(ref, contact)
                dispatcher.utter_message(text=order_list_text(reports))
                events.append(SlotSet("phone_number", ref))
        except WorkOrderError as exc:
            dispatcher.utter_message(text=exc.message)
        return events
