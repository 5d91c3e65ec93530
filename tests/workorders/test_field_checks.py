"""Every field of a request is checked: a wrong type is a 422 that names the field, and a
request stored before the checks existed never makes 并单 (``/similar``) fail."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from sqlalchemy import update

from bot.settings import Settings
from bot.workorder_service import keys
from bot.workorder_service.store import orders
from tests.support.workorders import (
    CITY,
    LiveServer,
    client_for,
    complaint,
    department_headers,
    post,
)
from tests.support.workorders import now as _now


def _client_headers(settings: Settings, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {settings.workorder_api_token}"}
    return {**headers, "Idempotency-Key": key} if key else headers


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"address": 12345}, "request.address"),
        ({"district": ["历下区"]}, "request.district"),
        ({"urgent": "yes"}, "request.urgent"),
        ({"confidential": 1}, "request.confidential"),
        ({"content": None}, "request.content"),
        ({"phone": 13812345678}, "request.phone"),
    ],
)
async def test_a_wrongly_typed_field_is_a_422_naming_it(
    service: LiveServer,
    http: aiohttp.ClientSession,
    wo_settings: Settings,
    changes: dict[str, Any],
    field: str,
) -> None:
    request = {**complaint().to_json(), **changes}
    for path, body in (("", {"request": request}), ("/similar", {"request": request})):
        status, data = await post(
            http,
            f"{service.url}/api/v1/orders{path}",
            _client_headers(wo_settings, f"key-{field}"),
            body,
        )
        assert status == 422, data
        assert data["error"] == "invalid_field" and data["field"] == field
        assert field in data["message"] and "格式不正确" in data["message"]


async def test_missing_fields_and_other_bodies_are_named_too(
    service: LiveServer, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    url = f"{service.url}/api/v1/orders"
    request = complaint().to_json()
    del request["content"]
    status, data = await post(http, url, _client_headers(wo_settings, "k1"), {"request": request})
    assert (status, data["field"]) == (422, "request.content") and "缺少" in data["message"]
    body = {"request": complaint().to_json(), "acceptance_no": 20261129}
    status, data = await post(http, url, _client_headers(wo_settings, "k2"), body)
    assert (status, data["field"]) == (422, "acceptance_no")
    order = await client_for(http, service.url, wo_settings).create(complaint(), "k3", _now())
    city = department_headers(wo_settings, CITY)
    await post(http, f"{url}/{order.order_no}/sign", city, {})
    status, data = await post(
        http, f"{url}/{order.order_no}/extension", city, {"days": "3", "reason": "需排查"}
    )
    assert (status, data["field"]) == (422, "days")


async def test_similar_never_fails_on_a_request_stored_before_the_checks(
    service: LiveServer, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    client = client_for(http, service.url, wo_settings)
    stored = await client.create(complaint(), "key-legacy", _now())
    legacy = {**complaint().to_json(), "address": 12345, "urgent": "no"}
    assert service.app is not None
    async with service.app[keys.SERVICE].engine.begin() as conn:
        await conn.execute(
            update(orders).where(orders.c.order_no == stored.order_no).values(request=legacy)
        )
    assert await client.similar_open(complaint(address="12345")) != []
    assert (await client.get(stored.order_no, "13812345678")).address == "12345"
