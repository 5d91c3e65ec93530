"""The gateway's receiver of work-order webhooks: authentic changes reach the citizen on
their channel and the transcript; forged, altered or replayed ones are refused."""

from __future__ import annotations

import json
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.console.workorders import event_log
from bot.gateway import keys
from bot.gateway.app import create_app
from bot.gateway.channels.workorder_notices import WEBHOOK_PATH, news_of
from bot.settings import Settings
from bot.workorders.webhooks import SIGNATURE_HEADER, WebhookEvent, encode_event, sign
from tests.wechat.wechat_fakes import FakeWeChatApi

SECRET = "webhook-secret-for-tests"
ORDER_NO = "GD2026112900042"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def event(cid: str, **changes: Any) -> WebhookEvent:
    base: dict[str, Any] = {
        "event_id": uuid.uuid4().hex,
        "order_no": ORDER_NO,
        "acceptance_no": "SL2026112900042",
        "action": "sign",
        "action_label": "签收",
        "status": "signed",
        "status_label": "已签收",
        "previous_status": "dispatched",
        "department": "济南市城市管理局",
        "deadline": None,
        "at": "2026-11-29T08:00:00+00:00",
        "channel": "webchat",
        "channel_user": cid,
        "conversation_id": cid,
        "message": f"济南市城市管理局已签收您的工单 {ORDER_NO}，正在安排办理。",
    }
    return WebhookEvent(**{**base, **changes})


async def post(
    client: TestClient[web.Request, web.Application],
    item: WebhookEvent,
    secret: str = SECRET,
    at: int | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    raw = encode_event(item) if body is None else body
    headers = {
        SIGNATURE_HEADER: sign(secret, encode_event(item), at),
        "Content-Type": "application/json",
    }
    response = await client.post(WEBHOOK_PATH, data=raw, headers=headers)
    return response.status, await response.json()


@pytest.fixture
def gateway_settings(settings: Settings) -> Settings:
    return settings.with_overrides(
        rasa_url=f"http://127.0.0.1:{closed_port()}", workorder_webhook_secret=SECRET
    )


@pytest.fixture
async def client(
    aiohttp_client: Any, gateway_settings: Settings
) -> TestClient[web.Request, web.Application]:
    app_client: TestClient[web.Request, web.Application] = await aiohttp_client(
        create_app(gateway_settings)
    )
    return app_client


async def bot_rows(client: TestClient[web.Request, web.Application], cid: str) -> list[Any]:
    rows = await client.app[keys.TRANSCRIPT].history(cid)
    return [row for row in rows if row["role"] == "bot"]


async def test_a_status_change_reaches_the_open_web_chat_and_the_transcript(
    client: TestClient[web.Request, web.Application],
) -> None:
    cid = f"web-{uuid.uuid4().hex[:8]}"
    ws = await client.ws_connect(f"/ws?conversation_id={cid}")
    assert json.loads((await ws.receive()).data)["type"] == "session"
    assert json.loads((await ws.receive()).data)["type"] == "history"
    status, body = await post(client, event(cid))
    assert status == 200 and body["status"] in {"published", "delivered"}
    frame = json.loads((await ws.receive(timeout=30)).data)
    assert frame["type"] == "bot" and frame["status"] == "workorder"
    assert "已签收您的工单" in frame["messages"][0]["text"]
    rows = await bot_rows(client, cid)
    assert [row["text"] for row in rows] == [frame["messages"][0]["text"]]
    assert rows[0]["data"]["workorder"]["order_no"] == ORDER_NO
    assert rows[0]["data"].get("delivered") is True
    await ws.close()


async def test_without_an_open_page_the_notice_waits_in_the_transcript(
    client: TestClient[web.Request, web.Application],
) -> None:
    cid = f"web-{uuid.uuid4().hex[:8]}"
    status, _ = await post(client, event(cid))
    assert status == 200
    rows = await bot_rows(client, cid)
    assert len(rows) == 1 and not rows[0]["data"].get("delivered")


async def test_forged_altered_and_replayed_deliveries_are_refused(
    client: TestClient[web.Request, web.Application],
) -> None:
    cid = f"web-{uuid.uuid4().hex[:8]}"
    forged = await post(client, event(cid), secret="an-attackers-guess")
    assert forged == (401, {"error": "invalid_signature", "message": "签名校验失败。"})
    genuine = event(cid)
    altered = encode_event(event(cid, message="请点击链接领取补贴：http://example.invalid"))
    assert (await post(client, genuine, body=altered))[0] == 401
    stale = await post(client, event(cid), at=int(time.time()) - 3600)
    assert stale[0] == 401
    unsigned = await client.post(WEBHOOK_PATH, data=encode_event(event(cid)))
    assert unsigned.status == 401
    assert await bot_rows(client, cid) == []


async def test_a_retried_delivery_is_told_once(
    client: TestClient[web.Request, web.Application],
) -> None:
    cid = f"web-{uuid.uuid4().hex[:8]}"
    change = event(cid)
    assert (await post(client, change))[0] == 200
    assert await post(client, change) == (200, {"status": "duplicate"})
    assert len(await bot_rows(client, cid)) == 1


async def test_the_confidential_flag_is_recorded_for_the_training_export(
    client: TestClient[web.Request, web.Application],
) -> None:
    """保密 as the platform said it (None: not said) is kept with each event, so the routing
    training export can leave the order out (``bot.routing.feedback``)."""
    cid = f"web-{uuid.uuid4().hex[:8]}"
    said = {f"GD{uuid.uuid4().int % 10**13:013d}": flag for flag in (True, False, None)}
    for order_no, flag in said.items():
        assert (await post(client, event(cid, order_no=order_no, confidential=flag)))[0] == 200
    log = event_log.c
    async with client.app[keys.CONSOLE].workorders.engine.connect() as conn:
        found = await conn.execute(
            select(log.order_no, log.confidential).where(log.order_no.in_(list(said)))
        )
        assert dict(found.tuples().all()) == said


async def test_the_order_number_is_told_only_to_who_got_an_acceptance_number(
    client: TestClient[web.Request, web.Application],
) -> None:
    transcript = client.app[keys.TRANSCRIPT]
    told_number = f"web-{uuid.uuid4().hex[:8]}"
    await transcript.append(told_number, "webchat", "bot", f"您的诉求已受理，工单号 {ORDER_NO}。")
    created = {"action": "accept", "status": "accepted", "message": "您的诉求已受理……"}
    assert (await post(client, event(told_number, **created)))[1] == {"status": "known"}
    assert len(await bot_rows(client, told_number)) == 1

    waiting = f"web-{uuid.uuid4().hex[:8]}"
    await transcript.append(
        waiting, "webchat", "bot", "您的诉求已受理，受理号 SL2026112900042，工单号生成后会通知您。"
    )
    status, _ = await post(client, event(waiting, **created))
    assert status == 200
    notice = (await bot_rows(client, waiting))[-1]["text"]
    assert "SL2026112900042" in notice and ORDER_NO in notice


async def test_after_the_answer_the_dialogue_knows_which_order_to_rate(
    aiohttp_client: Any, gateway_settings: Settings
) -> None:
    recorded: list[tuple[str, str, dict[str, Any]]] = []

    async def tracker_events(request: web.Request) -> web.Response:
        recorded.append(
            (request.match_info["cid"], request.query.get("token", ""), await request.json())
        )
        return web.json_response({})

    rasa = web.Application()
    rasa.router.add_post("/conversations/{cid}/tracker/events", tracker_events)
    server = TestServer(rasa)
    await server.start_server()
    try:
        settings = gateway_settings.with_overrides(rasa_url=str(server.make_url("")).rstrip("/"))
        client: TestClient[web.Request, web.Application] = await aiohttp_client(
            create_app(settings)
        )
        cid = f"web-{uuid.uuid4().hex[:8]}"
        replied = {"action": "reply", "status": "replied", "message": "已答复……请您评价。"}
        assert (await post(client, event(cid, **replied)))[0] == 200
        assert (await post(client, event(cid)))[0] == 200  # other changes leave it alone
    finally:
        await server.close()
    assert len(recorded) == 1
    conversation, token, slot = recorded[0]
    assert (conversation, token) == (cid, settings.rasa_token)
    assert (slot["event"], slot["name"], slot["value"]) == ("slot", "ticket_number", ORDER_NO)


NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def said(role: str, text: str, seconds_ago: float = 60.0) -> dict[str, Any]:
    return {"role": role, "text": text, "created_at": NOW - timedelta(seconds=seconds_ago)}


def test_creation_and_first_dispatch_are_news_unless_the_answer_named_them() -> None:
    first = {"action": "dispatch", "status": "dispatched", "previous_status": "accepted"}
    dispatch = event("c", **first)
    named = f"您的诉求已受理，工单号 {ORDER_NO}，由济南市城市管理局办理，办理时限5个工作日。"

    def verdict(item: WebhookEvent, *rows: dict[str, Any]) -> str:
        return news_of(item, rows, NOW, answer_wait_s=40)

    assert verdict(dispatch, said("citizen", "我要投诉", 60), said("bot", named, 59)) == "known"
    assert verdict(dispatch, said("bot", "您的诉求已受理，受理号 SL2026112900042……")) == "news"
    assert verdict(dispatch, said("bot", f"您的诉求已受理，工单号 {ORDER_NO}。")) == "news"
    again = event("c", action="dispatch", status="dispatched", previous_status="returned")
    assert verdict(again, said("bot", named)) == "news"  # re-dispatched after 退单
    created = event("c", action="accept", status="accepted")
    assert verdict(created, said("bot", named)) == "known"
    # A citizen who typed the number themselves was not told it.
    assert verdict(created, said("citizen", f"{ORDER_NO}办得怎么样了")) == "news"


def test_without_an_answer_the_creation_is_news_once_no_answer_can_come() -> None:
    """The submitting turn is still being answered (the webhook came first): wait. The turn
    failed (the citizen was asked to try again) or its answer never came: news."""
    created = event("c", action="accept", status="accepted")
    asked = said("citizen", "小区门口路灯坏了一个星期了，地址是****路**号", 5)
    assert news_of(created, [asked], NOW, answer_wait_s=40) == "pending"
    assert news_of(created, [asked], NOW + timedelta(seconds=36), answer_wait_s=40) == "news"
    failed = said("bot", "抱歉，刚才没能处理好您的消息，请您再发送一次。", 4)
    assert news_of(created, [asked, failed], NOW, answer_wait_s=40) == "news"
    dispatch = event("c", action="dispatch", status="dispatched", previous_status="accepted")
    assert news_of(dispatch, [asked], NOW, answer_wait_s=40) == "pending"
    assert news_of(dispatch, [asked, failed], NOW, answer_wait_s=40) == "news"


async def test_a_submission_whose_answer_was_lost_is_announced_when_the_order_is_created(
    client: TestClient[web.Request, web.Application],
) -> None:
    """The action server died while submitting: the order was created from the outbox, but
    the citizen only heard "请您再发送一次". While the turn may still be answered the
    sender is asked to retry; once the citizen has that answer, the retry tells them."""
    transcript = client.app[keys.TRANSCRIPT]
    cid = f"web-{uuid.uuid4().hex[:8]}"
    await transcript.append(cid, "webchat", "citizen", "小区门口路灯坏了一个星期了")
    created = event(
        cid,
        action="accept",
        status="accepted",
        message=f"您的诉求已受理，工单号 {ORDER_NO}，我们会尽快派至承办单位办理。",
    )
    status, body = await post(client, created)
    assert (status, body["error"]) == (503, "answer_pending")
    assert await bot_rows(client, cid) == []

    await transcript.append(cid, "webchat", "bot", "抱歉，刚才没能处理好您的消息，请您再发送一次。")
    status, body = await post(client, created)  # the sender's retry
    assert status == 200 and body["status"] in {"recorded", "published", "delivered"}
    notice = (await bot_rows(client, cid))[-1]["text"]
    assert ORDER_NO in notice and "已受理" in notice
    assert (await post(client, created))[1] == {"status": "duplicate"}


async def test_a_wechat_citizen_gets_a_customer_service_message(
    aiohttp_client: Any, gateway_settings: Settings
) -> None:
    api = FakeWeChatApi(app_id="wx" + uuid.uuid4().hex[:16], app_secret=uuid.uuid4().hex)
    server = TestServer(api.app())
    await server.start_server()
    api.url = str(server.make_url("")).rstrip("/")
    try:
        settings = gateway_settings.with_overrides(
            wechat_app_id=api.app_id,
            wechat_app_secret=api.app_secret,
            wechat_token="tok" + uuid.uuid4().hex[:12],
            wechat_api_base=api.url,
        )
        client: TestClient[web.Request, web.Application] = await aiohttp_client(
            create_app(settings)
        )
        openid = "o" + uuid.uuid4().hex[:27]
        change = event("", channel="wechat", channel_user=openid, conversation_id="")
        status, body = await post(client, change)
        assert (status, body) == (200, {"status": "delivered"})
        assert await api.wait_for_texts(openid, 1) == [change.message]
        rows = await bot_rows(client, f"wx:{openid}")
        assert rows[0]["channel"] == "wechat" and rows[0]["data"]["delivered"] is True
    finally:
        await server.close()


async def test_an_authentic_delivery_with_a_wrongly_typed_field_is_refused_naming_it(
    client: TestClient[web.Request, web.Application],
) -> None:
    cid = f"web-{uuid.uuid4().hex[:8]}"
    body = json.dumps({**event(cid).to_json(), "order_no": 42}).encode()
    headers = {SIGNATURE_HEADER: sign(SECRET, body), "Content-Type": "application/json"}
    response = await client.post(WEBHOOK_PATH, data=body, headers=headers)
    answer = await response.json()
    assert response.status == 422, answer
    assert answer["error"] == "invalid_field" and answer["field"] == "order_no"
    assert "order_no" in answer["message"]
    assert await bot_rows(client, cid) == []
