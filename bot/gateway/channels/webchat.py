"""The web chat: the page and its WebSocket.

Protocol (JSON text frames): the server first sends
``{"type": "session", "conversation_id": ...}``, then
``{"type": "history", "messages": [{"role", "text", …}], "state": ..., "agent": ...}`` (the
conversation so far, see ``history.py``, and who serves it now); the client sends
``{"type": "message", "text": ...}``; the server answers
``{"type": "bot", "status": ..., "messages": [{"text", "buttons"}]}``. A frame the
server cannot use gets ``{"type": "error", "message": ...}`` and the socket stays open.
While a human agent holds the conversation the server also pushes, at any time,
``{"type": "agent", "agent": name, "messages": [{"text"}]}`` (the agent's words) and
``{"type": "handoff", "state": ..., "text": ...}`` (an agent joined, left, …).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import WSMsgType, web

from bot.conversation import CitizenTurn, ConversationService
from bot.gateway import keys
from bot.gateway.channels.history import page_history
from bot.gateway.channels.turns import BadTurn, new_conversation_id, parse_turn
from bot.gateway.clients import client_address
from bot.gateway.middleware import STORAGE_ERRORS, open_socket
from bot.gateway.pages import PAGE_HEADERS, STATIC_DIR
from bot.gateway.responses import json_dumps
from bot.jsonbody import JsonRejected, parse_json

logger = logging.getLogger(__name__)

STORAGE_RETRY_MESSAGE = (
    "抱歉，系统繁忙，这条消息暂时没能处理，请稍后再发一次。紧急情况请直接拨打110、119或120。"
)


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(
        STATIC_DIR / "index.html", headers={**PAGE_HEADERS, "Cache-Control": "no-cache"}
    )


async def websocket(request: web.Request) -> web.WebSocketResponse:
    settings = request.app[keys.SETTINGS]
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=settings.max_request_bytes * 4)
    await open_socket(request, ws)
    try:
        conversation_id = parse_turn(
            {"sender": request.query.get("conversation_id"), "message": ""}
        ).conversation_id
    except BadTurn:
        conversation_id = new_conversation_id()
    await ws.send_str(json_dumps({"type": "session", "conversation_id": conversation_id}))
    await ws.send_str(json_dumps(await _history_frame(request.app, conversation_id)))
    service = request.app[keys.CONVERSATIONS]
    sockets = request.app[keys.CITIZEN_SOCKETS]
    sockets.add(conversation_id, ws)
    try:
        await sockets.opened(conversation_id, ws)
        await _converse(ws, service, conversation_id, client_address(request))
    except ConnectionResetError:
        # The page went away while its reply was on the way (aiohttp's reset error is one):
        # the turn and its reply are on record, and the page's history shows them again.
        logger.info("web chat closed before its reply was sent")
    finally:
        sockets.discard(conversation_id, ws)
    return ws


async def _history_frame(app: web.Application, conversation_id: str) -> dict[str, Any]:
    """The history and the handoff state read together, so the page's header tells the
    truth from the first frame instead of "已连接" until an agent next speaks."""
    handoff = await app[keys.HANDOFF].service.get(conversation_id) if keys.HANDOFF in app else None
    serving = handoff if handoff is not None and handoff.state.human_holds else None
    return {
        "type": "history",
        "messages": await page_history(app[keys.TRANSCRIPT], conversation_id),
        "state": serving.state.value if serving else "bot",
        "agent": serving.agent_name if serving else "",
    }


async def _converse(
    ws: web.WebSocketResponse, service: ConversationService, conversation_id: str, client: str
) -> None:
    async for frame in ws:
        if frame.type != WSMsgType.TEXT:
            if frame.type == WSMsgType.BINARY:
                await _send_error(ws, "请发送文字消息。")
            continue
        try:
            body = parse_json(frame.data)
            turn = parse_turn(
                {"sender": conversation_id, "message": body.get("text")}
                if isinstance(body, dict)
                else body
            )
        except (JsonRejected, BadTurn) as exc:
            message = str(exc) if isinstance(exc, BadTurn) else "消息格式不正确，请重新发送。"
            await _send_error(ws, message)
            continue
        try:
            result = await service.handle_turn(
                CitizenTurn(conversation_id, "webchat", turn.text, client=client)
            )
        except STORAGE_ERRORS:
            # The socket stays open: the citizen can send again once storage is back.
            logger.exception("storage error during a web chat turn")
            await _send_error(ws, STORAGE_RETRY_MESSAGE)
            continue
        await ws.send_str(
            json_dumps({"type": "bot", "status": result.status, "messages": result.to_json()})
        )


async def _send_error(ws: web.WebSocketResponse, message: str) -> None:
    await ws.send_str(json_dumps({"type": "error", "message": message}))
