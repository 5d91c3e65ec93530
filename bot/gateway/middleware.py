"""Every error leaves the gateway as a short Chinese JSON message, never a stack trace.

Handlers raise: :class:`ApiError` for a refusal of their own, the handoff domain's
errors for an action the agent may not take now; this is the one place they become
responses, so every API states its refusals the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.gateway.responses import ApiError, json_error
from bot.handoff.actors import HandoffRefused
from bot.handoff.calls import CallError
from bot.handoff.states import InvalidTransition

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return json_error(exc.status, exc.message, exc.code)
    except HandoffRefused as exc:
        return json_error(exc.status, exc.message, exc.code)
    except InvalidTransition as exc:
        return json_error(409, exc.message, "invalid_state")
    except CallError as exc:
        return json_error(400, str(exc), "invalid_call")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return json_error(exc.status)
    except SQLAlchemyError:
        # Storage that is down or contended is a temporary state the client can retry,
        # not a defect of the request.
        logger.exception("storage error on %s %s", request.method, request.path)
        return json_error(503, "系统繁忙，请稍后再试。", "storage_unavailable")
    except Exception:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, code="internal_error")
