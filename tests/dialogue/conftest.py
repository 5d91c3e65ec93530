"""Fixtures of the dialogue tests: the real reference work-order service on a real port,
the actions' work-order desk pointed at it, and the domain the forms are defined in."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

import actions.workorders.desk as workorder_desk
from actions.workorders.desk import DeskHolder
from bot.settings import PROJECT_ROOT, Settings
from bot.workorder_service.app import create_app
from tests.support.workorders import LiveServer


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text("utf-8"))
    return loaded


@pytest.fixture
def wo_settings(tmp_path: Path) -> Settings:
    return Settings().with_overrides(
        var_dir=tmp_path / "var",
        workorder_api_token=secrets.token_urlsafe(16),
        workorder_token_secret=secrets.token_urlsafe(16),
        workorder_webhook_secret=secrets.token_urlsafe(16),
        workorder_submit_wait_s=5.0,
    )


@pytest.fixture
async def service(wo_settings: Settings) -> AsyncIterator[LiveServer]:
    server = LiveServer(lambda: create_app(wo_settings, sweep_interval_s=3600))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def desks(
    service: LiveServer, wo_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[DeskHolder]:
    """The desk the actions use, talking to the live service."""
    settings = wo_settings.with_overrides(workorder_url=service.url)
    holder = DeskHolder(lambda: settings)
    monkeypatch.setattr(workorder_desk, "DESKS", holder)
    yield holder
    await holder.aclose()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
