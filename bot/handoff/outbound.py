"""What leaves the handoff domain: an agent's words to a citizen, and consoles' events.

Shared by the handoff, notes and calls services, which all speak to citizens as an agent
and keep the agents' consoles current; the channels themselves are the gateway's
(:class:`CitizenChannel`), the events travel on the bus so every replica hears them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from bot.clock import beijing_iso
from bot.conversation.transcript import TranscriptStore
from bot.handoff.actors import Actor
from bot.handoff.assist import Assistant
from bot.handoff.bus import Bus
from bot.handoff.feedback import Outcome, SuggestionLog

logger = logging.getLogger(__name__)


class CitizenChannel(Protocol):
    """Delivers a human's words or a handoff notice to the citizen, on their channel."""

    async def deliver(
        self,
        conversation_id: str,
        channel: str,
        kind: str,
        text: str,
        sender: str,
        row_id: int,
        state: str = "",
    ) -> bool:
        """``kind`` is ``agent`` (a human's words) or ``handoff`` (a notice; ``state`` is
        the new handoff state). True when the message went out (or on its way)."""
        ...


class Outbound:
    def __init__(
        self,
        transcript: TranscriptStore,
        bus: Bus,
        channel: CitizenChannel,
        suggestions: SuggestionLog,
        assistant: Assistant,
    ) -> None:
        self.transcript = transcript
        self.bus = bus
        self.channel = channel
        self.suggestions = suggestions
        self.assistant = assistant

    async def agent_says(
        self,
        conversation_id: str,
        channel: str,
        actor: Actor,
        text: str,
        suggestion_id: int | None,
    ) -> dict[str, Any]:
        """Records and delivers the agent's words; returns the row and its fate, with how
        far the agent kept to the suggestion they started from."""
        outcome: Outcome | None = None
        if suggestion_id is not None:
            outcome = await self.suggestions.sent(
                suggestion_id, conversation_id, actor.user_id, text
            )
        data: dict[str, Any] = {"agent_id": actor.user_id, "agent_name": actor.display_name}
        if outcome is not None:
            data.update(suggestion_id=suggestion_id, suggestion_outcome=outcome.value)
        row_id = await self.transcript.append(conversation_id, channel, "agent", text, data)
        delivered = await self.channel.deliver(
            conversation_id, channel, "agent", text, actor.display_name, row_id
        )
        return {
            "row_id": row_id,
            "delivered": delivered,
            "suggestion_outcome": outcome.value if outcome else None,
        }

    async def agent_left(self, conversation_id: str) -> None:
        """No agent works on the conversation any more: its suggestions are settled."""
        await self.suggestions.finish(conversation_id)
        self.assistant.forget(conversation_id)

    async def console(self, audience: str, event: dict[str, Any]) -> None:
        """A live event for consoles; a lost one only delays a refresh, so never raises."""
        try:
            await self.bus.publish({"kind": "console", "audience": audience, "event": event})
        except Exception:
            logger.exception("could not publish a console event")


def row_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A transcript row as consoles receive it (JSON-safe, no internal bookkeeping)."""
    created = row.get("created_at")
    data = row.get("data") or {}
    keep = {
        key: data[key]
        for key in (
            "handoff",
            "notice",
            "agent_name",
            "suggestion_outcome",
            "speaker",
            "asr",
            "note_id",
            "workorder_no",
            "order_no",
            "acceptance_no",
            "status",
            "delivered",
        )
        if key in data
    }
    return {
        "id": row.get("id"),
        "conversation_id": row.get("conversation_id"),
        "channel": row.get("channel"),
        "role": row.get("role"),
        "text": row.get("text") or "",
        "created_at": beijing_iso(created) if isinstance(created, datetime) else created,
        "data": keep,
    }
