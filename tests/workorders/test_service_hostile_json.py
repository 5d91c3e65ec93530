"""Deeply nested JSON on every POST route of the reference work-order service, with every
kind of token: a clear 400, never a 500 or a logged traceback."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from bot.settings import Settings
from bot.workorder_service.auth import Kind, issue_token
from tests.support.workorders import LiveServer

DEEP = "[" * 30000 + "]" * 30000


async def test_deeply_nested_json_is_refused_on_every_route(
    service: LiveServer,
    wo_settings: Settings,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = wo_settings.workorder_token_secret
    tokens = (
        wo_settings.workorder_api_token,
        issue_token(secret, Kind.CENTER),
        issue_token(secret, Kind.DEPARTMENT, "市城市管理局"),
    )
    assert service.app is not None
    paths = sorted(
        route.resource.canonical.replace("{order_no}", "GD2026112900012")
        for route in service.app.router.routes()
        if route.method == "POST" and route.resource is not None
    )
    refused_as_json: set[str] = set()
    with caplog.at_level(logging.INFO):
        for path in paths:
            for token in tokens:
                async with http.post(
                    service.url + path,
                    data=DEEP.encode(),
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                    },
                ) as response:
                    assert response.status < 500, (path, await response.text())
                    body = await response.json()
                if response.status == 400 and body["error"] == "invalid_json":
                    assert "嵌套层级过深" in body["message"]
                    refused_as_json.add(path)
    assert not [record for record in caplog.records if record.exc_info], "a traceback was logged"
    assert {"/api/v1/orders", "/api/v1/orders/search", "/api/v1/orders/similar"} <= refused_as_json
    assert len(refused_as_json) > 3  # the order actions too
