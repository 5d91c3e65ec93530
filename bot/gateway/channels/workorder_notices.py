"""The work-order system's status webhooks, turned into messages to the citizen.

``POST /webhooks/workorders`` receives one change of one order (signed with HMAC-SHA256
and a timestamp, see ``bot.workorders.webhooks``). A forged, altered or replayed delivery
is refused with 401 and never reaches a citizen; an authentic one with a missing or
wrongly typed field with 422 naming the field (the sender has a bug to fix). An authentic
one is told to the citizen who filed the order, on the channel they used: on the web chat
it is written to the transcript as the bot's turn and pushed to the open page (over the
handoff bus, so the replica holding the page delivers it), on WeChat it is sent as a
customer-service message.
When a department has answered, the order's number is also set in the conversation's Rasa
tracker, so that the citizen's "满意" or "不满意" is taken as the rating of that order.

Deliveries are retried by the sender until they are answered with 2xx, so each event is
recorded first (in the console's work-order log, ``bot.console.workorders``, which is also
where the console's work-order figures come from) and a repeat is acknowledged without
telling the citizen twice. The notices of creation and first dispatch are forwarded only
when they are news (:func:`news_of`): a citizen who got the order number in the assistant's
answer already knows both; one given an acceptance number (受理号) while the work-order
system was down or slow, or whose submitting turn was never answered (a process died in
the middle of it, and the citizen was asked to try again), does not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

import aiohttp
from aiohttp import web

from bot.clock import as_utc, utcnow
from bot.gateway import keys
from bot.gateway.channels.wechat import notify_wechat_citizen
from bot.gateway.responses import json_error, json_ok
from bot.wechat import CHANNEL as WECHAT
from bot.wechat import conversation_id_for, openid_of
from bot.workorders.webhooks import (
    SIGNATURE_HEADER,
    InvalidWebhookEvent,
    WebhookEvent,
    WebhookSignatureError,
    verify_webhook,
)

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/workorders"
WEBCHAT = "webchat"
_TOLD_ROWS = 500  # the latest rows of a conversation read for what the citizen was told


async def receive(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    body = await request.read()
    try:
        event = verify_webhook(
            settings.workorder_webhook_secret, body, request.headers.get(SIGNATURE_HEADER)
        )
    except InvalidWebhookEvent as exc:
        logger.warning("work-order webhook refused: %s", exc.reason)
        return json_ok({"error": "invalid_field", "field": exc.field, "message": exc.message}, 422)
    except WebhookSignatureError as exc:
        logger.warning("work-order webhook refused: %s", exc.reason)
        return json_error(401, "签名校验失败。", "invalid_signature")
    log = request.app[keys.CONSOLE].workorders
    if not await log.record(event):
        return json_ok({"status": "duplicate"})
    try:
        status = await deliver(request.app, event)
    except Exception:
        await log.forget(event)  # let the sender's retry try again
        raise
    if status == "pending":
        await log.forget(event)
        logger.info(
            "work-order notice waits for the citizen's answer",
            extra={"event": "workorder_notice", "status": status},
        )
        return json_error(503, ANSWER_PENDING_MESSAGE, "answer_pending")
    logger.info(
        "work-order notice %s",
        status,
        extra={"event": "workorder_notice", "order_no": event.order_no, "action": event.action},
    )
    return json_ok({"status": status})


def conversation_of(event: WebhookEvent) -> str:
    if event.conversation_id:
        return event.conversation_id
    if event.channel == WECHAT and event.channel_user:
        return conversation_id_for(event.channel_user)
    return event.channel_user


Verdict = Literal["news", "known", "pending"]

ANSWER_PENDING_MESSAGE = "该市民提交诉求的对话尚未答复完毕，请稍后重发此通知。"
ANSWER_MARGIN_S = 10.0
"""Beyond the gateway's wait for Rasa: writing the answer, and clocks a little apart."""


def news_of(
    event: WebhookEvent, rows: Sequence[Mapping[str, Any]], now: datetime, answer_wait_s: float
) -> Verdict:
    """Whether the creation or first dispatch of an order is news to the citizen (``rows``:
    the conversation's latest transcript rows, oldest first).

    The assistant's answer to a submission names the order, the handling unit and the
    deadline, or gives an acceptance number when the work-order system was down or slow.
    The webhook can arrive before that answer is written (``pending``: the sender retries
    later), and the answer never comes when the submitting turn failed. So: named in what
    the citizen was told → ``known``; told an acceptance number, or the order without its
    unit → ``news``; told neither, and no answer is coming any more → ``news``."""
    told = _told(rows)
    given_acceptance = _given_acceptance(event, told)
    numbered = any(event.order_no in t for t in told)
    if event.action == "accept":
        if given_acceptance:
            return "news"
        if numbered:
            return "known"
    else:
        if event.previous_status != "accepted":
            return "news"  # a later dispatch
        if any(event.order_no in t and event.department in t for t in told):
            return "known"
        if given_acceptance or numbered:
            return "news"
    return "pending" if _answer_coming(rows, now, answer_wait_s) else "news"


def _told(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(row["text"]) for row in rows if row["role"] != "citizen"]


def _given_acceptance(event: WebhookEvent, told: list[str]) -> bool:
    return bool(event.acceptance_no) and any(event.acceptance_no in t for t in told)


def _answer_coming(rows: Sequence[Mapping[str, Any]], now: datetime, answer_wait_s: float) -> bool:
    """The citizen spoke last, recently enough that the gateway may still be answering."""
    if not rows or rows[-1]["role"] != "citizen":
        return False
    spoke_at: datetime = as_utc(rows[-1]["created_at"])
    return (now - spoke_at).total_seconds() < answer_wait_s


async def deliver(app: web.Application, event: WebhookEvent) -> str:
    """Tells the citizen; returns what happened (delivered, published, recorded, known,
    pending, unaddressed) for the log and the sender."""
    conversation_id = conversation_of(event)
    if not conversation_id:
        return "unaddressed"
    transcript = app[keys.TRANSCRIPT]
    text = event.message
    if event.action in ("accept", "dispatch"):
        rows = await transcript.latest(conversation_id, _TOLD_ROWS)
        wait_s = app[keys.SETTINGS].rasa_timeout_s + ANSWER_MARGIN_S
        verdict = news_of(event, rows, utcnow(), wait_s)
        if verdict != "news":
            return verdict
        if event.action == "accept" and _given_acceptance(event, _told(rows)):
            text = (
                f"您受理号为 {event.acceptance_no} 的诉求已生成工单，工单号 {event.order_no}，"
                "我们会尽快派至承办单位办理。"
            )
    if event.status == "replied":
        # "请您对办理结果进行评价": a "不满意" that follows is about this order
        await _remember_order(app, conversation_id, event.order_no)
    data: dict[str, Any] = {
        "status": "workorder",
        "workorder": {
            "event_id": event.event_id,
            "order_no": event.order_no,
            "action": event.action,
            "status": event.status,
        },
    }
    if event.channel == WECHAT:
        openid = event.channel_user or openid_of(conversation_id) or ""
        delivered = await notify_wechat_citizen(app, openid, text)
        await transcript.append(
            conversation_id, WECHAT, "bot", text, {**data, "delivered": delivered}
        )
        return "delivered" if delivered else "recorded"
    row_id = await transcript.append(conversation_id, event.channel or WEBCHAT, "bot", text, data)
    if event.channel != WEBCHAT:
        return "recorded"
    frame = {"type": "bot", "status": "workorder", "messages": [{"text": text}]}
    if keys.HANDOFF in app:
        # every replica hears the bus; the one holding the page pushes and marks the row
        await app[keys.HANDOFF].bus.publish(
            {
                "kind": "citizen",
                "conversation_id": conversation_id,
                "row_id": row_id,
                "frame": frame,
            }
        )
        return "published"
    pushed = await app[keys.CITIZEN_SOCKETS].push(conversation_id, frame)
    if pushed:
        await transcript.annotate(row_id, {"delivered": True})
    return "delivered" if pushed else "recorded"


async def _remember_order(app: web.Application, conversation_id: str, order_no: str) -> None:
    """Sets the dialogue's ``ticket_number`` through Rasa's tracker API; best effort."""
    settings = app[keys.SETTINGS]
    url = (
        f"{settings.rasa_url.rstrip('/')}/conversations/"
        f"{quote(conversation_id, safe=':')}/tracker/events"
    )
    slot = {"event": "slot", "name": "ticket_number", "value": order_no, "timestamp": time.time()}
    try:
        async with app[keys.HTTP].post(
            url,
            params={"token": settings.rasa_token, "include_events": "NONE"},
            json=slot,
            timeout=aiohttp.ClientTimeout(total=5),
        ) as response:
            if response.status != 200:
                logger.warning("rasa refused the order number slot: %s", response.status)
    except (TimeoutError, aiohttp.ClientError) as exc:
        logger.warning("rasa unreachable for the order number slot: %s", exc)
