"""What a reopened web-chat page shows: the conversation so far, from the stored transcript.

The page keeps nothing but the conversation id, so a reload, a second tab or a phone that
dropped the page would otherwise lose the work-order number and the agent's answers. The
transcript is the record; this module picks from it what the citizen saw, in the page's
terms. Agent messages and handoff notices the page never received are left out: the
handoff's replay sends them right after (``bot.gateway.handoff.live.replay_to_citizen``),
and marks them delivered, so each appears exactly once.
"""

from __future__ import annotations

from typing import Any

from bot.conversation.transcript import TranscriptStore
from bot.knowledge.editing.flags import flagged_entry

# Enough for any real conversation on a phone; older rows stay in the transcript.
HISTORY_ROWS = 200


async def page_history(transcript: TranscriptStore, conversation_id: str) -> list[dict[str, Any]]:
    rows = await transcript.latest(conversation_id, HISTORY_ROWS)
    shown: list[dict[str, Any]] = []
    titles: dict[str, str] = {}  # the payloads of the buttons last offered, by payload
    for row in rows:
        data: dict[str, Any] = row.get("data") or {}
        role, text = str(row["role"]), str(row["text"] or "")
        if role == "citizen":
            shown.append({"role": "citizen", "text": titles.get(text, text)})
        elif role == "bot":
            item = _bot_item(text, data)
            if item is None:
                if shown and shown[-1]["role"] == "bot":  # Rasa sends marks after the reply
                    if _marks_emergency(data):
                        shown[-1]["status"] = "emergency"
                    if entry_id := flagged_entry(data.get("custom")):
                        shown[-1]["knowledge"] = {"entry_id": entry_id}
                continue
            if _marks_emergency(data):
                item["status"] = "emergency"
            titles = {b["payload"]: b["title"] for b in item.get("buttons", [])} or titles
            shown.append(item)
        elif role == "agent" and data.get("delivered"):
            shown.append({"role": "agent", "text": text, "agent": data.get("agent_name", "")})
        elif role == "system" and data.get("notice") and data.get("delivered"):
            shown.append({"role": "system", "text": str(data["notice"])})
    return shown


def _bot_item(text: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """A bot row as the live ``bot`` frame showed it; None for rows with nothing to read
    (e.g. the handoff's custom signal, which the page never displays)."""
    buttons = [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
        for b in data.get("buttons") or []
        if isinstance(b, dict)
    ]
    if not text and not buttons:
        return None
    item: dict[str, Any] = {"role": "bot", "text": text, "status": data.get("status", "ok")}
    if buttons:
        item["buttons"] = buttons
    return item


def _marks_emergency(data: dict[str, Any]) -> bool:
    custom = data.get("custom")
    return isinstance(custom, dict) and bool(custom.get("emergency"))
