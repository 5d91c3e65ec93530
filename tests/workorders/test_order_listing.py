"""The centre's order list comes in pages with a total: nothing is cut off unannounced."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp

from bot.settings import Settings
from bot.workorder_service import keys
from bot.workorders.models import Status
from connectors.workorders import HttpWorkOrderSystem
from tests.support.workorders import (
    CITY,
    LiveServer,
    center_headers,
    client_for,
    complaint,
    department_headers,
)
from tests.support.workorders import now as _now


async def _page(
    http: aiohttp.ClientSession, service: LiveServer, headers: dict[str, str], query: str
) -> tuple[int, dict[str, Any]]:
    async with http.get(f"{service.url}/api/v1/orders?{query}", headers=headers) as response:
        return response.status, await response.json()


async def test_pages_follow_on_with_a_cursor_and_a_total(
    service: LiveServer, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    client = client_for(http, service.url, wo_settings)
    created = [
        await client.create(complaint(content=f"第{i}处路灯不亮"), f"key-page-{i}", _now())
        for i in range(5)
    ]
    await client.create(
        complaint(content="家里没有热水", department="济南热力集团"), "key-page-heat", _now()
    )
    centre = center_headers(wo_settings)
    seen: list[str] = []
    cursor = ""
    for expected in (2, 2, 2):
        status, page = await _page(http, service, centre, f"limit=2&cursor={cursor}")
        assert status == 200 and page["total"] == 6 and len(page["orders"]) == expected
        seen += [order["order_no"] for order in page["orders"]]
        cursor = page["next_cursor"] or ""
    assert cursor == "" and len(set(seen)) == 6
    city = department_headers(wo_settings, CITY)
    status, page = await _page(http, service, city, "limit=3")
    assert page["total"] == 5 and len(page["orders"]) == 3 and page["next_cursor"]
    status, rest = await _page(http, service, city, f"limit=3&cursor={page['next_cursor']}")
    numbers = [o["order_no"] for o in page["orders"] + rest["orders"]]
    assert sorted(numbers) == sorted(order.order_no for order in created)
    assert rest["next_cursor"] is None
    assert service.app is not None
    service.app[keys.SERVICE].clock = lambda: _now() + timedelta(days=20)
    status, red = await _page(http, service, centre, "card=red&limit=4")
    assert red["total"] == 6 and len(red["orders"]) == 4
    status, more = await _page(http, service, centre, f"card=red&cursor={red['next_cursor']}")
    assert len(more["orders"]) == 2 and more["next_cursor"] is None


async def test_a_bad_limit_or_cursor_is_refused_in_chinese(
    service: LiveServer, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    centre = center_headers(wo_settings)
    for query, field in (
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=%C2%B2", "limit"),
        ("cursor=xyz", "cursor"),
    ):
        status, data = await _page(http, service, centre, query)
        assert status == 422 and data["field"] == field and field in data["message"]


async def test_the_connector_walks_every_page(
    service: LiveServer, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    client = client_for(http, service.url, wo_settings)
    for i in range(3):
        await client.create(complaint(content=f"第{i}个井盖丢失"), f"key-walk-{i}", _now())
    centre = HttpWorkOrderSystem(
        http, service.url, center_headers(wo_settings)["Authorization"][7:]
    )
    page = await centre.list_orders(limit=2)
    assert page.total == 3 and len(page.orders) == 2 and page.next_cursor
    last = await centre.list_orders(cursor=page.next_cursor, limit=2)
    assert len(last.orders) == 1 and last.next_cursor is None
    city = await centre.list_orders(department=CITY, status=Status.DISPATCHED)
    assert city.total == 3 and all(view.department == CITY for view in city.orders)
