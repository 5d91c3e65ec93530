"""Pauses and resumes a conversation in Rasa's tracker through Rasa's HTTP API.

While a human holds a conversation the gateway does not forward the citizen's messages to
Rasa at all; the pause still goes into Rasa's tracker so that the dialogue's own record
says who was talking, and a message reaching Rasa by another path is not answered (Rasa
does not predict on a paused tracker). Needs Rasa started with ``--enable-api`` and the
token (``--auth-token``), as the launcher does.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import quote

import aiohttp

logger = logging.getLogger(__name__)


class RasaTracker:
    """Implements :class:`bot.handoff.service.TrackerControl`."""

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, token: str, timeout_s: float = 5.0
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def pause(self, conversation_id: str) -> bool:
        return await self._append(conversation_id, "pause")

    async def resume(self, conversation_id: str) -> bool:
        return await self._append(conversation_id, "resume")

    async def _append(self, conversation_id: str, event: str) -> bool:
        """True when Rasa recorded the event; failures are logged and reported, not raised."""
        # Sanic matches the raw path: keep ':' (as in wx:<openid>) as it is, quote the rest.
        url = f"{self.base_url}/conversations/{quote(conversation_id, safe=':')}/tracker/events"
        try:
            async with self.session.post(
                url,
                params={"token": self.token, "include_events": "NONE"},  # no history back
                json={"event": event, "timestamp": time.time()},
                timeout=self.timeout,
            ) as response:
                if response.status != 200:
                    detail = (await response.text())[:200]
                    logger.warning(
                        "rasa refused the %s event: %s %s", event, response.status, detail
                    )
                    return False
        except (TimeoutError, aiohttp.ClientError) as exc:
            logger.warning("rasa unreachable for the %s event: %s", event, exc)
            return False
        return True
