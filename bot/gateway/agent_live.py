"""The agent workspace's moving parts on the gateway: wiring, live delivery, sockets.

``agent_resources`` (a cleanup context) builds the handoff service and hooks it into the
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
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, web

from bot.conversation.transcript import TranscriptStore
from bot.gateway import keys, webchat
from bot.gateway.knowledge_assist import knowledge_suggester
from bot.gateway.responses import json_dumps
from bot.gateway.wechat import notify_wechat_citizen, openid_of
from bot.handoff.assist import Assistant
from bot.handoff.bus import Bus, MemoryBus, RedisBus
from bot.handoff.calls import CallStore
from bot.handoff.classify import WarmClassifier
from bot.handoff.config import HandoffConfig
from bot.handoff.feedback import SuggestionLog
from bot.handoff.gate import HandoffGate
from bot.handoff.notes import NoteStore
from bot.handoff.presence import PresenceStore
from bot.handoff.service import HandoffService
from bot.handoff.store import HandoffStore
from bot.routing import load_classifier
from bot.settings import Settings
from bot.workorders.desk import WorkOrderDesk
from bot.workorders.workcalendar import WorkingCalendar
from connectors.rasa_tracker import RasaTracker

logger = logging.getLogger(__name__)

WECHAT_CHANNEL = "wechat"
WEBCHAT_CHANNEL = "webchat"


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
    """Implements :class:`bot.handoff.service.CitizenChannel` on the gateway's channels."""

    def __init__(self, app: web.Application, bus: Bus, transcript: TranscriptStore) -> None:
        self.app = app
        self.bus = bus
        self.transcript = transcript

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
            delivered = await notify_wechat_citizen(self.app, openid, shown)
            await self.transcript.annotate(row_id, {"delivered": delivered})
            return delivered
        return False


def citizen_frame(kind: str, text: str, sender: str, state: str = "") -> dict[str, Any]:
    if kind == "agent":
        return {"type": "agent", "agent": sender, "messages": [{"text": text}]}
    return {"type": "handoff", "state": state, "text": text}


@dataclass
class AgentWorkspace:
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
                self._desk = await WorkOrderDesk.start(self.settings)
            return self._desk

    async def close(self) -> None:
        if self._desk is not None:
            await self._desk.aclose()


AGENT = web.AppKey("agent_workspace", AgentWorkspace)


async def agent_resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    engine = app[keys.DB]
    transcript = app[keys.TRANSCRIPT]
    config = HandoffConfig.load(
        settings.handoff_config, WorkingCalendar(settings.workorder_holiday_dir)
    )
    bus: Bus = MemoryBus()
    if keys.REDIS in app:
        # One channel per deployment (its database), so deployments sharing a Redis do not
        # see each other's events.
        digest = hashlib.sha256(settings.sqlalchemy_url.encode()).hexdigest()[:16]
        bus = RedisBus(app[keys.REDIS], f"hotline:handoff:{digest}")
    classify = WarmClassifier(lambda: load_classifier(settings))
    assistant = Assistant(knowledge_suggester(app), classify, SuggestionLog(engine))
    service = HandoffService(
        config=config,
        store=HandoffStore(engine),
        presence=PresenceStore(engine, config.presence_timeout_s),
        notes=NoteStore(engine),
        calls=CallStore(engine),
        suggestions=SuggestionLog(engine),
        transcript=transcript,
        tracker=RasaTracker(app[keys.HTTP], settings.rasa_url, settings.rasa_token),
        bus=bus,
        channel=GatewayCitizenChannel(app, bus, transcript),
        assistant=assistant,
        classify=classify,
    )
    hub = ConsoleHub()
    sockets = app[webchat.CITIZEN_SOCKETS]
    workspace = AgentWorkspace(settings, service, hub, bus)
    app[AGENT] = workspace

    async def on_event(event: dict[str, Any]) -> None:
        if event.get("kind") == "console":
            await hub.send(str(event.get("audience", "")), dict(event.get("event") or {}))
        elif event.get("kind") == "citizen":
            conversation_id = str(event.get("conversation_id", ""))
            pushed = await sockets.push(conversation_id, dict(event.get("frame") or {}))
            row_id = event.get("row_id")
            if pushed and isinstance(row_id, int):
                await transcript.annotate(row_id, {"delivered": True})

    async def replay(conversation_id: str, ws: web.WebSocketResponse) -> None:
        await replay_to_citizen(service, transcript, conversation_id, ws)

    bus.subscribe(on_event)
    await bus.start()
    transcript.observers.append(service)
    app[keys.CONVERSATIONS].gate = HandoffGate(service)
    sockets.on_open.append(replay)
    yield
    app[keys.CONVERSATIONS].gate = None
    await bus.stop()
    await workspace.close()


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


async def close_live_sockets(app: web.Application) -> None:
    """On shutdown, before aiohttp waits for handlers: open sockets would hold it up until
    its timeout; closed with 1001, pages and consoles reconnect (to another replica)."""
    if AGENT in app:
        await app[AGENT].hub.close_all()
    await app[webchat.CITIZEN_SOCKETS].close_all()
