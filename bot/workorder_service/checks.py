"""What the reference platform checks before it touches an order: the request's content
and phone number, contact-verification attempts, and the fingerprint that makes a retried
request recognisable. Kept apart from the operations so each reads on its own."""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict, deque
from dataclasses import replace
from typing import Any

from bot.workorders.models import CitizenRequest
from bot.workorders.phone import InvalidPhone, validate_phone

MAX_CONTENT_CHARS = 2000


class ServiceError(Exception):
    """A refusal with an HTTP status, a stable code and a message people can read."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class VerificationLimiter:
    """Stops guessing: at most ``limit`` failed contact verifications per phone per window."""

    def __init__(self, limit: int = 5, window_s: float = 900.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def check(self, phone: str) -> None:
        recent = self._failures[phone]
        while recent and recent[0] < time.monotonic() - self.window_s:
            recent.popleft()
        if len(recent) >= self.limit:
            raise ServiceError(429, "too_many_attempts", "核验失败次数过多，请 15 分钟后再试。")

    def failed(self, phone: str) -> None:
        self._failures[phone].append(time.monotonic())


def canonical_phone(phone: str) -> str:
    try:
        return validate_phone(phone).number
    except InvalidPhone:
        return ""


def checked_request(request: CitizenRequest) -> CitizenRequest:
    content = request.content.strip()
    if not content:
        raise ServiceError(422, "content_required", "诉求内容不能为空。")
    if len(content) > MAX_CONTENT_CHARS:
        raise ServiceError(
            422, "content_too_long", f"诉求内容请控制在 {MAX_CONTENT_CHARS} 字以内。"
        )
    try:
        phone = validate_phone(request.phone).number
    except InvalidPhone as exc:
        raise ServiceError(422, "invalid_phone", exc.message) from exc
    return replace(request, content=content, phone=phone)


def request_fingerprint(operation: str, data: dict[str, Any]) -> str:
    text = json.dumps([operation, data], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
