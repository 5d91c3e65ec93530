"""Helpers of the agent-workspace tests (the fixtures stay in tests/agent/conftest.py):
console users, browser-like clients for agents and citizens, the handoff configuration,
a small knowledge base and a look into the reference work-order service."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import yaml
from aiohttp import web

from bot.accounts import Role
from bot.knowledge.engine import KnowledgeBase
from bot.knowledge.models import KnowledgePoint
from bot.knowledge.passages import passages_of
from bot.settings import PROJECT_ROOT
from bot.workorder_service.auth import Kind, issue_token

PASSWORD = "correct-horse-42"
USERS = (
    ("agent1", Role.AGENT, "话务员甲"),
    ("agent2", Role.AGENT, "话务员乙"),
    ("super1", Role.SUPERVISOR, "班长丙"),
    ("admin1", Role.ADMIN, "管理员丁"),
)


def write_handoff_config(path: Path, **changes: Any) -> Path:
    """The project's config/handoff.yml with ``changes`` (e.g. round-the-clock hours)."""
    data = yaml.safe_load((PROJECT_ROOT / "config" / "handoff.yml").read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


ALWAYS_OPEN = {"working_days": [["00:00", "23:59:59"]], "rest_days": [["00:00", "23:59:59"]]}


@dataclass
class Agent:
    """A console user's browser-like session: own cookies, CSRF header on every POST."""

    base: str
    http: aiohttp.ClientSession
    csrf: str = ""
    user_id: int = 0

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.http.get(self.base + path, headers={"Accept": "application/json"}) as r:
            return r.status, await r.json()

    async def post(
        self, path: str, body: Any = None, csrf: bool = True, **headers: str
    ) -> tuple[int, Any]:
        sent = {"X-CSRF-Token": self.csrf} if csrf else {}
        sent.update(headers)
        async with self.http.post(self.base + path, json=body or {}, headers=sent) as r:
            return r.status, await r.json()

    async def on_duty(self) -> None:
        status, _ = await self.post("/api/v1/agent/duty", {"on_duty": True})
        assert status == 200

    async def live(self) -> aiohttp.ClientWebSocketResponse:
        return await self.http.ws_connect(self.base + "/agent/ws", origin=self.base)


@dataclass
class Citizen:
    """The web chat page's side of the WebSocket protocol."""

    ws: aiohttp.ClientWebSocketResponse
    conversation_id: str
    frames: list[dict[str, Any]] = field(default_factory=list)

    async def say(self, text: str) -> dict[str, Any]:
        """Sends a message and returns the server's answer to it (the ``bot`` frame)."""
        await self.ws.send_str(json.dumps({"type": "message", "text": text}))
        return await self.next_frame("bot")

    async def next_frame(self, kind: str, timeout_s: float = 30.0) -> dict[str, Any]:
        for i, seen in enumerate(self.frames):
            if seen["type"] == kind:
                return self.frames.pop(i)
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {kind} frame; saw {self.frames}")
            message = await self.ws.receive(timeout=remaining)
            if message.type != aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"socket ended: {message}")
            frame: dict[str, Any] = json.loads(message.data)
            if frame["type"] == kind:
                return frame
            self.frames.append(frame)


@dataclass
class Harness:
    app: web.Application
    base: str
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)

    async def agent(self, username: str) -> Agent:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.sessions.append(http)
        agent = Agent(self.base, http)
        status, body = await agent.post(
            "/api/v1/auth/login", {"username": username, "password": PASSWORD}, csrf=False
        )
        assert status == 200, body
        agent.csrf = body["csrf_token"]
        agent.user_id = body["user"]["id"]
        return agent

    async def citizen(self, conversation_id: str | None = None) -> Citizen:
        http = aiohttp.ClientSession()
        self.sessions.append(http)
        conversation_id = conversation_id or uuid.uuid4().hex
        ws = await http.ws_connect(f"{self.base}/ws?conversation_id={conversation_id}")
        citizen = Citizen(ws, conversation_id)
        session = await citizen.next_frame("session")
        assert session["conversation_id"] == conversation_id
        return citizen

    async def close(self) -> None:
        for http in self.sessions:
            await http.close()


HarnessFactory = Callable[..., Awaitable[Harness]]


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def small_knowledge_base(points: list[KnowledgePoint]) -> KnowledgeBase:
    """A real knowledge base over ``points``, searched by BM25 (no embedding model loaded:
    the agent tests are about the workspace, the knowledge tests cover dense search)."""
    passages = [passage for point in points for passage in passages_of(point)]
    vectors = np.zeros((len(passages), 8), dtype=np.float32)
    return KnowledgeBase.from_rows(list(points), passages, vectors, embedder=None)


POINTS = [
    KnowledgePoint(
        id="kp:gjj-withdraw",
        title="住房公积金提取办理",
        content="职工购买、建造、翻建、大修自住住房，可以申请提取住房公积金。"
        "办理时携带本人身份证、购房合同或不动产权证书，到住房公积金管理中心服务网点办理。",
        category="住房/公积金",
        issuer="济南住房公积金中心",
        department="济南住房公积金中心",
        keywords=("公积金", "提取"),
    ),
    KnowledgePoint(
        id="kp:noise-night",
        title="夜间施工噪声投诉",
        content="夜间（22时至次日6时）在噪声敏感建筑物集中区域施工作业，"
        "须取得连续作业证明；无证夜间施工可向城市管理部门反映。",
        category="生态环境/噪声",
        issuer="济南市城市管理局",
        department="济南市城市管理局",
        keywords=("噪音", "施工", "夜间"),
    ),
    KnowledgePoint(
        id="kp:streetlight",
        title="路灯不亮报修",
        content="城市道路路灯不亮、损坏，可拨打12345或向城市管理部门报修，一般在24小时内修复。",
        category="城市管理/路灯",
        issuer="济南市城市管理局",
        department="济南市城市管理局",
        keywords=("路灯",),
    ),
]


async def order_in_service(service: tuple[str, str], secret: str, number: str) -> dict[str, Any]:
    url, _ = service
    center = issue_token(secret, Kind.CENTER)
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{url}/api/v1/orders/{number}", headers={"Authorization": f"Bearer {center}"}
        ) as response,
    ):
        assert response.status == 200, await response.text()
        return dict(await response.json())
