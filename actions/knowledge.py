"""Answers from the knowledge base for ask_standard, consult and ask_materials.

The action only relays what ``bot.knowledge`` composed from a cited record: the best entry
with its source, up to two alternatives as buttons, or — below the calibrated confidence —
a polite "not sure" with a 咨询 work order and a human agent offered instead of a guess —
or, for a message that describes a matter, the work-order intake started at once.
The entry a confident answer cites is kept in the ``answered_entry`` slot: a review of the
conversation (and ``make eval-dialogue``) sees what was answered without reading the reply.
The knowledge base is loaded once per action-server process: in the background when the
server starts (``KB_PRELOAD=1``, the default), otherwise on the first question.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import HotlineAction, latest_text
from actions.runtime import knowledge
from actions.workorders.request import start_request
from bot.knowledge.answer import answer_entry, answer_question
from bot.knowledge.editing.flags import flaggable
from bot.knowledge.models import Answer, Hit, Standard
from bot.knowledge.numbers import find_standard_numbers
from bot.knowledge.text import tokens
from bot.workorders.dialogue.intake import describes_matter

logger = logging.getLogger(__name__)

WORK_ORDER_BUTTON = {"title": "登记咨询工单", "payload": "我要登记工单"}
HUMAN_BUTTON = {"title": "转人工客服", "payload": "/ask_human"}
UNAVAILABLE = (
    "抱歉，知识库暂时无法查询。您可以稍后再问，也可以登记一张咨询工单，由相关部门专人答复您。"
)
MAX_BUTTON_TITLE = 28

# A question made only of these words has no topic yet: ask what it is about.
_GENERIC = frozenset(
    [
        "咨询",
        "标准",
        "国标",
        "材料",
        "资料",
        "办理",
        "政策",
        "事情",
        "事儿",
        "事",
        "个事",
        "想",
        "问",
        "问问",
        "问个",
        "请教",
        "了解",
        "查",
        "查个",
        "查查",
        "查询",
        "查一下",
        "帮忙",
        "帮我",
        "一件",
        "件事",
    ]
)
_ASK_DETAIL = {
    "consult": "utter_consult_received",
    "ask_standard": "utter_ask_standard_detail",
    "ask_materials": "utter_ask_materials_detail",
}


class ActionAnswerKnowledge(HotlineAction):
    def name(self) -> str:
        return "action_answer_knowledge"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        entities = _entities(tracker)
        question = _question(latest_text(tracker), entities)
        intent = str((tracker.latest_message.get("intent") or {}).get("name") or "")
        if "knowledge_id" not in entities and _is_vague(question):
            dispatcher.utter_message(response=_ASK_DETAIL.get(intent, "utter_consult_received"))
            return []
        try:
            kb = await knowledge().get()
            answer = None
            if "knowledge_id" in entities:
                answer = await asyncio.to_thread(answer_entry, kb, entities["knowledge_id"])
            if answer is None:
                answer = await asyncio.to_thread(answer_question, kb, question)
        except Exception:
            logger.exception("knowledge search failed")
            dispatcher.utter_message(text=UNAVAILABLE, buttons=[WORK_ORDER_BUTTON, HUMAN_BUTTON])
            return []
        logger.info(
            "knowledge answer: confident=%s confidence=%.3f citation=%s",
            answer.confident,
            answer.confidence,
            answer.citation.entry_id if answer.citation else None,
        )
        if answer.confident and answer.citation is not None:
            dispatcher.utter_message(
                text=answer.text,
                buttons=buttons_for(answer),
                json_message=flaggable(answer.citation.entry_id),
            )
            return [SlotSet("answered_entry", answer.citation.entry_id)]
        if describes_matter(question):
            # A described matter with no sure answer is a request for the departments to
            # answer or handle: take it up as a work order instead of a "not sure".
            return start_request(tracker, "咨询" if intent == "consult" else None, dispatcher)
        dispatcher.utter_message(text=answer.text, buttons=buttons_for(answer))
        return []


def buttons_for(answer: Answer) -> list[dict[str, str]]:
    buttons = [_alternative_button(hit, answer.confident) for hit in answer.alternatives]
    if not answer.confident:
        buttons += [WORK_ORDER_BUTTON, HUMAN_BUTTON]
    return buttons


def _alternative_button(hit: Hit, confident: bool) -> dict[str, str]:
    entry = hit.entry
    if isinstance(entry, Standard):
        label = f"{entry.number} {entry.title}"
        payload = "/ask_standard" + json.dumps(
            {"standard_number": entry.number}, ensure_ascii=False
        )
    else:
        label = entry.title
        payload = "/consult" + json.dumps({"knowledge_id": entry.id}, ensure_ascii=False)
    if len(label) > MAX_BUTTON_TITLE:
        label = label[: MAX_BUTTON_TITLE - 1] + "…"
    return {"title": f"{'相关：' if confident else '您是不是想问：'}{label}", "payload": payload}


def _entities(tracker: Tracker) -> dict[str, str]:
    found: dict[str, str] = {}
    for entity in tracker.latest_message.get("entities") or []:
        name, value = entity.get("entity"), entity.get("value")
        if isinstance(name, str) and isinstance(value, str) and value.strip():
            found.setdefault(name, value.strip())
    return found


def _question(text: str, entities: dict[str, str]) -> str:
    """The citizen's words; for a button payload (``/intent{…}``), the standard it names."""
    if text.startswith("/"):
        return entities.get("standard_number", "")
    number = entities.get("standard_number")
    if number and not find_standard_numbers(text):
        return f"{number} {text}"
    return text


def _is_vague(question: str) -> bool:
    if find_standard_numbers(question):
        return False
    return not [t for t in tokens(question) if t not in _GENERIC]
