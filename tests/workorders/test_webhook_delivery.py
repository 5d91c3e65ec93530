"""Every status change reaches the webhook receiver signed, retried until it gets through;
the receiver (as the gateway does) verifies each delivery and rejects forgeries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from bot.settings import Settings
from bot.workorder_service.app import create_app
from bot.workorders.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    WebhookEvent,
    WebhookSignatureError,
    sign,
    verify_webhook,
)
from tests.support.workorders import (
    CITY,
    LiveServer,
    act,
    client_for,
    complaint,
    department_headers,
)
from tests.support.workorders import now as _now


@dataclass
class Receiver:
    secret: str
    fail_next: int = 0
    events: list[WebhookEvent] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    attempts: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        body = await request.read()
        try:
            event = verify_webhook(self.secret, body, request.headers.get(SIGNATURE_HEADER))
        except WebhookSignatureError as exc:
            self.rejected.append(exc.reason)
            return web.json_response({"error": "bad_signature"}, status=401)
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.json_response({"error": "busy"}, status=500)
        if event.event_id not in {seen.event_id for seen in self.events}:
            self.events.append(event)
        return web.json_response({"ok": True})


@pytest.fixture
async def receiver(wo_settings: Settings) -> AsyncIterator[tuple[Receiver, LiveServer]]:
    recv = Receiver(wo_settings.workorder_webhook_secret)
    server = LiveServer(recv.app)
    await server.start()
    yield recv, server
    await server.stop()


async def wait_for(condition: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_status_changes_are_pushed_signed_and_retried(
    receiver: tuple[Receiver, LiveServer], wo_settings: Settings, http: aiohttp.ClientSession
) -> None:
    recv, recv_server = receiver
    settings = wo_settings.with_overrides(workorder_webhook_url=f"{recv_server.url}/hook")
    service = LiveServer(lambda: create_app(settings, webhook_poll_s=0.1, sweep_interval_s=3600))
    await service.start()
    try:
        recv.fail_next = 2  # the gateway is briefly unhappy: the deliveries are retried
        client = client_for(http, service.url, settings)
        order = await client.create(complaint(), "SL2026112900301", _now())
        neighbour = complaint(phone="13900000000", channel="wechat", channel_user="openid-2")
        await client.merge(order.order_no, neighbour, "SL2026112900302")
        city = department_headers(settings, CITY)
        await act(http, service, city, order.order_no, "sign")
        await act(http, service, city, order.order_no, "reply", {"text": "路灯已修复。"})
        # accept + dispatch to the first citizen; sign and reply to both citizens
        await wait_for(lambda: len(recv.events) == 6, timeout_s=15)
    finally:
        await service.stop()
    first = [e for e in recv.events if e.channel_user == "visitor-1"]
    second = [e for e in recv.events if e.channel_user == "openid-2"]
    assert sorted(e.action for e in first) == ["accept", "dispatch", "reply", "sign"]
    assert sorted(e.action for e in second) == ["reply", "sign"]
    assert all(e.acceptance_no == "SL2026112900302" for e in second)
    reply = next(e for e in first if e.action == "reply")
    assert reply.status == "replied" and "路灯已修复" in reply.message
    assert "满意、基本满意或不满意" in reply.message
    dispatch = next(e for e in first if e.action == "dispatch")
    assert CITY in dispatch.message and "5个工作日" in dispatch.message
    assert {e.request_type for e in recv.events} == {complaint().request_type}
    assert all(e.rating is None for e in recv.events)  # nobody has rated yet
    assert all(e.confidential is False for e in recv.events)  # said, not left unknown
    assert recv.attempts >= 8 and not recv.rejected


async def test_a_confidential_order_says_so_in_every_event(
    receiver: tuple[Receiver, LiveServer], wo_settings: Settings, http: aiohttp.ClientSession
) -> None:
    recv, recv_server = receiver
    settings = wo_settings.with_overrides(workorder_webhook_url=f"{recv_server.url}/hook")
    service = LiveServer(lambda: create_app(settings, webhook_poll_s=0.1, sweep_interval_s=3600))
    await service.start()
    try:
        client = client_for(http, service.url, settings)
        order = await client.create(complaint(confidential=True), "SL2026112900311", _now())
        await act(http, service, department_headers(settings, CITY), order.order_no, "sign")
        await wait_for(lambda: len(recv.events) == 3)  # accept, dispatch, sign
    finally:
        await service.stop()
    assert sorted(e.action for e in recv.events) == ["accept", "dispatch", "sign"]
    assert all(e.confidential is True for e in recv.events)


async def test_receiver_rejects_a_forged_delivery(
    receiver: tuple[Receiver, LiveServer], http: aiohttp.ClientSession
) -> None:
    recv, server = receiver
    body = b'{"event_id":"x","order_no":"GD2026112900001"}'
    headers = {SIGNATURE_HEADER: sign("attacker-guess", body), EVENT_ID_HEADER: "x"}
    async with http.post(f"{server.url}/hook", data=body, headers=headers) as response:
        assert response.status == 401
    assert recv.rejected == ["signature mismatch"] and recv.events == []
