"""The JSON REST channel for clients other than the web page."""

from __future__ import annotations

from aiohttp import web

from bot.conversation import CitizenTurn
from bot.gateway import keys
from bot.gateway.channels.turns import BadTurn, parse_turn
from bot.gateway.clients import client_address
from bot.gateway.responses import json_error, json_ok, read_json


async def post_message(request: web.Request) -> web.Response:
    body = await read_json(request)
    try:
        turn = parse_turn(body)
    except BadTurn as exc:
        return json_error(400, str(exc), "invalid_turn")
    result = await request.app[keys.CONVERSATIONS].handle_turn(
        CitizenTurn(
            conversation_id=turn.conversation_id,
            channel="rest",
            text=turn.text,
            client=client_address(request),
        )
    )
    return json_ok(
        {
            "conversation_id": turn.conversation_id,
            "status": result.status,
            "messages": result.to_json(),
        }
    )
