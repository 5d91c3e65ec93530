"""Fixtures of the work-order tests: settings, the live reference service, a desk."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.settings import PROJECT_ROOT, Settings
from bot.workorder_service.app import create_app
from bot.workorders.workcalendar import WorkingCalendar
from tests.support.workorders import ChaosProxy, LiveServer


@pytest.fixture
def wo_settings(tmp_path: Path) -> Settings:
    return Settings().with_overrides(
        var_dir=tmp_path / "var",
        workorder_api_token=secrets.token_urlsafe(16),
        workorder_token_secret=secrets.token_urlsafe(16),
        workorder_webhook_secret=secrets.token_urlsafe(16),
        workorder_holiday_dir=PROJECT_ROOT / "data" / "holidays",
        workorder_time_limits=PROJECT_ROOT / "config" / "time_limits.yml",
    )


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar(PROJECT_ROOT / "data" / "holidays")


@pytest.fixture
async def service(wo_settings: Settings) -> AsyncIterator[LiveServer]:
    server = LiveServer(lambda: create_app(wo_settings, sweep_interval_s=3600))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def proxy(service: LiveServer) -> AsyncIterator[ChaosProxy]:
    chaos = ChaosProxy(service.url)
    await chaos.start()
    yield chaos
    await chaos.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def outbox_settings(
    backend: str, wo_settings: Settings, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Settings, str]]:
    """Settings that select the outbox backend, and a Redis key prefix unique to the test."""
    prefix = f"test-wo-{secrets.token_hex(6)}"
    if backend == "sqlite":
        yield wo_settings, prefix
        return
    redis_url = request.getfixturevalue("redis_url")
    yield wo_settings.with_overrides(redis_url=redis_url), prefix
    client = Redis.from_url(redis_url)
    keys = [key async for key in client.scan_iter(f"{{{prefix}}}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
