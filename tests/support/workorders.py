"""Test plumbing: the real work-order service on a real port, a fault-injecting proxy,
clients and desks with short timeouts, sample requests and the exactly-once check.

The proxy forwards every request to the real service; it only adds the faults a network
and an overloaded platform produce (refused connections, delays, 500s, answers lost after
the work was done), so the connector and the outbox are tested against real behaviour.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bot.clock import utcnow
from bot.settings import Settings
from bot.workorder_service import keys
from bot.workorder_service.auth import Kind, issue_token
from bot.workorder_service.store import orders
from bot.workorders.desk import WorkOrderDesk, build_policy
from bot.workorders.models import CitizenRequest, Deadline
from bot.workorders.outbox import (
    EntryKind,
    EntryStatus,
    NewEntry,
    Outbox,
    OutboxRelay,
    create_outbox,
)
from connectors.workorders import CircuitBreaker, HttpWorkOrderSystem, RetryPolicy

FORWARDED_HEADERS = ("Authorization", "Idempotency-Key", "Content-Type", "X-Contact-Phone")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """An aiohttp app on 127.0.0.1:port that can be stopped and started again (an outage)."""

    def __init__(self, factory: Callable[[], web.Application], port: int | None = None) -> None:
        self.factory = factory
        self.port = port or free_port()
        self.runner: web.AppRunner | None = None
        self.app: web.Application | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.app = self.factory()
        self.runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=1.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
            self.app = None

    @property
    def running(self) -> bool:
        return self.runner is not None


@dataclass
class Chaos:
    """What the proxy does to the next requests."""

    delay_s: float = 0.0  # before forwarding
    fail_next: int = 0  # answer 500 without forwarding
    lose_next: int = 0  # forward, then never answer (the client times out)
    answer_delay_s: float = 0.0  # forward at once, answer late (work done, caller waiting)
    requests: int = 0
    forwarded: list[str] = field(default_factory=list)


class ChaosProxy:
    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.chaos = Chaos()
        self.server = LiveServer(self._app)
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        return app

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        chaos = self.chaos
        chaos.requests += 1
        if chaos.fail_next > 0:
            chaos.fail_next -= 1
            return web.json_response({"error": "boom", "message": "内部错误"}, status=500)
        if chaos.delay_s:
            await asyncio.sleep(chaos.delay_s)
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k in FORWARDED_HEADERS}
        body = await request.read()
        lose = chaos.lose_next > 0
        if lose:
            chaos.lose_next -= 1
        async with self._session.request(
            request.method, self.target + request.path_qs, data=body, headers=headers
        ) as answer:
            payload = await answer.read()
            status = answer.status
        chaos.forwarded.append(f"{request.method} {request.path} {status}")
        if chaos.answer_delay_s:
            await asyncio.sleep(chaos.answer_delay_s)
        if lose:
            await asyncio.sleep(3600)  # the work is done, the answer never comes
        return web.Response(body=payload, status=status, content_type="application/json")


def client_for(
    session: aiohttp.ClientSession,
    url: str,
    settings: Settings,
    timeout_s: float = 2.0,
    attempts: int = 3,
    reset_s: float = 0.3,
    clock: Callable[[], float] = time.monotonic,
) -> HttpWorkOrderSystem:
    return HttpWorkOrderSystem(
        session,
        url,
        settings.workorder_api_token,
        timeout_s=timeout_s,
        retry=RetryPolicy(attempts=attempts, base_s=0.05, cap_s=0.2),
        breaker=CircuitBreaker(failure_threshold=3, reset_timeout_s=reset_s, clock=clock),
    )


def department_headers(settings: Settings, department: str) -> dict[str, str]:
    token = issue_token(settings.workorder_token_secret, Kind.DEPARTMENT, department)
    return {"Authorization": f"Bearer {token}"}


def center_headers(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(settings.workorder_token_secret, Kind.CENTER)}"}


@asynccontextmanager
async def make_desk(
    settings: Settings,
    url: str,
    prefix: str,
    http: aiohttp.ClientSession,
    submit_wait_s: float = 30.0,
    lease_s: float = 2.0,
    timeout_s: float = 10.0,
) -> AsyncIterator[WorkOrderDesk]:
    """A desk whose relay is not running (tests start it when they want).

    The waits are generous by default so that a loaded machine never turns "delivered at
    once" into "delivered later"; a test about slowness passes its own short waits."""
    outbox = create_outbox(settings, prefix)
    await outbox.setup()
    system = client_for(http, url, settings, timeout_s=timeout_s, reset_s=0.3)
    relay = OutboxRelay(
        outbox, system, lease_s=lease_s, idle_poll_s=0.05, max_backoff_s=0.3, batch=16
    )
    try:
        yield WorkOrderDesk(
            outbox, system, relay, build_policy(settings), submit_wait_s=submit_wait_s
        )
    finally:
        await outbox.close()


CITY = "市城市管理局"
PHONE = "13812345678"


def now() -> datetime:
    return utcnow()


def complaint(**changes: Any) -> CitizenRequest:
    """A citizen's complaint as the dialogue hands it over (phone already canonical)."""
    base = CitizenRequest(
        content="幸福小区3号楼门口的路灯坏了好几天，晚上一片漆黑",
        phone=PHONE,
        address="历下区幸福小区3号楼",
        district="历下区",
        request_type="求助",
        department=CITY,
        channel="webchat",
        channel_user="visitor-1",
        conversation_id="c-1",
    )
    return CitizenRequest(**{**base.to_json(), **changes})


def citizen_requests(count: int, tag: str) -> list[CitizenRequest]:
    """``count`` different citizens with different matters."""
    return [
        complaint(
            content=f"{tag}第{i}号诉求：楼道灯不亮", phone=f"139{i:08d}", address=f"{tag}路{i}号"
        )
        for i in range(count)
    ]


async def post(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    async with http.post(url, json=body, headers=headers) as response:
        return response.status, await response.json()


async def act(
    http: aiohttp.ClientSession,
    service: LiveServer,
    headers: dict[str, str],
    order_no: str,
    path: str,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A department or centre user's action on an order, which must succeed."""
    status, data = await post(
        http, f"{service.url}/api/v1/orders/{order_no}/{path}", headers, body or {}
    )
    assert status == 200, data
    return data


async def until_delivered(outbox: Outbox, number: str, timeout_s: float = 10.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        entry = await outbox.get(number)
        if entry is not None and entry.order_no:
            return entry.order_no
        await asyncio.sleep(0.05)
    raise AssertionError(f"{number} not delivered")


async def wait_drained(outbox: Outbox, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (await outbox.counts())["pending"] == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"outbox not drained: {await outbox.counts()}")


async def assert_exactly_one_order_each(
    service: LiveServer, outbox: Outbox, numbers: list[str], whole_table: bool = True
) -> None:
    """Each acceptance number became exactly one order, and the outbox knows which; with
    ``whole_table`` the service holds no other order either (a private database)."""
    assert service.app is not None
    engine = service.app[keys.SERVICE].engine
    query = select(orders.c.acceptance_no, orders.c.order_no)
    if not whole_table:
        query = query.where(orders.c.acceptance_no.in_(numbers))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    per_acceptance = Counter(row.acceptance_no for row in rows)
    assert set(per_acceptance) == set(numbers), "an accepted request has no order (or vice versa)"
    assert max(per_acceptance.values()) == 1, "an accepted request became two orders"
    order_of = {row.acceptance_no: row.order_no for row in rows}
    for number in numbers:
        entry = await outbox.get(number)
        assert entry is not None and entry.status is EntryStatus.DELIVERED
        assert entry.order_no == order_of[number]


def new_entry(content: str = "小区路灯不亮", phone: str = "13812345678") -> NewEntry:
    now = utcnow()
    return NewEntry(
        kind=EntryKind.CREATE,
        request=CitizenRequest(content=content, phone=phone, address="历下区幸福小区3号楼"),
        accepted_at=now,
        deadline=Deadline(now, "normal", "5个工作日"),
        day=date(2026, 11, 29),
    )
