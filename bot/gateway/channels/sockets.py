"""The web-chat sockets open on this process, for pushes that do not answer a turn.

Kept apart from the handlers because the handoff's live delivery and the work-order
notices push through it too, and the application's keys name its type.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSCloseCode, web

from bot.gateway.responses import json_dumps

logger = logging.getLogger(__name__)

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
