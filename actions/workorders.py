"""The work-order dialogue: file a request, check, supplement and rate orders.

Four forms do the asking (domain.yml): ``workorder_form`` (诉求内容, 地点, 联系电话, 称呼,
consent, confidentiality, and the decision after the summary), ``ticket_form`` (a number,
or a phone and a proof of owning it), ``supplement_form`` and ``rating_form``. Each is
started by an ``action_start_*`` that takes over what the first message already says and
then hands over to the form (FollowupAction), or declines (an emergency or a matter outside
12345's remit is told its proper route instead). Answers are read by ``bot.dialogue``; the
work-order desk (``bot.workorders.desk``) does the filing, so a request is accepted with a
number even when the work-order system is down.
"""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions.base import HotlineAction, latest_text
from bot.dialogue.answers import (
    Choice,
    Decision,
    Unclear,
    find_rating,
    is_quit,
    read_confidential,
    read_consent,
    read_decision,
    read_location,
    read_matter,
    read_name,
    read_note,
    read_number,
    read_phone,
    read_rating,
    read_ticket_ref,
)
from bot.dialogue.intake import (
    REQUEST_INTENTS,
    address_from,
    first_comment,
    first_matter,
    first_supplement,
    location_spans,
)
from bot.dialogue.prompts import prompt_for
from bot.dialogue.summary import (
    Draft,
    Routing,
    decision_buttons,
    field_buttons,
    order_list_text,
    route,
    summary_text,
)
from bot.logs import conversation_context
from bot.routing import classify
from bot.safety import detect_emergency, emergency_reply, out_of_scope_reply
from bot.settings import Settings
from bot.workorders.desk import WorkOrderDesk
from bot.workorders.models import CitizenRequest, ContactProof, MergeCandidate, Rating
from bot.workorders.numbers import find_number, is_acceptance_no, is_order_no
from connectors.workorders import WorkOrderConflict, WorkOrderError, WorkOrderForbidden

logger = logging.getLogger(__name__)

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
)
LOOKUP_SLOTS = ("ticket_ref", "ticket_proof")
SUPPLEMENT_SLOTS = ("supplement_text",)
RATING_SLOTS = ("rating", "rating_comment")
ALL_TRANSIENT_SLOTS = REQUEST_SLOTS + LOOKUP_SLOTS + SUPPLEMENT_SLOTS + RATING_SLOTS

# Intents after which "我要登记工单" means: file what I just asked about.
QUESTION_INTENTS = frozenset({"consult", "ask_standard", "ask_materials", "ask_department"})

STOPPED_REQUEST = "好的，已停止登记，本次诉求没有提交。如有需要，随时可以再告诉我。"
STOPPED_OTHER = "好的，已停止。还有什么可以帮您？"
NOTHING_TO_STOP = "好的。目前没有正在进行的登记或查询，还有什么可以帮您？"
AFTER_FILING = "如需补充情况，可以随时对我说“补充情况”；查询进度请发送工单号或受理号。"
RETRY_LATER = "请稍后再试，或直接拨打12345热线。"
WHAT_FOR = "收到。请问您是想反映问题、登记工单，还是查询已有工单的进度？"
WHAT_FOR_BUTTONS = [
    {"title": "反映问题", "payload": "我要登记工单"},
    {"title": "查询工单", "payload": "查询工单"},
]


class DeskHolder:
    """One work-order desk per action-server process, opened on first use inside the
    server's event loop; it also runs the outbox relay, so requests accepted while the
    work-order system was down are delivered when it is back."""

    def __init__(self, settings: Callable[[], Settings]) -> None:
        self._settings = settings
        self._desk: WorkOrderDesk | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> WorkOrderDesk:
        async with self._lock:
            if self._desk is None:
                self._desk = await WorkOrderDesk.start(self._settings(), run_relay=True)
            return self._desk

    async def aclose(self) -> None:
        async with self._lock:
            if self._desk is not None:
                await self._desk.aclose()
                self._desk = None


DESKS = DeskHolder(Settings.from_env)


# -- reading the tracker ------------------------------------------------------------------


def _intent(tracker: Tracker) -> str:
    return str((tracker.latest_message.get("intent") or {}).get("name") or "")


def _entities(tracker: Tracker) -> list[dict[str, Any]]:
    return [e for e in tracker.latest_message.get("entities") or [] if isinstance(e, dict)]


def _phones_in_message(tracker: Tracker) -> list[str]:
    return [str(value) for value in tracker.get_latest_entity_values("phone_number") if value]


def _text_slot(tracker: Tracker, name: str) -> str:
    value = tracker.get_slot(name)
    return value if isinstance(value, str) else ""


def _identity(tracker: Tracker) -> tuple[str, str]:
    """The citizen's channel and their identity on it: a WeChat OpenID, or the web-chat
    conversation id (the page keeps it), so that status changes find them again."""
    sender = tracker.sender_id
    if sender.startswith("wx:"):
        return "wechat", sender[3:]
    metadata: dict[str, Any] = {}
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            metadata = event.get("metadata") or {}
            break
    return str(metadata.get("channel") or "webchat"), sender


def _previous_question(tracker: Tracker) -> str:
    """The citizen's message before the latest one, if it was a question (咨询)."""
    users = [event for event in tracker.events if event.get("event") == "user"]
    if len(users) < 2:
        return ""
    previous = users[-2]
    intent = str(((previous.get("parse_data") or {}).get("intent") or {}).get("name") or "")
    return str(previous.get("text") or "") if intent in QUESTION_INTENTS else ""


def _specific_address(text: str, entities: Sequence[dict[str, Any]]) -> str | None:
    """The address the message names, if it says more than a district (历下区 alone is
    too vague to send anyone to; the form then asks for the place)."""
    address = address_from(text, location_spans(entities))
    if not address or (len(address) <= 6 and address.endswith(("区", "县", "市"))):
        return None
    return address


def _reset(*names: str) -> list[EventType]:
    return [SlotSet(name, None) for name in names]


def _candidates(tracker: Tracker) -> list[MergeCandidate]:
    raw = tracker.get_slot("merge_options")
    if not isinstance(raw, list):
        return []
    return [MergeCandidate.from_json(item) for item in raw if isinstance(item, dict)]


def _draft(tracker: Tracker) -> Draft:
    return Draft(
        matter=_text_slot(tracker, "matter"),
        location=_text_slot(tracker, "location"),
        phone=_text_slot(tracker, "phone_number"),
        name=_text_slot(tracker, "citizen_name"),
        consent_contact=tracker.get_slot("consent_contact") is not False,
        confidential=tracker.get_slot("confidential") is True,
    )


def _citizen_request(tracker: Tracker, routing: Routing) -> CitizenRequest:
    draft = _draft(tracker)
    channel, channel_user = _identity(tracker)
    return CitizenRequest(
        content=draft.matter,
        phone=draft.phone,
        address=draft.location,
        district=routing.district,
        name=draft.name,
        request_type=routing.request_type,
        department=routing.department,
        confidential=draft.confidential,
        consent_to_contact=draft.consent_contact,
        channel=channel,
        channel_user=channel_user,
        conversation_id=tracker.sender_id,
    )


def _routing(tracker: Tracker) -> Routing:
    matter = _text_slot(tracker, "matter")
    location = _text_slot(tracker, "location")
    stated = _text_slot(tracker, "request_type") or None
    return route(classify(f"{matter}\n{location}"), stated)


# -- starting ------------------------------------------------------------------------------


def start_request(tracker: Tracker, stated_type: str | None) -> list[EventType]:
    """Events that start the request form with what the message already says."""
    text = latest_text(tracker)
    address = _specific_address(text, _entities(tracker))
    # "在历下区泉城路123号" names a place, not a matter: the matter is what remains.
    said_more = first_matter(text.replace(address, "") if address else text) is not None
    matter = first_matter(text) if said_more else first_matter(_previous_question(tracker))
    return [
        *_reset(*REQUEST_SLOTS, "requested_slot"),
        SlotSet("request_type", stated_type),
        SlotSet("matter", matter),
        SlotSet("location", address),
        FollowupAction(REQUEST_FORM),
    ]


def start_lookup(tracker: Tracker) -> list[EventType]:
    text = latest_text(tracker)
    ref = find_number(text)
    if ref is None and _phones_in_message(tracker):
        try:
            ref = read_phone(text, _phones_in_message(tracker))
        except Unclear:
            ref = None
    if ref is None:
        ref = _text_slot(tracker, "ticket_number") or None  # the order discussed just now
    return [
        *_reset(*LOOKUP_SLOTS, "requested_slot"),
        SlotSet("ticket_ref", ref),
        FollowupAction(TICKET_FORM),
    ]


def _number_and_phone(tracker: Tracker) -> list[EventType]:
    text = latest_text(tracker)
    events: list[EventType] = []
    number = find_number(text)
    if number is not None:
        events.append(SlotSet("ticket_number", number))
    phones = _phones_in_message(tracker)
    if phones:
        try:
            events.append(SlotSet("phone_number", read_phone(text, phones)))
        except Unclear:
            events.append(SlotSet("phone_number", None))
    return events


class ActionStartRequest(HotlineAction):
    """complain / report / seek_help / suggest / praise / register_request."""

    def name(self) -> str:
        return "action_start_request"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = latest_text(tracker)
        classification = classify(text)
        if classification.emergency is not None:
            dispatcher.utter_message(text=emergency_reply(classification.emergency))
            return []
        if classification.out_of_scope is not None:
            dispatcher.utter_message(text=out_of_scope_reply(text))
            return []
        return start_request(tracker, REQUEST_INTENTS.get(_intent(tracker)))


class ActionHandleInform(HotlineAction):
    """A detail given out of context: a number means "look it up"; a place, a phone or a
    description starts a request; anything else (a name, a time) is asked about."""

    def name(self) -> str:
        return "action_handle_inform"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = latest_text(tracker)
        if find_number(text) is not None:
            return start_lookup(tracker)
        if (
            _specific_address(text, _entities(tracker))
            or _phones_in_message(tracker)
            or first_matter(text)
        ):
            return start_request(tracker, None)
        dispatcher.utter_message(text=WHAT_FOR, buttons=WHAT_FOR_BUTTONS)
        return []


class ActionStartTicketLookup(HotlineAction):
    def name(self) -> str:
        return "action_start_ticket_lookup"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return start_lookup(tracker)


class ActionStartSupplement(HotlineAction):
    def name(self) -> str:
        return "action_start_supplement"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return [
            *_reset(*SUPPLEMENT_SLOTS, "requested_slot"),
            *_number_and_phone(tracker),
            SlotSet("supplement_text", first_supplement(latest_text(tracker))),
            FollowupAction(SUPPLEMENT_FORM),
        ]


class ActionStartRating(HotlineAction):
    def name(self) -> str:
        return "action_start_rating"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = latest_text(tracker)
        rating = find_rating(text)
        comment: str | None = None
        if rating is Rating.DISSATISFIED:
            comment = first_comment(text)
        elif rating is not None:
            comment = ""
        return [
            *_reset(*RATING_SLOTS, "requested_slot"),
            *_number_and_phone(tracker),
            SlotSet("rating", rating.value if rating else None),
            SlotSet("rating_comment", comment),
            FollowupAction(RATING_FORM),
        ]


class ActionStopForm(HotlineAction):
    """取消 / 不办了 inside any of the forms (or outside them)."""

    def name(self) -> str:
        return "action_stop_form"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return stop(dispatcher, tracker)


def stop(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    loop = tracker.active_loop_name
    if loop is None:
        dispatcher.utter_message(text=NOTHING_TO_STOP)
    else:
        dispatcher.utter_message(text=STOPPED_REQUEST if loop == REQUEST_FORM else STOPPED_OTHER)
    return [ActiveLoop(None), *_reset(*ALL_TRANSIENT_SLOTS, "requested_slot")]


# -- asking ---------------------------------------------------------------------------------


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
        prompt = prompt_for(self.key, _text_slot(tracker, "request_type"))
        dispatcher.utter_message(text=prompt.text, buttons=prompt.button_list())
        return []


class AskMatter(AskAction):
    key = "matter"


class AskLocation(AskAction):
    key = "location"


class AskPhone(AskAction):
    key = "phone_number"


class AskName(AskAction):
    key = "citizen_name"


class AskConsent(AskAction):
    key = "consent_contact"


class AskConfidential(AskAction):
    key = "confidential"


class AskTicketRef(AskAction):
    key = "ticket_ref"


class AskTicketProof(AskAction):
    key = "ticket_proof"


class AskSupplementNumber(AskAction):
    key = "supplement_form_ticket_number"


class AskSupplementPhone(AskAction):
    key = "supplement_form_phone_number"


class AskSupplementText(AskAction):
    key = "supplement_text"


class AskRatingNumber(AskAction):
    key = "rating_form_ticket_number"


class AskRatingPhone(AskAction):
    key = "rating_form_phone_number"


class AskRating(AskAction):
    key = "rating"


class AskRatingComment(AskAction):
    key = "rating_comment"


# -- validating answers --------------------------------------------------------------------


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
            if _intent(tracker) == "emergency" and tracker.get_slot("requested_slot"):
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

    @staticmethod
    def refuse(dispatcher: CollectingDispatcher, slot: str, exc: Unclear) -> dict[str, Any]:
        dispatcher.utter_message(text=exc.message)
        return {slot: None}

    def phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        if self.answering(tracker, "phone_number"):
            try:
                return {
                    "phone_number": read_phone(latest_text(tracker), _phones_in_message(tracker))
                }
            except Unclear as exc:
                return self.refuse(dispatcher, "phone_number", exc)
        try:
            return {"phone_number": read_phone(str(value or ""))}
        except Unclear:
            return {"phone_number": None}  # asked for in its turn

    def number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        text = latest_text(tracker) if self.answering(tracker, "ticket_number") else str(value)
        try:
            return {"ticket_number": read_number(text)}
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


class ValidateWorkorderForm(AnswerValidation):
    def name(self) -> str:
        return "validate_workorder_form"

    async def validate_matter(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        try:
            return {"matter": read_matter(str(value or ""))}
        except Unclear as exc:
            return self.refuse(dispatcher, "matter", exc)

    async def validate_location(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        if self.answering(tracker, "location"):
            try:
                return {"location": read_location(latest_text(tracker))}
            except Unclear as exc:
                return self.refuse(dispatcher, "location", exc)
        if self.answering(tracker, "matter"):
            # a place named while describing the matter
            return {"location": _specific_address(latest_text(tracker), _entities(tracker))}
        return {"location": value}

    async def validate_phone_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return self.phone(value, dispatcher, tracker)

    async def validate_citizen_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        if not self.answering(tracker, "citizen_name"):
            return {"citizen_name": value}
        try:
            return {"citizen_name": read_name(latest_text(tracker))}
        except Unclear as exc:
            return self.refuse(dispatcher, "citizen_name", exc)

    async def validate_consent_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        if not self.answering(tracker, "consent_contact"):
            return {"consent_contact": value}
        try:
            return {"consent_contact": read_consent(latest_text(tracker))}
        except Unclear as exc:
            return self.refuse(dispatcher, "consent_contact", exc)

    async def validate_confidential(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        if not self.answering(tracker, "confidential"):
            return {"confidential": value}
        try:
            return {"confidential": read_confidential(latest_text(tracker))}
        except Unclear as exc:
            return self.refuse(dispatcher, "confidential", exc)

    async def validate_request_decision(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        if not self.answering(tracker, "request_decision"):
            return {"request_decision": value}
        numbers = [candidate.number for candidate in _candidates(tracker)]
        try:
            decision = read_decision(latest_text(tracker), numbers)
        except Unclear as exc:
            return {"request_decision": None, "decision_prompt": {"unclear": exc.message}}
        if decision.choice is Choice.WHICH_FIELD:
            return {"request_decision": None, "decision_prompt": {"which_field": True}}
        if decision.choice is Choice.MODIFY:
            return {"request_decision": None, "decision_prompt": None, decision.target: None}
        return {"request_decision": decision.encode()}


class ValidateTicketForm(AnswerValidation):
    def name(self) -> str:
        return "validate_ticket_form"

    async def validate_ticket_ref(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        text = latest_text(tracker) if self.answering(tracker, "ticket_ref") else str(value)
        try:
            ref = read_ticket_ref(text, _phones_in_message(tracker))
        except Unclear as exc:
            return self.refuse(dispatcher, "ticket_ref", exc)
        if is_order_no(ref) or is_acceptance_no(ref):
            return {"ticket_ref": ref, "ticket_proof": ""}
        channel, channel_user = _identity(tracker)
        try:
            desk = await DESKS.get()
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
            desk = await DESKS.get()
            await desk.list_by_phone(
                _text_slot(tracker, "ticket_ref"), ContactProof(order_no=number)
            )
        except Unclear as exc:
            return self.refuse(dispatcher, "ticket_proof", exc)
        except WorkOrderForbidden as exc:
            dispatcher.utter_message(text=exc.message)
            return {"ticket_proof": None}
        except WorkOrderError:
            logger.info("verifying by number failed; the lookup action reports it")
        return {"ticket_proof": number}


class ValidateSupplementForm(AnswerValidation):
    def name(self) -> str:
        return "validate_supplement_form"

    async def validate_ticket_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return self.number(value, dispatcher, tracker)

    async def validate_phone_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return self.phone(value, dispatcher, tracker)

    async def validate_supplement_text(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        text = latest_text(tracker) if self.answering(tracker, "supplement_text") else str(value)
        try:
            return {"supplement_text": read_note(text, optional=False)}
        except Unclear as exc:
            return self.refuse(dispatcher, "supplement_text", exc)


class ValidateRatingForm(AnswerValidation):
    def name(self) -> str:
        return "validate_rating_form"

    async def validate_ticket_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return self.number(value, dispatcher, tracker)

    async def validate_phone_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return self.phone(value, dispatcher, tracker)

    async def validate_rating(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        text = latest_text(tracker) if self.answering(tracker, "rating") else str(value)
        try:
            rating = Rating(value) if value in set(Rating) else read_rating(text)
        except Unclear as exc:
            return self.refuse(dispatcher, "rating", exc)
        if rating is not Rating.DISSATISFIED:
            return {"rating": rating.value, "rating_comment": ""}
        # 不满意: ask why, unless the citizen already said
        return {
            "rating": rating.value,
            "rating_comment": tracker.get_slot("rating_comment") or None,
        }

    async def validate_rating_comment(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        if not self.answering(tracker, "rating_comment"):
            return {"rating_comment": value}
        try:
            return {"rating_comment": read_note(latest_text(tracker), optional=True)}
        except Unclear as exc:
            return self.refuse(dispatcher, "rating_comment", exc)


# -- the summary and the outcomes ----------------------------------------------------------


class ActionAskRequestDecision(HotlineAction):
    """Reads the request back with the predicted type and handling unit, and offers 并单
    when an open order is about the same matter at the same place."""

    def name(self) -> str:
        return "action_ask_request_decision"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        prompt = tracker.get_slot("decision_prompt")
        if isinstance(prompt, dict) and prompt.get("which_field"):
            dispatcher.utter_message(text="好的，请问您要修改哪一项？", buttons=field_buttons())
            return [SlotSet("decision_prompt", None)]
        if isinstance(prompt, dict) and prompt.get("unclear"):
            dispatcher.utter_message(
                text=str(prompt["unclear"]), buttons=decision_buttons(_candidates(tracker))
            )
            return [SlotSet("decision_prompt", None)]
        routing = _routing(tracker)
        candidates: list[MergeCandidate] = []
        if not _draft(tracker).confidential:  # a confidential request is never merged
            try:
                desk = await DESKS.get()
                candidates = await desk.merge_candidates(_citizen_request(tracker, routing))
            except WorkOrderError as exc:
                logger.info("merge candidates unavailable: %s", exc.code)
        dispatcher.utter_message(
            text=summary_text(_draft(tracker), routing, candidates),
            buttons=decision_buttons(candidates),
        )
        return [
            SlotSet("request_routing", routing.to_json()),
            SlotSet("merge_options", [candidate.to_json() for candidate in candidates]),
        ]


class ActionSubmitRequest(HotlineAction):
    """Files the confirmed request (or merges it, or drops it) and answers with the number
    and the deadline."""

    def name(self) -> str:
        return "action_submit_request"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        raw = tracker.get_slot("request_decision")
        if not isinstance(raw, str):
            return _reset(*REQUEST_SLOTS)  # the form was stopped
        decision = Decision.decode(raw)
        if decision.choice is Choice.CANCEL:
            dispatcher.utter_message(text=STOPPED_REQUEST)
            return _reset(*REQUEST_SLOTS)
        routing_data = tracker.get_slot("request_routing")
        routing = (
            Routing.from_json(routing_data) if isinstance(routing_data, dict) else _routing(tracker)
        )
        request = _citizen_request(tracker, routing)
        try:
            desk = await DESKS.get()
            if decision.choice is Choice.MERGE:
                acceptance = await desk.merge(request, decision.target)
            else:
                acceptance = await desk.submit(request)
        except WorkOrderError as exc:
            dispatcher.utter_message(text=f"{exc.message}{RETRY_LATER}")
            return _reset(*REQUEST_SLOTS)
        dispatcher.utter_message(text=f"{acceptance.message}\n{AFTER_FILING}")
        return [*_reset(*REQUEST_SLOTS), SlotSet("ticket_number", acceptance.number)]


class ActionCheckTicket(HotlineAction):
    def name(self) -> str:
        return "action_check_ticket"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        ref = _text_slot(tracker, "ticket_ref")
        proof = tracker.get_slot("ticket_proof")
        if not ref or proof is None:
            return _reset(*LOOKUP_SLOTS)
        events = _reset(*LOOKUP_SLOTS)
        try:
            desk = await DESKS.get()
            if is_order_no(ref) or is_acceptance_no(ref):
                phone = _text_slot(tracker, "phone_number") or None
                report = await desk.status(ref, phone)
                dispatcher.utter_message(text=report.message)
                events.append(SlotSet("ticket_number", report.number))
            else:
                if proof == "channel":
                    channel, channel_user = _identity(tracker)
                    contact = ContactProof(channel=channel, channel_user=channel_user)
                else:
                    contact = ContactProof(order_no=str(proof))
                reports = await desk.list_by_phone(ref, contact)
                dispatcher.utter_message(text=order_list_text(reports))
                events.append(SlotSet("phone_number", ref))
        except WorkOrderError as exc:
            dispatcher.utter_message(text=exc.message)
        return events


class ActionSupplementTicket(HotlineAction):
    def name(self) -> str:
        return "action_supplement_ticket"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        number = _text_slot(tracker, "ticket_number")
        phone = _text_slot(tracker, "phone_number")
        text = _text_slot(tracker, "supplement_text")
        if not (number and phone and text):
            return _reset(*SUPPLEMENT_SLOTS)
        try:
            desk = await DESKS.get()
            view = await desk.supplement(number, phone, text)
        except WorkOrderError as exc:
            dispatcher.utter_message(text=exc.message)
            return _reset(*SUPPLEMENT_SLOTS)
        dispatcher.utter_message(
            text=f"已将您补充的情况添加到工单 {view.order_no}，承办单位会一并办理。\n"
            + desk.describe(view)
        )
        return _reset(*SUPPLEMENT_SLOTS)


class ActionRateTicket(HotlineAction):
    def name(self) -> str:
        return "action_rate_ticket"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        number = _text_slot(tracker, "ticket_number")
        phone = _text_slot(tracker, "phone_number")
        rating = _text_slot(tracker, "rating")
        if not (number and phone and rating):
            return _reset(*RATING_SLOTS)
        try:
            desk = await DESKS.get()
            view = await desk.rate(
                number, phone, Rating(rating), _text_slot(tracker, "rating_comment")
            )
        except WorkOrderConflict as exc:
            dispatcher.utter_message(
                text=f"这件工单目前还不能评价：{exc.message}承办单位答复后会通知您，届时再评价即可。"
            )
            return _reset(*RATING_SLOTS)
        except WorkOrderError as exc:
            dispatcher.utter_message(text=exc.message)
            return _reset(*RATING_SLOTS)
        if Rating(rating) is Rating.DISSATISFIED:
            head = (
                f"收到您的评价，很抱歉这次没能让您满意。工单 {view.order_no} 已退回重新办理（重办），"
                "有新的进展会及时告诉您。"
            )
        else:
            head = "感谢您的评价！"
        dispatcher.utter_message(text=f"{head}\n{desk.describe(view)}")
        return _reset(*RATING_SLOTS)
