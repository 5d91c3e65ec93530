"""The JSON REST channel for clients other than the web page."""

from __future__ import annotations

from aiohttp import web

from bot.conversation import CitizenTurn
from bot.gateway import keys
from bot.gateway.channels.turns import BadTurn, parse_turn
from bot.gateway.clients import client_address
from bot.gateway.responses import json_error, json_ok, read_json


async def post_message(request: web.Request) -> web.Response:
    """The conversation id may also come as ``?conversation_id=``, which a load balancer can
    hash on (it cannot read a JSON body), as it does for the web chat's socket."""
    body = await read_json(request)
    in_query = request.query.get("conversation_id")
    try:
        turn = parse_turn(body, in_query)
    except BadTurn as exc:
        return json_error(400, str(exc), "invalid_turn")
    if in_query is not None and turn.conversation_id != in_query:
        return json_error(
            400,
            "地址中的 conversation_id 与消息中的 sender 不一致，请保持一致，或只提供其中一个。",
            "invalid_turn",
        )
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
