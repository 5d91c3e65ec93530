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

SIGNATURE_HEADER = "X-Workorder-Signature"
EVENT_ID_HEADER = "X-Workorder-Event-Id"
DEFAULT_TOLERANCE_S = 300
EVENT_TYPE = "order.changed"


class WebhookSignatureError(ValueError):
    """The delivery is not authentic or too old; ``reason`` is for the log, never the sender."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
        known = fields(cls)
        required = (f.name for f in known if f.default is MISSING)
        missing = [name for name in required if name not in data]
        if missing:
            raise ValueError(f"webhook event lacks {', '.join(missing)}")
        return cls(**{f.name: data[f.name] for f in known if f.name in data})


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
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return WebhookEvent.from_json(data)
    except ValueError as exc:
        raise WebhookSignatureError(f"signed body is not a work-order event: {exc}") from exc


def encode_event(event: WebhookEvent) -> bytes:
    """The exact bytes that are signed and sent."""
    return json.dumps(event.to_json(), ensure_ascii=False, separators=(",", ":")).encode()
