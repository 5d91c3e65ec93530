"""The base of every project action: the conversation id on every log line it writes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.logs import conversation_context


class HotlineAction(Action, ABC):  # type: ignore[misc]
    """Subclasses implement ``respond``; ``run`` scopes the logs to the conversation.

    Abstract, so that rasa-sdk's scan for actions does not register the base itself.
    """

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        with conversation_context(tracker.sender_id):
            return await self.respond(dispatcher, tracker, domain)

    @abstractmethod
    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]: ...


def latest_text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")
