"""Signing and verifying the work-order service's webhooks (pure functions, no HTTP).

Every status change is POSTed to the gateway with a header

    X-Workorder-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">

keyed with ``WORKORDER_WEBHOOK_SECRET``. The timestamp is inside the signed text, so an old
delivery cannot be replayed with a fresh timestamp; deliveries older than the tolerance
(5 minutes) are refused. Several ``v1=`` values may appear while a secret is being rotated,
and the receiver may accept several secrets. Each event also carries a unique ``event_id``
(header ``X-Workorder-Event-Id``) so a receiver can drop a retried delivery it already
handled within the tolerance window.

``request_type`` (诉求类型) and ``rating`` (the citizen's 回访 verdict, a
:class:`bot.workorders.models.Rating` code) feed the console's figures; ``confidential``
(the citizen asked for 保密) keeps the order out of anything learned from closed orders.
They are optional, so a platform that does not send them is still understood (an absent
``confidential`` is None: not known, which is not the same as not confidential).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

from bot.workorders.models import InvalidField, check_fields

SIGNATURE_HEADER = "X-Workorder-Signature"
EVENT_ID_HEADER = "X-Workorder-Event-Id"
DEFAULT_TOLERANCE_S = 300
EVENT_TYPE = "order.changed"


class WebhookSignatureError(ValueError):
    """The delivery is not authentic or too old; ``reason`` is for the log, never the sender."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidWebhookEvent(WebhookSignatureError):
    """Authentic (the signature holds) but a field is missing or of the wrong type: the
    sender has a bug to fix, which a 422 naming ``field`` tells it (a 401 would say forged)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"signed body is not a work-order event: {field}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class WebhookEvent:
    """One change of a work order, addressed to the citizen who filed it."""

    event_id: str
    order_no: str
    acceptance_no: str
    action: str
    action_label: str
    status: str
    status_label: str
    previous_status: str
    department: str
    deadline: str | None
    at: str
    channel: str
    channel_user: str
    conversation_id: str
    message: str
    type: str = EVENT_TYPE
    request_type: str = ""
    rating: str | None = None
    confidential: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WebhookEvent:
        """Checks that every field is present when required and of its declared type."""
        known = fields(cls)
        for item in known:
            if item.default is MISSING and item.name not in data:
                raise InvalidWebhookEvent(item.name, f"缺少字段 {item.name}。")
        try:
            check_fields(data, _EVENT_FIELD_TYPES)
        except InvalidField as exc:
            raise InvalidWebhookEvent(exc.field, exc.message) from None
        return cls(**{f.name: data[f.name] for f in known if f.name in data})


_EVENT_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    item.name: tuple(
        {"str": str, "bool": bool, "None": type(None)}[part.strip()]
        for part in str(item.type).split("|")
    )
    for item in fields(WebhookEvent)
}


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    if not secret:
        raise ValueError("the webhook secret must not be empty")
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (now by default)."""
    moment = int(time.time()) if timestamp is None else timestamp
    return f"t={moment},v1={_digest(secret, moment, body)}"


def verify_signature(
    secrets: str | Sequence[str],
    body: bytes,
    header: str | None,
    now: float | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> None:
    """Raises :class:`WebhookSignatureError` unless ``header`` signs ``body`` recently."""
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    keys = [key for key in keys if key]
    if not keys:
        raise WebhookSignatureError("no webhook secret configured")
    if not header:
        raise WebhookSignatureError("missing signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise WebhookSignatureError("malformed signature header")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise WebhookSignatureError("timestamp outside tolerance (possible replay)")
    expected = [_digest(key, timestamp, body) for key in keys]
    if not any(hmac.compare_digest(e, c) for e in expected for c in candidates):
        raise WebhookSignatureError("signature mismatch")


def verify_webhook(
    secrets: str | Sequence[str],
    body: bytes,
    header: str | None,
    now: float | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> WebhookEvent:
    """Verifies the signature, then parses the body: the one call a receiver needs."""
    verify_signature(secrets, body, header, now, tolerance_s)
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise InvalidWebhookEvent("body", "请求体应为 JSON 对象。")
    return WebhookEvent.from_json(data)


def encode_event(event: WebhookEvent) -> bytes:
    """The exact bytes that are signed and sent."""
    return json.dumps(event.to_json(), ensure_ascii=False, separators=(",", ":")).encode()
