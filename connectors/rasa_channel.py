"""Rasa input channel used by the gateway: REST behind a bearer token, with NLU details.

This module runs inside the Rasa runtime (Python 3.10, rasa 3.6), not in the project's
own venv, so it imports nothing but Rasa, Sanic and ``bot.rasa_turn`` (standard library
only; the console's event stream reads turns by the same rules). Rasa's stock REST channel
accepts anyone who can reach the port and answers with bot messages only; the gateway is the only
client meant to talk to Rasa, and the transcript and the supervisor console need what
Rasa understood (intent, confidence, entities, actions), so this channel returns both:
``{"messages": [...], "nlu": {...}, "actions": [...]}``.

``actions`` lists the actions run and, in order among them, the responses a custom action
uttered by name (see ``bot.rasa_turn``): whether the citizen got "没有完全理解" is told by
what was said, not by the intent (``action_handle_unclear`` takes up most nlu_fallback turns).
"""

from __future__ import annotations

import hmac
import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.rasa_turn import turn_actions, understanding
from connectors import rasa_action_check

logger = logging.getLogger(__name__)


class HotlineInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "hotline"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "HotlineInput":
        rasa_action_check.install()  # Rasa loads its channels before serving any turn
        return cls(token=str((credentials or {}).get("token") or ""))

    def __init__(self, token: str) -> None:
        self.token = token

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        supplied = header[7:] if header.startswith("Bearer ") else ""
        return bool(self.token) and hmac.compare_digest(supplied, self.token)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint("hotline_webhook", __name__)

        @blueprint.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @blueprint.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._authorised(request):
                return response.json({"error": "unauthorised"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            sender = body.get("sender")
            text = body.get("message")
            if not isinstance(sender, str) or not isinstance(text, str):
                return response.json({"error": "sender and message are required"}, status=400)
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else None
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        sender,
                        input_channel=self.name(),
                        metadata=metadata,
                    )
                )
            except CancelledError:
                logger.error("hotline channel: message handling timed out")
                return response.json({"error": "timeout"}, status=503)
            except Exception:
                logger.exception("hotline channel: message handling failed")
                return response.json({"error": "failure"}, status=500)
            details = await _turn_details(request, sender)
            return response.json({"messages": collector.messages, **details})

        return blueprint


async def _turn_details(request: Request, sender: str) -> Dict[str, Any]:
    """What Rasa understood in the turn just handled, read back from the tracker."""
    agent = getattr(request.app.ctx, "agent", None)
    if agent is None or agent.tracker_store is None:
        return {}
    tracker = await agent.tracker_store.retrieve(sender)
    if tracker is None:
        return {}
    return turn_details(tracker)


def turn_details(tracker: DialogueStateTracker) -> Dict[str, Any]:
    """The latest message's NLU result, and the actions and responses of its turn."""
    parse = tracker.latest_message.parse_data if tracker.latest_message else {}
    turn: List[Dict[str, Any]] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, (ActionExecuted, BotUttered)):
            turn.append(event.as_dict())
    turn.reverse()
    return {
        "nlu": understanding(parse),
        "actions": turn_actions(turn),
        "paused": tracker.is_paused(),
    }
