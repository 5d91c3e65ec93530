"""The agent workspace's live side on the gateway: consoles' sockets, delivery to citizens.

The wiring (``bot.gateway.app``) builds the handoff service and hooks it into the
conversation service (the gate), the transcript (live rows for consoles) and the web chat
(replay on reconnect). Live traffic goes over the handoff bus, so that it works when the
citizen's page and the agent's console are connected to different replicas:

- ``citizen`` events carry a frame for a citizen's web chat; the replica holding the page
  pushes it and marks the transcript row delivered;
- ``console`` events carry an event for agents' consoles (``audience`` ``all`` or
  ``agent:<user id>``), pushed to the console sockets this replica holds.

WeChat needs no bus: the agent's words go out through the customer-service message API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, web

from bot.conversation.transcript import TranscriptStore
from bot.gateway.channels.sockets import CitizenSockets
from bot.gateway.responses import json_dumps
from bot.handoff.bus import Bus
from bot.handoff.service import HandoffService
from bot.settings import Settings
from bot.wechat import CHANNEL as WECHAT_CHANNEL
from bot.wechat import openid_of
from bot.wiring import workorder_system
from bot.workorders.desk import WorkOrderDesk

logger = logging.getLogger(__name__)

WEBCHAT_CHANNEL = "webchat"

NotifyWeChat = Callable[[str, str], Awaitable[bool]]


class ConsoleHub:
    """The agents' console sockets open on this replica, by user id."""

    def __init__(self) -> None:
        self._sockets: dict[int, set[web.WebSocketResponse]] = {}

    def add(self, user_id: int, ws: web.WebSocketResponse) -> None:
        self._sockets.setdefault(user_id, set()).add(ws)

    def discard(self, user_id: int, ws: web.WebSocketResponse) -> None:
        sockets = self._sockets.get(user_id)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self._sockets[user_id]

    async def send(self, audience: str, event: dict[str, Any]) -> None:
        if audience == "all":
            targets = [ws for sockets in self._sockets.values() for ws in sockets]
        elif audience.startswith("agent:") and audience[6:].isdigit():
            targets = list(self._sockets.get(int(audience[6:]), ()))
        else:
            return
        text = json_dumps(event)
        for ws in targets:
            if not ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_str(text)

    async def close_all(self) -> None:
        for sockets in list(self._sockets.values()):
            for ws in list(sockets):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


class GatewayCitizenChannel:
    """Implements :class:`bot.handoff.outbound.CitizenChannel` on the gateway's channels."""

    def __init__(self, bus: Bus, transcript: TranscriptStore, notify_wechat: NotifyWeChat) -> None:
        self.bus = bus
        self.transcript = transcript
        self.notify_wechat = notify_wechat

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
        if channel == WEBCHAT_CHANNEL:
            await self.bus.publish(
                {
                    "kind": "citizen",
                    "conversation_id": conversation_id,
                    "row_id": row_id,
                    "frame": citizen_frame(kind, text, sender, state),
                }
            )
            return True
        if channel == WECHAT_CHANNEL:
            openid = openid_of(conversation_id)
            if openid is None:
                return False
            shown = f"【人工客服{sender}】{text}" if kind == "agent" else text
            delivered = await self.notify_wechat(openid, shown)
            await self.transcript.annotate(row_id, {"delivered": delivered})
            return delivered
        return False


def citizen_frame(kind: str, text: str, sender: str, state: str = "") -> dict[str, Any]:
    if kind == "agent":
        return {"type": "agent", "agent": sender, "messages": [{"text": text}]}
    return {"type": "handoff", "state": state, "text": text}


@dataclass
class HandoffWorkspace:
    settings: Settings
    service: HandoffService
    hub: ConsoleHub
    bus: Bus
    _desk: WorkOrderDesk | None = None
    _desk_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def desk(self) -> WorkOrderDesk:
        """The work-order desk, opened on first use (most gateways never submit one).

        No relay runs here: a request the work-order system cannot take at once waits in
        the shared outbox for the action server's relay (or ``python -m bot workorder-relay``)."""
        async with self._desk_lock:
            if self._desk is None:
                self._desk = await WorkOrderDesk.start(
                    self.settings, workorder_system(self.settings)
                )
            return self._desk

    async def close(self) -> None:
        if self._desk is not None:
            await self._desk.aclose()


async def replay_to_citizen(
    service: HandoffService,
    transcript: TranscriptStore,
    conversation_id: str,
    ws: web.WebSocketResponse,
) -> None:
    """A page (re)connects: tell it who is answering and what it missed meanwhile."""
    handoff = await service.get(conversation_id)
    if handoff is None:
        return
    rows = await transcript.history(conversation_id)
    for row in rows:
        data = row.get("data") or {}
        if data.get("delivered") or row["channel"] != WEBCHAT_CHANNEL:
            continue
        if row["role"] == "agent":
            frame = citizen_frame("agent", row["text"], str(data.get("agent_name", "")))
        elif row["role"] == "system" and data.get("notice"):
            state = str((data.get("handoff") or {}).get("state", ""))
            frame = citizen_frame("handoff", str(data["notice"]), "", state)
        else:
            continue
        # Marked first: a second page opening at the same moment must not replay it too.
        await transcript.annotate(int(row["id"]), {"delivered": True})
        await ws.send_str(json_dumps(frame))
    if handoff.state.human_holds:
        await ws.send_str(
            json_dumps(
                {
                    "type": "handoff",
                    "state": handoff.state.value,
                    "text": "",
                    "agent": handoff.agent_name,
                }
            )
        )


async def on_bus_event(
    event: dict[str, Any],
    hub: ConsoleHub,
    sockets: CitizenSockets,
    transcript: TranscriptStore,
) -> None:
    """Delivers what the bus carries to the sockets this replica holds (see above)."""
    if event.get("kind") == "console":
        await hub.send(str(event.get("audience", "")), dict(event.get("event") or {}))
    elif event.get("kind") == "citizen":
        conversation_id = str(event.get("conversation_id", ""))
        pushed = await sockets.push(conversation_id, dict(event.get("frame") or {}))
        row_id = event.get("row_id")
        if pushed and isinstance(row_id, int):
            await transcript.annotate(row_id, {"delivered": True})
