"""Reading what the work-order forms need from Rasa's tracker, and clearing slots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from actions.base import latest_text
from bot import wechat
from bot.workorders.dialogue.answers import Unclear, read_phone
from bot.workorders.dialogue.intake import address_from, is_only_a_district, place_spans
from bot.workorders.numbers import find_number

# Intents after which "我要登记工单" means: file what I just asked about.
QUESTION_INTENTS = frozenset({"consult", "ask_standard", "ask_materials", "ask_department"})


def intent(tracker: Tracker) -> str:
    return str((tracker.latest_message.get("intent") or {}).get("name") or "")


def entities(tracker: Tracker) -> list[dict[str, Any]]:
    return [e for e in tracker.latest_message.get("entities") or [] if isinstance(e, dict)]


def phones_in_message(tracker: Tracker) -> list[str]:
    return [str(value) for value in tracker.get_latest_entity_values("phone_number") if value]


def text_slot(tracker: Tracker, name: str) -> str:
    value = tracker.get_slot(name)
    return value if isinstance(value, str) else ""


def identity(tracker: Tracker) -> tuple[str, str]:
    """The citizen's channel and their identity on it: a WeChat OpenID, or the web-chat
    conversation id (the page keeps it), so that status changes find them again."""
    sender = tracker.sender_id
    openid = wechat.openid_of(sender)
    if openid is not None:
        return wechat.CHANNEL, openid
    metadata: dict[str, Any] = {}
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            metadata = event.get("metadata") or {}
            break
    return str(metadata.get("channel") or "webchat"), sender


def previous_question(tracker: Tracker) -> str:
    """The citizen's message before the latest one, if it was a question (咨询)."""
    users = [event for event in tracker.events if event.get("event") == "user"]
    if len(users) < 2:
        return ""
    previous = users[-2]
    name = str(((previous.get("parse_data") or {}).get("intent") or {}).get("name") or "")
    return str(previous.get("text") or "") if name in QUESTION_INTENTS else ""


def specific_address(text: str, found: Sequence[dict[str, Any]]) -> str | None:
    """The address the message names, if it says more than a district (历下区 alone is
    too vague to send anyone to; the form then asks for the place)."""
    address = address_from(text, place_spans(text, found))
    if not address or is_only_a_district(address):
        return None
    return address


def number_and_phone(tracker: Tracker) -> list[EventType]:
    """Slots for an order number and a phone the message already gives (follow-up forms)."""
    text = latest_text(tracker)
    events: list[EventType] = []
    number = find_number(text)
    if number is not None:
        events.append(SlotSet("ticket_number", number))
    phones = phones_in_message(tracker)
    if phones:
        try:
            events.append(SlotSet("phone_number", read_phone(text, phones)))
        except Unclear:
            events.append(SlotSet("phone_number", None))
    return events


def reset(*names: str) -> list[EventType]:
    return [SlotSet(name, None) for name in names]
