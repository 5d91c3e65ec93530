"""An in-process gateway with console users, the fake Rasa, and clients for both sides.

The gateway runs in this process on a real port (aiohttp's test server), with the
dialogue engine pointed at :class:`tests.agent.fakes.FakeRasa`; agents use their own
HTTP sessions (cookie jars), citizens the web chat's WebSocket, as a browser would. The
helpers live in :mod:`tests.support.agent`.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext

from bot.gateway import keys
from bot.gateway.app import create_app
from bot.knowledge.engine import KnowledgeBase
from bot.knowledge.runtime import LazyKnowledgeBase
from bot.settings import PROJECT_ROOT, Settings
from bot.workorder_service.app import create_app as create_workorder_service
from tests.agent.fakes import FakeRasa
from tests.support.agent import (
    ALWAYS_OPEN,
    PASSWORD,
    POINTS,
    USERS,
    Harness,
    HarnessFactory,
    small_knowledge_base,
    write_handoff_config,
)
from tests.support.browser import chromium


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's chromium, headless, shared by the browser tests of this folder."""
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def contexts(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        await context.close()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """scrypt at N=2**10 instead of 2**15: same code path, a few ms per hash."""
    monkeypatch.setattr("bot.accounts.passwords._N", 2**10)


@pytest.fixture
async def fake_rasa(aiohttp_server: Any, settings: Settings) -> FakeRasa:
    rasa = FakeRasa(token=settings.rasa_token)
    server: TestServer = await aiohttp_server(rasa.app())
    rasa.url = str(server.make_url("")).rstrip("/")
    return rasa


@pytest.fixture
def agent_settings(settings: Settings, fake_rasa: FakeRasa, tmp_path: Path) -> Settings:
    config = write_handoff_config(tmp_path / "handoff.yml", hours=ALWAYS_OPEN)
    return settings.with_overrides(rasa_url=fake_rasa.url, handoff_config=config)


@pytest.fixture
async def start_gateway(
    aiohttp_server: Any, agent_settings: Settings
) -> AsyncIterator[HarnessFactory]:
    harnesses: list[Harness] = []

    async def start(knowledge: KnowledgeBase | None = None, **overrides: Any) -> Harness:
        app = create_app(agent_settings.with_overrides(**overrides))
        if knowledge is not None:
            app[keys.KNOWLEDGE] = LazyKnowledgeBase(app[keys.SETTINGS], knowledge_base=knowledge)
        server: TestServer = await aiohttp_server(app)
        users = app[keys.ACCOUNTS].users
        for username, role, name in USERS:
            if await users.get_by_username(username) is None:
                await users.create(username, PASSWORD, role, display_name=name)
        harness = Harness(app, str(server.make_url("")).rstrip("/"))
        harnesses.append(harness)
        return harness

    yield start
    for harness in harnesses:
        await harness.close()


@pytest.fixture
async def gateway(start_gateway: HarnessFactory) -> Harness:
    return await start_gateway()


@pytest.fixture
def token_secret() -> str:
    return secrets.token_urlsafe(16)


@pytest.fixture
async def workorder_service(
    aiohttp_server: Any, tmp_path: Path, token_secret: str
) -> tuple[str, str]:
    """The project's reference work-order service, live on a port: (url, client token)."""
    token = secrets.token_urlsafe(16)
    settings = Settings().with_overrides(
        var_dir=tmp_path / "workorders",
        workorder_api_token=token,
        workorder_token_secret=token_secret,
        workorder_holiday_dir=PROJECT_ROOT / "data" / "holidays",
        workorder_time_limits=PROJECT_ROOT / "config" / "time_limits.yml",
    )
    server: TestServer = await aiohttp_server(
        create_workorder_service(settings, sweep_interval_s=3600)
    )
    return str(server.make_url("")).rstrip("/"), token


@pytest.fixture
async def assisted(start_gateway: HarnessFactory, workorder_service: tuple[str, str]) -> Harness:
    url, token = workorder_service
    return await start_gateway(
        knowledge=small_knowledge_base(POINTS),
        workorder_url=url,
        workorder_api_token=token,
        asr_api_token="asr-secret-token",
    )
