"""The same guarantees on PostgreSQL: the service's tables and the outbox table, with real
concurrency (two requests with one idempotency key at the same instant, two relays)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.settings import Settings
from bot.workorder_service.app import create_app
from bot.workorders.models import Rating, Status
from bot.workorders.outbox import create_outbox
from bot.workorders.outbox.relay import run_in_background
from tests.support.workorders import (
    CITY,
    LiveServer,
    act,
    assert_exactly_one_order_each,
    citizen_requests,
    client_for,
    complaint,
    department_headers,
    make_desk,
    new_entry,
    wait_drained,
)
from tests.support.workorders import now as _now

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_settings(wo_settings: Settings, postgres_url: str) -> Settings:
    return wo_settings.with_overrides(database_url=postgres_url)


@pytest.fixture
async def pg_service(pg_settings: Settings) -> AsyncIterator[LiveServer]:
    server = LiveServer(lambda: create_app(pg_settings, sweep_interval_s=3600))
    await server.start()
    yield server
    await server.stop()


async def test_life_cycle_and_concurrent_idempotency_on_postgresql(
    pg_service: LiveServer, pg_settings: Settings, http: aiohttp.ClientSession
) -> None:
    client = client_for(http, pg_service.url, pg_settings)
    key = f"pg-{uuid.uuid4().hex}"
    same = await asyncio.gather(*(client.create(complaint(), key, _now()) for _ in range(8)))
    assert len({view.order_no for view in same}) == 1
    distinct = await asyncio.gather(
        *(client.create(complaint(content=f"第{i}件事"), f"{key}-{i}", _now()) for i in range(8))
    )
    numbers = sorted(view.order_no for view in distinct)
    assert len(set(numbers)) == 8 and all(re.fullmatch(r"GD\d{13}", n) for n in numbers)
    order = same[0]
    city = department_headers(pg_settings, CITY)
    await act(http, pg_service, city, order.order_no, "sign")
    await act(http, pg_service, city, order.order_no, "reply", {"text": "已修复"})
    closed = await client.rate(order.order_no, "13812345678", Rating.BASICALLY_SATISFIED)
    assert closed.status is Status.CLOSED
    history = (await client.get(order.order_no, "13812345678")).history
    assert [event.label for event in history] == ["受理", "派单", "签收", "答复", "回访评价"]


async def test_outbox_table_on_postgresql(pg_settings: Settings) -> None:
    outbox = create_outbox(pg_settings)
    await outbox.setup()
    try:
        tag = uuid.uuid4().hex[:8]
        together = await asyncio.gather(
            *(outbox.submit(new_entry(f"并发{tag}"), 3600) for _ in range(6))
        )
        assert len({s.entry.acceptance_no for s in together}) == 1
        assert sum(not s.duplicate for s in together) == 1
        for i in range(10):
            await outbox.submit(new_entry(f"租约{tag}{i}"), 3600)
        first, second = await asyncio.gather(
            outbox.claim(f"a-{tag}", 100, 30), outbox.claim(f"b-{tag}", 100, 30)
        )
        a = {e.acceptance_no for e in first}
        b = {e.acceptance_no for e in second}
        assert not a & b  # two relays never lease the same entry
        for number in a | b:
            await outbox.release(number, f"a-{tag}" if number in a else f"b-{tag}", "test")
    finally:
        await outbox.close()


async def test_every_request_accepted_during_an_outage_becomes_one_order_on_postgresql(
    pg_service: LiveServer, pg_settings: Settings, http: aiohttp.ClientSession
) -> None:
    tag = uuid.uuid4().hex[:6]
    await pg_service.stop()
    async with make_desk(pg_settings, pg_service.url, "unused", http, submit_wait_s=0.2) as desk:
        accepted = await asyncio.gather(*(desk.submit(r) for r in citizen_requests(15, tag)))
        numbers = [a.acceptance_no for a in accepted]
        assert not any(a.order_no for a in accepted)
        await pg_service.start()
        async with run_in_background(desk.relay):
            await wait_drained(desk.outbox)
        await assert_exactly_one_order_each(pg_service, desk.outbox, numbers, whole_table=False)
