"""Filing a request (``workorder_form``): starting it from the first message, reading the
answers, the summary with 并单 candidates, and filing, merging or dropping it."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import HotlineAction, latest_text
from actions.workorders.desk import get_desk
from actions.workorders.forms import (
    REQUEST_FORM,
    REQUEST_SLOTS,
    STOPPED_REQUEST,
    AskAction,
    PhoneValidation,
)
from actions.workorders.lookup import start_lookup
from actions.workorders.tracker import (
    entities,
    identity,
    intent,
    phones_in_message,
    previous_question,
    reset,
    specific_address,
    text_slot,
)
from bot.routing import classify
from bot.workorders.dialogue.answers import (
    CHOSEN_TYPE,
    CHOSEN_UNIT,
    Choice,
    Decision,
    Unclear,
    read_confidential,
    read_consent,
    read_decision,
    read_location,
    read_matter,
    read_name,
    read_request_type,
    read_unit,
    without_contact,
)
from bot.workorders.dialogue.intake import REQUEST_INTENTS, first_matter, without_place
from bot.workorders.dialogue.summary import (
    TYPE_QUESTION,
    UNIT_QUESTION,
    Draft,
    Routing,
    decision_buttons,
    field_buttons,
    route,
    summary_text,
    type_buttons,
    unit_buttons,
)
from bot.workorders.errors import WorkOrderError
from bot.workorders.models import CitizenRequest, MergeCandidate
from bot.workorders.numbers import find_number

logger = logging.getLogger(__name__)

CONTACT_NOTED = "好的，您的联系方式已记下。还需要知道事情发生的地点。"

AFTER_FILING = "如需补充情况，可以随时对我说“补充情况”；查询进度请发送工单号或受理号。"
RETRY_LATER = "请稍后再试，或直接拨打12345热线。"
WHAT_FOR = "收到。请问您是想反映问题、登记工单，还是查询已有工单的进度？"
WHAT_FOR_BUTTONS = [
    {"title": "反映问题", "payload": "我要登记工单"},
    {"title": "查询工单", "payload": "查询工单"},
]


def start_request(
    tracker: Tracker, stated_type: str | None, dispatcher: CollectingDispatcher | None = None
) -> list[EventType]:
    """Events that start the request form with what the message already says.

    When the message describes the matter, its predicted type and handling unit are kept
    in ``request_routing`` from the start (the summary predicts again from what the form
    collected) and, given a ``dispatcher``, told to the citizen before the first question.
    """
    text = latest_text(tracker)
    address = specific_address(text, entities(tracker))
    # "地址在历下区泉城路123号" names a place, not a matter: the matter is what remains.
    said_more = first_matter(without_place(text, address) if address else text) is not None
    matter = first_matter(text) if said_more else first_matter(previous_question(tracker))
    routing = route(classify(f"{matter}\n{address or ''}"), stated_type) if matter else None
    if routing is not None and dispatcher is not None:
        dispatcher.utter_message(text=intake_note(routing))
    return [
        *reset(*REQUEST_SLOTS, "requested_slot"),
        SlotSet("request_type", stated_type),
        SlotSet("matter", matter),
        SlotSet("location", address),
        SlotSet("request_routing", routing.to_json() if routing else None),
        FollowupAction(REQUEST_FORM),
    ]


def intake_note(routing: Routing) -> str:
    """What is known so far, in plain words; an unsure type or unit is not announced."""
    kind = "" if routing.type_unsure else f"初步归为“{routing.request_type}”类"
    unit = f"拟转{routing.department}办理" if routing.department else ""
    known = "，".join(part for part in (kind, unit) if part)
    said = f"您反映的情况{known}，" if known else ""
    return f"收到，我来帮您登记工单。{said}提交前会请您核对。还需要补充几项信息："


class ActionStartRequest(HotlineAction):
    """complain / report / seek_help / suggest / praise / register_request."""

    def name(self) -> str:
        return "action_start_request"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        classification = classify(latest_text(tracker))
        # Declined through the diversion actions, so the tracker shows where the citizen went.
        if classification.emergency is not None:
            return [FollowupAction("action_emergency_diversion")]
        if classification.out_of_scope is not None:
            return [FollowupAction("action_out_of_scope_guidance")]
        return start_request(tracker, REQUEST_INTENTS.get(intent(tracker)), dispatcher)


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
            specific_address(text, entities(tracker))
            or phones_in_message(tracker)
            or first_matter(text)
        ):
            return start_request(tracker, None, dispatcher)
        dispatcher.utter_message(text=WHAT_FOR, buttons=WHAT_FOR_BUTTONS)
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


class ValidateWorkorderForm(PhoneValidation):
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
                answer = without_contact(latest_text(tracker), entities(tracker))
                if not answer:
                    raise Unclear(CONTACT_NOTED)
                return {"location": read_location(answer)}
            except Unclear as exc:
                return self.refuse(dispatcher, "location", exc)
        if self.answering(tracker, "matter"):
            # a place named while describing the matter
            return {"location": specific_address(latest_text(tracker), entities(tracker))}
        return {"location": value}

    async def validate_citizen_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return self.read_answer("citizen_name", value, dispatcher, tracker, read_name)

    async def validate_consent_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return self.read_answer("consent_contact", value, dispatcher, tracker, read_consent)

    async def validate_confidential(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return self.read_answer("confidential", value, dispatcher, tracker, read_confidential)

    async def validate_request_decision(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        if not self.answering(tracker, "request_decision"):
            return {"request_decision": value}
        choosing = _choosing(tracker)
        if choosing is not None:
            return _read_choice(tracker, choosing)
        numbers = [candidate.number for candidate in _candidates(tracker)]
        try:
            decision = read_decision(latest_text(tracker), numbers)
        except Unclear as exc:
            return {"request_decision": None, "decision_prompt": {"unclear": exc.message}}
        if decision.choice is Choice.WHICH_FIELD:
            return {"request_decision": None, "decision_prompt": {"which_field": True}}
        if decision.choice is Choice.MODIFY and decision.target in CHOICE_SLOTS:
            return {"request_decision": None, "decision_prompt": {"choose": decision.target}}
        if decision.choice is Choice.MODIFY:
            return {"request_decision": None, "decision_prompt": None, decision.target: None}
        return {"request_decision": decision.encode()}


# What the citizen may choose at the summary, and the slot that keeps each choice.
CHOICE_SLOTS = {CHOSEN_TYPE: "chosen_request_type", CHOSEN_UNIT: "chosen_department"}


def _choosing(tracker: Tracker) -> str | None:
    """The choice the citizen was asked to make at the summary, if any."""
    prompt = tracker.get_slot("decision_prompt")
    choosing = prompt.get("choose") if isinstance(prompt, dict) else None
    return choosing if choosing in CHOICE_SLOTS else None


def _read_choice(tracker: Tracker, choosing: str) -> dict[str, Any]:
    """The type or unit chosen; the summary is then read back with it."""
    routing = _predicted(tracker)
    text = latest_text(tracker)
    try:
        if choosing == CHOSEN_TYPE:
            value = read_request_type(text, routing.request_type)
        else:
            value = read_unit(text, routing.units)
    except Unclear as exc:
        prompt = {"choose": choosing, "unclear": exc.message}
        return {"request_decision": None, "decision_prompt": prompt}
    return {"request_decision": None, "decision_prompt": None, CHOICE_SLOTS[choosing]: value}


class ActionAskRequestDecision(HotlineAction):
    """Reads the request back with the predicted type and handling unit, and offers 并单
    when an open order is about the same matter at the same place."""

    def name(self) -> str:
        return "action_ask_request_decision"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        prompt = tracker.get_slot("decision_prompt")
        prompt = prompt if isinstance(prompt, dict) else {}
        if prompt.get("which_field"):
            dispatcher.utter_message(text="好的，请问您要修改哪一项？", buttons=field_buttons())
            return [SlotSet("decision_prompt", None)]
        choosing = _choosing(tracker)
        if prompt.get("unclear") and choosing is None:
            dispatcher.utter_message(
                text=str(prompt["unclear"]), buttons=decision_buttons(_candidates(tracker))
            )
            return [SlotSet("decision_prompt", None)]
        predicted = _routing(tracker)
        if choosing is None and _chosen(tracker, predicted).type_unsure:
            choosing = CHOSEN_TYPE  # asked once, before the first read-back
        if choosing is not None:
            question = str(prompt.get("unclear") or "")
            if choosing == CHOSEN_TYPE:
                buttons = type_buttons()
                question = question or TYPE_QUESTION
            else:
                buttons = unit_buttons(predicted)
                question = question or UNIT_QUESTION
            dispatcher.utter_message(text=question, buttons=buttons)
            return [
                SlotSet("request_routing", predicted.to_json()),
                SlotSet("decision_prompt", {"choose": choosing}),
            ]
        routing = _chosen(tracker, predicted)
        candidates: list[MergeCandidate] = []
        if not _draft(tracker).confidential:  # a confidential request is never merged
            try:
                desk = await get_desk()
                candidates = await desk.merge_candidates(_citizen_request(tracker, routing))
            except WorkOrderError as exc:
                logger.info("merge candidates unavailable: %s", exc.code)
        dispatcher.utter_message(
            text=summary_text(_draft(tracker), routing, candidates),
            buttons=decision_buttons(candidates),
        )
        return [
            SlotSet("request_routing", predicted.to_json()),
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
            return reset(*REQUEST_SLOTS)  # the form was stopped
        decision = Decision.decode(raw)
        if decision.choice is Choice.CANCEL:
            dispatcher.utter_message(text=STOPPED_REQUEST)
            return reset(*REQUEST_SLOTS)
        request = _citizen_request(tracker, _chosen(tracker, _predicted(tracker)))
        try:
            desk = await get_desk()
            if decision.choice is Choice.MERGE:
                acceptance = await desk.merge(request, decision.target)
            else:
                acceptance = await desk.submit(request)
        except WorkOrderError as exc:
            dispatcher.utter_message(text=f"{exc.message}{RETRY_LATER}")
            return reset(*REQUEST_SLOTS)
        dispatcher.utter_message(text=f"{acceptance.message}\n{AFTER_FILING}")
        return [*reset(*REQUEST_SLOTS), SlotSet("ticket_number", acceptance.number)]


def _candidates(tracker: Tracker) -> list[MergeCandidate]:
    raw = tracker.get_slot("merge_options")
    if not isinstance(raw, list):
        return []
    return [MergeCandidate.from_json(item) for item in raw if isinstance(item, dict)]


def _draft(tracker: Tracker) -> Draft:
    return Draft(
        matter=text_slot(tracker, "matter"),
        location=text_slot(tracker, "location"),
        phone=text_slot(tracker, "phone_number"),
        name=text_slot(tracker, "citizen_name"),
        consent_contact=tracker.get_slot("consent_contact") is not False,
        confidential=tracker.get_slot("confidential") is True,
    )


def _citizen_request(tracker: Tracker, routing: Routing) -> CitizenRequest:
    draft = _draft(tracker)
    channel, channel_user = identity(tracker)
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
    """The prediction from what the form collected."""
    matter = text_slot(tracker, "matter")
    location = text_slot(tracker, "location")
    stated = text_slot(tracker, "request_type") or None
    return route(classify(f"{matter}\n{location}"), stated)


def _predicted(tracker: Tracker) -> Routing:
    """The prediction the summary read back (kept in ``request_routing``)."""
    data = tracker.get_slot("request_routing")
    return Routing.from_json(data) if isinstance(data, dict) else _routing(tracker)


def _chosen(tracker: Tracker, predicted: Routing) -> Routing:
    """What the work order carries: the prediction with the citizen's choices."""
    department = tracker.get_slot("chosen_department")
    return predicted.chosen(
        text_slot(tracker, "chosen_request_type") or None,
        department if isinstance(department, str) else None,
    )
