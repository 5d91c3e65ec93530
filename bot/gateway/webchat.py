"""The web chat: the page and its WebSocket.

Protocol (JSON text frames): the server first sends
``{"type": "session", "conversation_id": ...}``; the client sends
``{"type": "message", "text": ...}``; the server answers
``{"type": "bot", "status": ..., "messages": [{"text", "buttons"}]}``. A frame the
server cannot use gets ``{"type": "error", "message": ...}`` and the socket stays open.
While a human agent holds the conversation the server also pushes, at any time,
``{"type": "agent", "agent": name, "messages": [{"text"}]}`` (the agent's words) and
``{"type": "handoff", "state": ..., "text": ...}`` (an agent joined, left, …).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from bot.conversation import CitizenTurn, ConversationService
from bot.gateway import keys
from bot.gateway.responses import json_dumps
from bot.gateway.turns import BadTurn, new_conversation_id, parse_turn

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"

OpenHook = Callable[[str, web.WebSocketResponse], Awaitable[None]]


class CitizenSockets:
    """The web-chat sockets open on this process, by conversation id.

    A human agent's words reach the citizen's page through ``push`` (bot/handoff delivers
    here, on every replica, from its event bus); ``on_open`` hooks run when a page
    connects, e.g. to replay what an agent sent while the page was closed.
    """

    def __init__(self) -> None:
        self._open: dict[str, set[web.WebSocketResponse]] = {}
        self.on_open: list[OpenHook] = []

    def add(self, conversation_id: str, ws: web.WebSocketResponse) -> None:
        self._open.setdefault(conversation_id, set()).add(ws)

    def discard(self, conversation_id: str, ws: web.WebSocketResponse) -> None:
        sockets = self._open.get(conversation_id)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self._open[conversation_id]

    async def push(self, conversation_id: str, frame: dict[str, Any]) -> int:
        """Sends ``frame`` to every open page of the conversation; returns how many got it."""
        sent = 0
        for ws in list(self._open.get(conversation_id, ())):
            if ws.closed:
                continue
            try:
                await ws.send_str(json_dumps(frame))
                sent += 1
            except (ConnectionError, RuntimeError):
                logger.info("a citizen socket closed while a frame was pushed")
        return sent

    async def close_all(self) -> None:
        """At shutdown: 1001 (going away) tells the page to reconnect, to another replica."""
        for sockets in list(self._open.values()):
            for ws in list(sockets):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    async def opened(self, conversation_id: str, ws: web.WebSocketResponse) -> None:
        for hook in self.on_open:
            try:
                await hook(conversation_id, ws)
            except Exception:
                logger.exception("web chat open hook failed")


CITIZEN_SOCKETS = web.AppKey("citizen_sockets", CitizenSockets)


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


async def websocket(request: web.Request) -> web.WebSocketResponse:
    settings = request.app[keys.SETTINGS]
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=settings.max_request_bytes * 4)
    await ws.prepare(request)
    try:
        conversation_id = parse_turn(
            {"sender": request.query.get("conversation_id"), "message": ""}
        ).conversation_id
    except BadTurn:
        conversation_id = new_conversation_id()
    await ws.send_str(json_dumps({"type": "session", "conversation_id": conversation_id}))
    service = request.app[keys.CONVERSATIONS]
    sockets = request.app[CITIZEN_SOCKETS]
    sockets.add(conversation_id, ws)
    try:
        await sockets.opened(conversation_id, ws)
        await _converse(ws, service, conversation_id)
    finally:
        sockets.discard(conversation_id, ws)
    return ws


async def _converse(
    ws: web.WebSocketResponse, service: ConversationService, conversation_id: str
) -> None:
    async for frame in ws:
        if frame.type != WSMsgType.TEXT:
            if frame.type == WSMsgType.BINARY:
                await _send_error(ws, "请发送文字消息。")
            continue
        try:
            body = json.loads(frame.data)
            turn = parse_turn(
                {"sender": conversation_id, "message": body.get("text")}
                if isinstance(body, dict)
                else body
            )
        except (ValueError, BadTurn) as exc:
            message = str(exc) if isinstance(exc, BadTurn) else "消息格式不正确，请重新发送。"
            await _send_error(ws, message)
            continue
        result = await service.handle_turn(
            CitizenTurn(conversation_id=conversation_id, channel="webchat", text=turn.text)
        )
        await ws.send_str(
            json_dumps({"type": "bot", "status": result.status, "messages": result.to_json()})
        )


async def _send_error(ws: web.WebSocketResponse, message: str) -> None:
    await ws.send_str(json_dumps({"type": "error", "message": message}))
