"""The reference work-order service over real HTTP: the connector as the assistant's client,
department and centre users with their tokens, OpenAPI, idempotency, verification, 并单."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import aiohttp
import pytest

from bot.settings import Settings
from bot.workorder_service import keys
from bot.workorder_service.auth import Kind, issue_token
from bot.workorders.errors import (
    WorkOrderConflict,
    WorkOrderForbidden,
    WorkOrderInvalid,
    WorkOrderNotFound,
    WorkOrderUnavailable,
)
from bot.workorders.models import ContactProof, Rating, Status
from tests.support.workorders import (
    CITY,
    PHONE,
    LiveServer,
    act,
    center_headers,
    client_for,
    complaint,
    department_headers,
    post,
)
from tests.support.workorders import now as _now


async def test_openapi_documents_every_route(
    service: LiveServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{service.url}/openapi.json") as response:
        assert response.status == 200
        document = await response.json()
    assert document["openapi"].startswith("3.")
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert service.app is not None
    routed = set()
    for route in service.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter", "")
        path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)
        if route.method != "HEAD":
            routed.add((route.method, path))
    assert routed == documented


async def test_life_cycle_through_the_api(
    service: LiveServer, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    client = client_for(http, service.url, wo_settings)
    order = await client.create(complaint(), "SL2026112900001", _now())
    assert re.fullmatch(r"GD\d{13}", order.order_no)
    assert order.status is Status.DISPATCHED and order.department == CITY
    assert order.acceptance_no == "SL2026112900001"
    assert order.deadline is not None and order.deadline.description == "5个工作日"
    city = department_headers(wo_settings, CITY)
    await act(http, service, city, order.order_no, "sign")
    await act(http, service, city, order.order_no, "start", {"note": "已派人查看"})
    await act(http, service, city, order.order_no, "reply", {"text": "路灯已于今日修复。"})

    seen = await client.get(order.order_no, PHONE)
    assert seen.full and seen.reply == "路灯已于今日修复。" and seen.status is Status.REPLIED
    assert [e.label for e in seen.history] == ["受理", "派单", "签收", "办理", "答复"]

    reworked = await client.rate(order.order_no, PHONE, Rating.DISSATISFIED, "晚上还是不亮")
    assert reworked.status is Status.DISPATCHED and reworked.rework_count == 1
    await act(http, service, city, order.order_no, "sign")
    await act(http, service, city, order.order_no, "reply", {"text": "已更换灯具并复查。"})
    closed = await client.rate(order.order_no, PHONE, Rating.SATISFIED)
    assert closed.status is Status.CLOSED and closed.rating is Rating.SATISFIED
    with pytest.raises(WorkOrderConflict) as raised:
        await client.rate(order.order_no, PHONE, Rating.SATISFIED)
    assert "已经评价" in raised.value.message


async def test_return_reassign_extension_supervision_by_centre(
    service: LiveServer, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    client = client_for(http, service.url, wo_settings)
    order = await client.create(complaint(content="河道里有人倾倒垃圾"), "key-return", _now())
    city, centre = department_headers(wo_settings, CITY), center_headers(wo_settings)
    returned = await act(
        http, service, city, order.order_no, "return", {"reason": "属于水务部门职责"}
    )
    assert returned["status"] == "returned"
    await act(http, service, centre, order.order_no, "reassign", {"department": "市水务局"})
    water = department_headers(wo_settings, "市水务局")
    await act(http, service, water, order.order_no, "sign")
    asked = await act(
        http, service, water, order.order_no, "extension", {"days": 3, "reason": "需上游排查"}
    )
    decided = await act(
        http, service, centre, order.order_no, "extension/decision", {"approve": True}
    )
    assert decided["deadline"]["due_at"] > asked["deadline"]["due_at"]
    supervised = await act(
        http, service, centre, order.order_no, "supervise", {"reason": "群众反映强烈"}
    )
    assert supervised["supervised"] is True
    async with http.get(f"{service.url}/api/v1/orders", headers=water) as response:
        mine = (await response.json())["orders"]
    assert [o["order_no"] for o in mine] == [order.order_no]
    async with http.get(f"{service.url}/api/v1/orders", headers=city) as response:
        assert (await response.json())["orders"] == []


async def test_tokens_and_roles_are_enforced(
    service: LiveServer, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    client = client_for(http, service.url, wo_settings)
    order = await client.create(complaint(), "key-auth", _now())
    url = f"{service.url}/api/v1/orders/{order.order_no}/sign"
    status, data = await post(http, url, {}, {})
    assert status == 401 and "令牌" in data["message"]
    forged = issue_token("wrong-secret", Kind.DEPARTMENT, CITY)
    status, _ = await post(http, url, {"Authorization": f"Bearer {forged}"}, {})
    assert status == 401
    status, data = await post(http, url, department_headers(wo_settings, "市教育局"), {})
    assert status == 403 and "不属于您的单位" in data["message"]
    client_token = {"Authorization": f"Bearer {wo_settings.workorder_api_token}"}
    status, data = await post(http, url, client_token, {})
    assert status == 403 and "没有权限" in data["message"]
    status, _ = await post(
        http, f"{service.url}/api/v1/orders", department_headers(wo_settings, CITY), {}
    )
    assert status == 403


async def test_create_is_idempotent_and_keys_cannot_be_reused(
    service: LiveServer, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    client = client_for(http, service.url, wo_settings)
    first, second = await asyncio.gather(
        client.create(complaint(), "SL2026112900077", _now()),
        client.create(complaint(), "SL2026112900077", _now()),
    )
    assert first.order_no == second.order_no
    with pytest.raises(WorkOrderInvalid) as raised:
        await client.create(complaint(content="另一件事"), "SL2026112900077", _now())
    assert "幂等键" in raised.value.message
    headers = {"Authorization": f"Bearer {wo_settings.workorder_api_token}"}
    status, data = await post(
        http, f"{service.url}/api/v1/orders", headers, {"request": complaint().to_json()}
    )
    assert status == 400 and data["error"] == "idempotency_key_required"


async def test_invalid_requests_get_chinese_messages(
    service: LiveServer, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    client = client_for(http, service.url, wo_settings)
    with pytest.raises(WorkOrderInvalid) as raised:
        await client.create(complaint(phone="12345"), "key-bad-phone", _now())
    assert "位" in raised.value.message
    with pytest.raises(WorkOrderNotFound):
        await client.get("GD2026010100001")
    with pytest.raises(WorkOrderNotFound) as malformed:
        await client.get("GD123")
    assert "GD" in malformed.value.message


async def test_public_view_hides_content_until_the_phone_matches(
    service: LiveServer, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    client = client_for(http, service.url, wo_settings)
    order = await client.create(complaint(), "key-view", _now())
    public = await client.get(order.order_no)
    assert not public.full and public.content == "" and public.history == ()
    assert public.status is Status.DISPATCHED and public.deadline is not None
    assert not (await client.get(order.order_no, "13900000000")).full
    assert (await client.get(order.order_no, "+86 138 1234 5678")).content.startswith("幸福小区")
    with pytest.raises(WorkOrderForbidden) as raised:
        await client.supplement(order.order_no, "13900000000", "补充")
    assert "联系电话" in raised.value.message


async def test_listing_by_phone_needs_proof(
    service: LiveServer, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    client = client_for(http, service.url, wo_settings)
    first = await client.create(complaint(), "SL2026112900101", _now())
    await client.create(
        complaint(content="小区供暖不热", department="济南热力集团"), "SL2026112900102", _now()
    )
    await client.create(complaint(phone="13900000000"), "SL2026112900103", _now())
    mine = await client.list_by_contact(PHONE, ContactProof(order_no=first.order_no))
    assert len(mine) == 2 and all(view.full for view in mine)
    assert {view.department for view in mine} == {CITY, "济南热力集团"}
    by_acceptance = await client.list_by_contact(PHONE, ContactProof(order_no="SL2026112900102"))
    assert len(by_acceptance) == 2
    by_channel = await client.list_by_contact(
        PHONE, ContactProof(channel="webchat", channel_user="visitor-1")
    )
    assert len(by_channel) == 2
    with pytest.raises(WorkOrderForbidden) as raised:
        await client.list_by_contact(PHONE, ContactProof(order_no="GD2099010100001"))
    assert "核验" in raised.value.message
    for _ in range(4):
        with pytest.raises(WorkOrderForbidden):
            await client.list_by_contact(PHONE, ContactProof(channel="wechat", channel_user="x"))
    with pytest.raises(WorkOrderUnavailable) as too_many:
        await client.list_by_contact(PHONE, ContactProof(order_no=first.order_no))
    assert too_many.value.status == 429


async def test_similar_open_orders_and_merge(
    service: LiveServer, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    client = client_for(http, service.url, wo_settings)
    original = await client.create(complaint(), "SL2026112900201", _now())
    await client.create(
        complaint(content="家里没有热水", address="槐荫区经十路100号", district="槐荫区"),
        "SL2026112900202",
        _now(),
    )
    await client.create(complaint(confidential=True), "SL2026112900203", _now())
    neighbour = complaint(
        content="3号楼门口路灯不亮，晚上走路很危险",
        address="济南市历下区幸福小区3号楼门口",
        phone="0531-86081234",
        channel_user="visitor-2",
    )
    candidates = await client.similar_open(neighbour)
    assert [c.number for c in candidates] == [original.order_no]
    assert "路灯" in candidates[0].summary and "13812345678" not in candidates[0].summary
    merged = await client.merge(original.order_no, neighbour, "SL2026112900204")
    assert merged.order_no == original.order_no and merged.content == ""
    again = await client.merge(original.order_no, neighbour, "SL2026112900204")
    assert again.order_no == original.order_no  # idempotent
    theirs = await client.get(original.order_no, "0531-86081234")
    assert theirs.full and theirs.content == ""  # another citizen's words stay private
    with pytest.raises(WorkOrderForbidden) as raised:
        await client.cancel(original.order_no, "0531-86081234")
    assert "并单" in raised.value.message
    listed = await client.list_by_contact("0531-86081234", ContactProof(order_no="SL2026112900204"))
    assert [view.order_no for view in listed] == [original.order_no]


async def test_deadline_sweep_supervises_overdue_and_closes_unrated(
    service: LiveServer, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    client = client_for(http, service.url, wo_settings)
    overdue = await client.create(complaint(), "key-sweep-1", _now())
    answered = await client.create(complaint(content="垃圾桶满了没人清"), "key-sweep-2", _now())
    city = department_headers(wo_settings, CITY)
    await act(http, service, city, answered.order_no, "sign")
    await act(http, service, city, answered.order_no, "reply", {"text": "已清运"})
    assert service.app is not None
    engine = service.app[keys.SERVICE]
    engine.clock = lambda: _now() + timedelta(days=20)
    centre = center_headers(wo_settings)
    async with http.get(f"{service.url}/api/v1/orders?card=red", headers=centre) as response:
        red = [order["order_no"] for order in (await response.json())["orders"]]
    assert red == [overdue.order_no]  # the answered order carries no card
    assert await engine.sweep() == 2
    late = await client.get(overdue.order_no, PHONE)
    assert late.supervised and late.card.value == "red"
    assert late.history[-1].label == "督办"
    assert (await client.get(answered.order_no)).status is Status.CLOSED
    assert await engine.sweep() == 0
