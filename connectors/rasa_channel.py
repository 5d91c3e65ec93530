"""Rasa input channel used by the gateway: the REST channel behind a bearer token.

This module runs inside the Rasa runtime (Python 3.10, rasa 3.6), not in the project's
own venv, so it imports nothing but Rasa and Sanic. Rasa's stock REST channel accepts
anyone who can reach the port; the gateway is the only client meant to talk to Rasa.
"""

from __future__ import annotations

import hmac
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse


class HotlineInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "hotline"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "HotlineInput":
        return cls(token=str((credentials or {}).get("token") or ""))

    def __init__(self, token: str) -> None:
        self.token = token

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        metadata = (request.json or {}).get("metadata")
        return metadata if isinstance(metadata, dict) else None

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        supplied = header[7:] if header.startswith("Bearer ") else ""
        return bool(self.token) and hmac.compare_digest(supplied, self.token)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")  # type: ignore[misc]
        async def require_token(request: Request) -> Optional[HTTPResponse]:
            if request.path.endswith("/webhook") and not self._authorised(request):
                return response.json({"error": "unauthorised"}, status=401)
            return None

        return blueprint
