"""A citizen's side of the web chat, over a real WebSocket."""

from __future__ import annotations

import json
from typing import Any

import aiohttp


class WebChat:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, conversation_id: str) -> None:
        self.ws = ws
        self.conversation_id = conversation_id

    @classmethod
    async def open(
        cls, session: aiohttp.ClientSession, gateway_url: str, conversation_id: str = ""
    ) -> WebChat:
        ws = await session.ws_connect(f"{gateway_url}/ws?conversation_id={conversation_id}")
        hello = json.loads(await ws.receive_str(timeout=10))
        assert hello["type"] == "session"
        history = json.loads(await ws.receive_str(timeout=10))
        assert history["type"] == "history"
        return cls(ws, hello["conversation_id"])

    async def say(self, text: str) -> dict[str, Any]:
        await self.ws.send_str(json.dumps({"type": "message", "text": text}, ensure_ascii=False))
        reply: dict[str, Any] = json.loads(await self.ws.receive_str(timeout=60))
        return reply

    @staticmethod
    def text_of(reply: dict[str, Any]) -> str:
        return "\n".join(m.get("text", "") for m in reply.get("messages", []))
