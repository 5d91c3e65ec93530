"""Webhook signatures: authentic deliveries pass; forged, altered and replayed ones fail."""

from __future__ import annotations

import json
import time

import pytest

from bot.workorders.webhooks import (
    InvalidWebhookEvent,
    WebhookEvent,
    WebhookSignatureError,
    encode_event,
    sign,
    verify_signature,
    verify_webhook,
)

SECRET = "s3cret-for-tests"


def event() -> WebhookEvent:
    return WebhookEvent(
        event_id="e1",
        order_no="GD2026112900012",
        acceptance_no="SL2026112900001",
        action="sign",
        action_label="签收",
        status="signed",
        status_label="已签收",
        previous_status="dispatched",
        department="市城市管理局",
        deadline="2026-12-04T23:59:59+08:00",
        at="2026-11-29T10:00:00+08:00",
        channel="webchat",
        channel_user="visitor-1",
        conversation_id="c-1",
        message="市城市管理局已签收您的工单 GD2026112900012，正在安排办理。",
    )


def test_authentic_delivery_is_accepted_and_parsed() -> None:
    body = encode_event(event())
    header = sign(SECRET, body)
    parsed = verify_webhook(SECRET, body, header)
    assert parsed == event()
    assert "签收" in body.decode()  # UTF-8, not \\u escapes


def test_forged_signature_is_rejected() -> None:
    body = encode_event(event())
    forged = sign("not-the-secret", body)
    with pytest.raises(WebhookSignatureError, match="mismatch"):
        verify_webhook(SECRET, body, forged)


def test_altered_body_is_rejected() -> None:
    body = encode_event(event())
    header = sign(SECRET, body)
    data = json.loads(body)
    data["status"] = "closed"
    altered = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    with pytest.raises(WebhookSignatureError, match="mismatch"):
        verify_webhook(SECRET, altered, header)


def test_replay_of_an_old_delivery_is_rejected() -> None:
    body = encode_event(event())
    old = int(time.time()) - 3600
    header = sign(SECRET, body, timestamp=old)
    verify_signature(SECRET, body, header, now=old + 10)  # fine when it was fresh
    with pytest.raises(WebhookSignatureError, match="replay"):
        verify_signature(SECRET, body, header)
    # moving the timestamp forward breaks the signature, because it is signed too
    moved = header.replace(f"t={old}", f"t={int(time.time())}")
    with pytest.raises(WebhookSignatureError, match="mismatch"):
        verify_signature(SECRET, body, moved)


@pytest.mark.parametrize("header", [None, "", "v1=abc", "t=123", "t=abc,v1=def", "garbage"])
def test_missing_or_malformed_headers_are_rejected(header: str | None) -> None:
    with pytest.raises(WebhookSignatureError):
        verify_signature(SECRET, b"{}", header, now=123)


def test_secret_rotation_accepts_either_secret() -> None:
    body = encode_event(event())
    header = sign("old-secret", body)
    verify_webhook(["new-secret", "old-secret"], body, header)
    with pytest.raises(WebhookSignatureError, match="no webhook secret"):
        verify_webhook([""], body, header)


def test_signed_body_that_is_not_an_event_is_rejected() -> None:
    body = b'{"hello": "world"}'
    with pytest.raises(WebhookSignatureError, match="not a work-order event"):
        verify_webhook(SECRET, body, sign(SECRET, body))


def test_request_type_and_rating_are_signed_and_optional() -> None:
    rated = WebhookEvent(**{**event().to_json(), "request_type": "投诉", "rating": "satisfied"})
    body = encode_event(rated)
    parsed = verify_webhook(SECRET, body, sign(SECRET, body))
    assert (parsed.request_type, parsed.rating) == ("投诉", "satisfied")
    data = json.loads(body)
    data["rating"] = "dissatisfied"
    with pytest.raises(WebhookSignatureError, match="mismatch"):
        verify_webhook(SECRET, json.dumps(data).encode(), sign(SECRET, body))
    del data["request_type"], data["rating"]  # another platform's event, without them
    plain = json.dumps(data, ensure_ascii=False).encode()
    parsed = verify_webhook(SECRET, plain, sign(SECRET, plain))
    assert (parsed.request_type, parsed.rating) == ("", None)


def test_confidential_is_signed_and_optional() -> None:
    secret = WebhookEvent(**{**event().to_json(), "confidential": True})
    body = encode_event(secret)
    assert '"confidential":true' in body.decode()
    parsed = verify_webhook(SECRET, body, sign(SECRET, body))
    assert parsed.confidential is True and parsed == secret
    data = json.loads(body)
    data["confidential"] = False  # unmarking a 保密 order in transit is caught
    with pytest.raises(WebhookSignatureError, match="mismatch"):
        verify_webhook(SECRET, json.dumps(data).encode(), sign(SECRET, body))
    del data["confidential"]  # another platform's event, without the flag: not known
    plain = json.dumps(data, ensure_ascii=False).encode()
    parsed = verify_webhook(SECRET, plain, sign(SECRET, plain))
    assert parsed.confidential is None


@pytest.mark.parametrize(
    ("name", "value"),
    [("order_no", 12345), ("deadline", 3), ("confidential", "yes"), ("rating", ["x"])],
)
def test_a_signed_event_with_a_wrongly_typed_field_names_the_field(
    name: str, value: object
) -> None:
    body = json.dumps({**event().to_json(), name: value}).encode()
    with pytest.raises(InvalidWebhookEvent) as raised:
        verify_webhook(SECRET, body, sign(SECRET, body))
    assert raised.value.field == name and name in raised.value.message
