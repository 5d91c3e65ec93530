"""The web chat: the page and its WebSocket.

Protocol (JSON text frames): the server first sends
``{"type": "session", "conversation_id": ...}``; the client sends
``{"type": "message", "text": ...}``; the server answers
``{"type": "bot", "status": ..., "messages": [{"text", "buttons"}]}``. A frame the
server cannot use gets ``{"type": "error", "message": ...}`` and the socket stays open.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from aiohttp import WSMsgType, web

from bot.conversation import CitizenTurn
from bot.gateway import keys
from bot.gateway.responses import json_dumps
from bot.gateway.turns import BadTurn, new_conversation_id, parse_turn

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"


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
    return ws


async def _send_error(ws: web.WebSocketResponse, message: str) -> None:
    await ws.send_str(json_dumps({"type": "error", "message": message}))
