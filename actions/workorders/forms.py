"""What the four work-order forms share: their names and slots, asking a question,
validating an answer, and stopping."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions.base import HotlineAction, latest_text
from actions.workorders.tracker import intent, phones_in_message, reset, text_slot
from bot.logs import conversation_context
from bot.safety import detect_emergency, emergency_reply
from bot.workorders.dialogue.answers import Unclear, is_quit, read_number, read_phone
from bot.workorders.dialogue.prompts import prompt_for

REQUEST_FORM = "workorder_form"
TICKET_FORM = "ticket_form"
SUPPLEMENT_FORM = "supplement_form"
RATING_FORM = "rating_form"

# Slots that describe one request; cleared when it is filed or dropped. The phone and the
# name stay: they belong to the citizen, not to the request.
REQUEST_SLOTS = (
    "request_type",
    "matter",
    "location",
    "consent_contact",
    "confidential",
    "request_decision",
    "decision_prompt",
    "request_routing",
    "merge_options",
    "chosen_request_type",
    "chosen_department",
)
LOOKUP_SLOTS = ("ticket_ref", "ticket_proof")
SUPPLEMENT_SLOTS = ("supplement_text",)
RATING_SLOTS = ("rating", "rating_comment")
ALL_TRANSIENT_SLOTS = REQUEST_SLOTS + LOOKUP_SLOTS + SUPPLEMENT_SLOTS + RATING_SLOTS

STOPPED_REQUEST = "好的，已停止登记，本次诉求没有提交。如有需要，随时可以再告诉我。"
STOPPED_OTHER = "好的，已停止。还有什么可以帮您？"
NOTHING_TO_STOP = "好的。目前没有正在进行的登记或查询，还有什么可以帮您？"


def stop(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    loop = tracker.active_loop_name
    if loop is None:
        dispatcher.utter_message(text=NOTHING_TO_STOP)
    else:
        dispatcher.utter_message(text=STOPPED_REQUEST if loop == REQUEST_FORM else STOPPED_OTHER)
    return [ActiveLoop(None), *reset(*ALL_TRANSIENT_SLOTS, "requested_slot")]


class ActionStopForm(HotlineAction):
    """取消 / 不办了 inside any of the forms (or outside them)."""

    def name(self) -> str:
        return "action_stop_form"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return stop(dispatcher, tracker)


class AskAction(HotlineAction):
    """Asks one of the forms' questions (``action_ask_<key>``, found by Rasa's forms)."""

    @property
    @abstractmethod
    def key(self) -> str:
        """The slot asked for, or ``<form>_<slot>`` when two forms ask differently."""

    def name(self) -> str:
        return f"action_ask_{self.key}"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        prompt = prompt_for(self.key, text_slot(tracker, "request_type"))
        dispatcher.utter_message(text=prompt.text, buttons=prompt.button_list())
        return []


class AnswerValidation(FormValidationAction):
    """Shared by the forms: scoped logs; a whole-message 不办了 / 取消 ends the form even
    when the NLU did not recognise it as stop_request; and an answer the NLU takes for an
    emergency gets the emergency numbers as well. (The gateway's rules divert emergencies
    before Rasa; inside a form the NLU alone mostly mistakes descriptions such as
    "油烟还是很大" for one, and dropping the citizen's answer would help nobody.)"""

    @abstractmethod
    def name(self) -> str:
        """Abstract, so that rasa-sdk's scan for actions skips this base."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        with conversation_context(tracker.sender_id):
            if tracker.get_slot("requested_slot") and is_quit(latest_text(tracker)):
                stopped = stop(dispatcher, tracker)
                # The form ends because nothing is requested any more; its completion
                # action then finds the slots empty and does nothing.
                return [event for event in stopped if event.get("event") == "slot"]
            if intent(tracker) == "emergency" and tracker.get_slot("requested_slot"):
                text = latest_text(tracker)
                dispatcher.utter_message(text=emergency_reply(detect_emergency(text)))
            _drop_cleared_candidates(tracker)
            events: list[EventType] = await super().run(dispatcher, tracker, domain)
            return events

    @staticmethod
    def answering(tracker: Tracker, slot: str) -> bool:
        """Whether the latest message answers the question for ``slot`` (else the value was
        filled before the form started, or came along with another answer)."""
        return bool(tracker.get_slot("requested_slot") == slot)

    def answer_text(self, tracker: Tracker, slot: str, value: Any) -> str:
        """The whole message when it answers ``slot``; else the value extracted for it."""
        return latest_text(tracker) if self.answering(tracker, slot) else str(value)

    @staticmethod
    def refuse(dispatcher: CollectingDispatcher, slot: str, exc: Unclear) -> dict[str, Any]:
        dispatcher.utter_message(text=exc.message)
        return {slot: None}

    def read_answer(
        self,
        slot: str,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        read: Callable[[str], Any],
    ) -> dict[str, Any]:
        """A slot only the question fills: a value that came along earlier is kept as is,
        an answer is read from the whole message (or refused, and asked again)."""
        if not self.answering(tracker, slot):
            return {slot: value}
        try:
            return {slot: read(latest_text(tracker))}
        except Unclear as exc:
            return self.refuse(dispatcher, slot, exc)


class PhoneValidation(AnswerValidation):
    """The forms that ask for the citizen's phone."""

    async def validate_phone_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        if self.answering(tracker, "phone_number"):
            try:
                return {
                    "phone_number": read_phone(latest_text(tracker), phones_in_message(tracker))
                }
            except Unclear as exc:
                return self.refuse(dispatcher, "phone_number", exc)
        try:
            return {"phone_number": read_phone(str(value or ""))}
        except Unclear:
            return {"phone_number": None}  # asked for in its turn


class FollowUpValidation(PhoneValidation):
    """The forms about an existing order: its number and the phone that proves it is theirs."""

    async def validate_ticket_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        try:
            return {"ticket_number": read_number(self.answer_text(tracker, "ticket_number", value))}
        except Unclear as exc:
            if self.answering(tracker, "ticket_number"):
                return self.refuse(dispatcher, "ticket_number", exc)
            return {"ticket_number": None}


def _drop_cleared_candidates(tracker: Tracker) -> None:
    """Rasa hands the validation every slot set since the citizen's message, including the
    ones a start action cleared (set to None): there is nothing to check in those."""
    events = tracker.events
    first = len(events)
    while first > 0 and events[first - 1].get("event") == "slot":
        first -= 1
    tracker.events = events[:first] + [e for e in events[first:] if e.get("value") is not None]
