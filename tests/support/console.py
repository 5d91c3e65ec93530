"""Console users and a logged-in client for the console tests (the fixtures stay in
tests/supervisor/conftest.py)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import Page

from bot.accounts import Permission, Role
from bot.accounts.store import UserStore
from bot.gateway import keys
from bot.gateway.app import create_app
from bot.settings import Settings

PASSWORD = "correct-horse-42"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Client = TestClient[web.Request, web.Application]


@dataclass
class Console:
    client: Client

    async def login(self, username: str, password: str = PASSWORD) -> str:
        """Logs in through the JSON API and returns the session's CSRF token."""
        response = await self.client.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        assert response.status == 200, await response.text()
        return str((await response.json())["csrf_token"])


async def seed_users(client: Client) -> None:
    users = client.app[keys.ACCOUNTS].users
    await users.create("agent1", PASSWORD, Role.AGENT, display_name="话务员甲")
    await users.create("super1", PASSWORD, Role.SUPERVISOR, display_name="质检员乙")
    await users.create(
        "super2",
        PASSWORD,
        Role.SUPERVISOR,
        display_name="质检员丙",
        extra_permissions=frozenset({Permission.UNMASK_PERSONAL_DATA}),
    )
    await users.create("admin1", PASSWORD, Role.ADMIN, display_name="管理员丁")


async def seed_reviewers(users: UserStore, password: str) -> None:
    """The browser tests' two supervisors: 张质检 sees masked data, 李班长 may unmask it."""
    await users.create("zhangsan", password, Role.SUPERVISOR, display_name="张质检")
    await users.create(
        "lisi",
        password,
        Role.SUPERVISOR,
        display_name="李班长",
        extra_permissions=frozenset({Permission.UNMASK_PERSONAL_DATA}),
    )


async def seed_conversations(client: Client) -> dict[str, int]:
    """Three conversations through the gateway's real transcript store; returns row ids."""
    store = client.app[keys.TRANSCRIPT]
    ids: dict[str, int] = {}
    ids["lamp"] = await store.append(
        "web-lamp", "webchat", "citizen", "经十路12345号门口路灯坏了，电话13812345678"
    )
    await store.annotate(
        ids["lamp"],
        {
            "nlu": {
                "intent": "nlu_fallback",
                "confidence": 0.31,
                "entities": [{"entity": "phone_number", "value": "13812345678"}],
                "actions": ["utter_default"],
            }
        },
    )
    await store.append(
        "web-lamp", "webchat", "bot", "抱歉，我没有完全理解您的意思。", {"status": "ok"}
    )
    ids["standard"] = await store.append("wx-std", "wechat", "citizen", "GB/T 33358是什么标准")
    await store.annotate(
        ids["standard"],
        {
            "nlu": {
                "intent": "ask_standard",
                "confidence": 0.97,
                "entities": [{"entity": "standard_number", "value": "GB/T 33358"}],
                "actions": ["action_answer_standard"],
            }
        },
    )
    await store.append(
        "wx-std", "wechat", "bot", "GB/T 33358-2016 是《政府热线服务规范》。", {"status": "ok"}
    )
    ids["noise"] = await store.append(
        "web-noise", "webchat", "citizen", "<script>alert(1)</script>小区晚上噪音太大"
    )
    await store.annotate(
        ids["noise"],
        {"nlu": {"intent": "complain", "confidence": 0.88, "entities": [], "actions": []}},
    )
    await store.append(
        "web-noise", "webchat", "bot", "已为您登记工单GD2026112900012。", {"status": "ok"}
    )
    await store.append(
        "web-noise", "webchat", "agent", "您好，我是话务员小王，身份证370102199003071238已核实。"
    )
    return ids


async def login_in_browser(page: Page, base: str, username: str, password: str, start: str) -> None:
    """Opens ``start``, is sent to the login form, signs in and lands back on ``start``."""
    await page.goto(base + start)
    assert "/login" in page.url
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(base + start)


@dataclass
class Server:
    url: str
    app: web.Application


@asynccontextmanager
async def serving(var_dir: Path) -> AsyncIterator[Server]:
    """The gateway on a free local port, for a real browser; Rasa points at a closed one."""
    settings = Settings().with_overrides(
        var_dir=var_dir,
        rasa_url=f"http://127.0.0.1:{closed_port()}",
        rasa_token="browser-test",
    )
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    port = closed_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Server(f"http://127.0.0.1:{port}", runner.app)
    finally:
        await runner.cleanup()
