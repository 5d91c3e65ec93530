"""Every error leaves the gateway as a short Chinese JSON message, never a stack trace.

Handlers raise: :class:`ApiError` for a refusal of their own, the handoff domain's
errors for an action the agent may not take now; this is the one place they become
responses, so every API states its refusals the same way.

Once a response has started (a WebSocket upgrade, a streamed download) no second HTTP
response may follow on the connection: a socket opened with :func:`open_socket` is closed
with 1011, anything else is left to aiohttp, which drops the connection.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import WSCloseCode, web
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from bot.gateway.responses import ApiError, json_error
from bot.handoff.actors import HandoffRefused
from bot.handoff.calls import CallError
from bot.handoff.states import InvalidTransition

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STORAGE_ERRORS = (SQLAlchemyError, RedisError)
"""A database or Redis that is down or contended: a temporary state the client can retry,
not a defect of the request."""
STORAGE_BUSY_MESSAGE = "系统繁忙，请稍后再试。"


SOCKET = web.RequestKey("upgraded_socket", web.WebSocketResponse)


async def open_socket(request: web.Request, ws: web.WebSocketResponse) -> None:
    """Upgrades the connection; an error after this closes ``ws`` instead of answering."""
    await ws.prepare(request)
    request[SOCKET] = ws


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Exception as exc:
        if request.writer.output_size == 0:
            return _answer(request, exc)
        logger.exception("error after the response started on %s %s", request.method, request.path)
        if SOCKET not in request:
            raise
        socket = request[SOCKET]
        await socket.close(code=WSCloseCode.INTERNAL_ERROR, message=b"internal error")
        return socket


def _answer(request: web.Request, exc: Exception) -> web.StreamResponse:
    if isinstance(exc, ApiError | HandoffRefused):
        return json_error(exc.status, exc.message, exc.code)
    if isinstance(exc, InvalidTransition):
        return json_error(409, exc.message, "invalid_state")
    if isinstance(exc, CallError):
        return json_error(400, str(exc), "invalid_call")
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        return json_error(exc.status)
    if isinstance(exc, UnicodeDecodeError):  # a form sent in another encoding than UTF-8
        return json_error(400, "请求内容不是有效的 UTF-8 编码。", "invalid_encoding")
    if isinstance(exc, STORAGE_ERRORS):
        logger.error("storage error on %s %s", request.method, request.path, exc_info=exc)
        return json_error(503, STORAGE_BUSY_MESSAGE, "storage_unavailable")
    logger.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return json_error(500, code="internal_error")
