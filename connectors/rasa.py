"""The gateway's client for the Rasa server, over its token-protected REST channel."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from bot.conversation import BotMessage, DialogueUnavailable
from bot.conversation.models import EngineReply, Understanding

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/hotline/webhook"


class RasaClient:
    """Implements :class:`bot.conversation.DialogueEngine` against a Rasa 3.6 server."""

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, token: str, timeout_s: float
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> EngineReply:
        body = {"sender": conversation_id, "message": text, "metadata": metadata}
        try:
            async with self.session.post(
                self.base_url + WEBHOOK_PATH,
                # Rasa reads the body; the query lets a load balancer send every turn of a
                # conversation to one Rasa replica (HAProxy's ``balance url_param sender``).
                params={"sender": conversation_id},
                json=body,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=self.timeout,
            ) as response:
                if response.status != 200:
                    detail = (await response.text())[:200]
                    logger.warning("rasa answered %s: %s", response.status, detail)
                    raise DialogueUnavailable(f"rasa status {response.status}")
                payload = await response.json()
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise DialogueUnavailable(str(exc) or type(exc).__name__) from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
            raise DialogueUnavailable("unexpected rasa payload")
        return EngineReply(
            messages=tuple(
                BotMessage.from_rasa(item) for item in payload["messages"] if isinstance(item, dict)
            ),
            understanding=_understanding(payload),
        )

    async def ready(self) -> bool:
        """Rasa is ready when its status endpoint reports a loaded model."""
        try:
            async with self.session.get(
                f"{self.base_url}/status",
                params={"token": self.token},
                timeout=aiohttp.ClientTimeout(total=3),
            ) as response:
                if response.status != 200:
                    return False
                status = await response.json()
        except (TimeoutError, aiohttp.ClientError, ValueError):
            return False
        return bool(status.get("model_id") or status.get("fingerprint"))


def _understanding(payload: dict[str, Any]) -> Understanding:
    raw = payload.get("nlu")
    nlu: dict[str, Any] = raw if isinstance(raw, dict) else {}
    confidence = nlu.get("confidence")
    return Understanding(
        intent=nlu.get("intent") if isinstance(nlu.get("intent"), str) else None,
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
        entities=tuple(e for e in nlu.get("entities") or [] if isinstance(e, dict)),
        actions=tuple(a for a in payload.get("actions") or [] if isinstance(a, str)),
    )
