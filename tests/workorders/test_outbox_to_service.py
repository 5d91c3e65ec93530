"""From the outbox to the service: an entry's idempotency key is its own (not the
acceptance number another backend may also have handed out), and a request held up by a
long outage is still delivered, flagged late, never dead-lettered."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import aiohttp
from redis.asyncio import Redis
from sqlalchemy import Column, MetaData, Table

from bot.settings import Settings
from bot.storage import open_engine
from bot.workorders.outbox import EntryStatus, OutboxRelay, Outcome, SqlOutbox, create_outbox
from bot.workorders.outbox.sql import outbox_table
from tests.support.workorders import LiveServer, client_for, new_entry
from tests.support.workorders import now as _now

DELIVERY_WAIT_S = 30.0  # an upper bound only: delivery returns as soon as it is done


async def test_sqlite_then_redis_on_the_same_day_deliver_without_key_reuse(
    service: LiveServer, http: aiohttp.ClientSession, wo_settings: Settings, redis_url: str
) -> None:
    system = client_for(http, service.url, wo_settings)
    prefixes = [f"test-wo-{secrets.token_hex(6)}" for _ in range(2)]
    backends = [
        (wo_settings, prefixes[0]),
        (wo_settings.with_overrides(redis_url=redis_url), prefixes[0]),
        (wo_settings.with_overrides(redis_url=redis_url), prefixes[1]),  # a fresh prefix
    ]
    numbers, keys = [], []
    try:
        for i, (settings, prefix) in enumerate(backends):
            outbox = create_outbox(settings, prefix)
            await outbox.setup()
            try:
                entry = (await outbox.submit(new_entry(f"第{i}盏路灯不亮"), 3600)).entry
                relay = OutboxRelay(outbox, system)
                delivery = await relay.deliver_now(entry.acceptance_no, DELIVERY_WAIT_S)
                assert delivery.outcome is Outcome.DELIVERED, await outbox.get(entry.acceptance_no)
                assert delivery.view is not None
                assert delivery.view.acceptance_no == entry.acceptance_no
                numbers.append(entry.acceptance_no)
                keys.append(entry.idempotency_key)
            finally:
                await outbox.close()
    finally:
        client = Redis.from_url(redis_url)
        for prefix in prefixes:
            found = [key async for key in client.scan_iter(f"{{{prefix}}}:*")]
            if found:
                await client.delete(*found)
        await client.aclose()
    assert numbers[0] != numbers[1]  # the SQL and Redis outboxes number in their own blocks
    assert len(set(keys)) == 3 and not set(keys) & set(numbers)


async def test_a_request_held_up_for_ten_days_is_delivered_flagged_late(
    service: LiveServer,
    http: aiohttp.ClientSession,
    outbox_settings: tuple[Settings, str],
) -> None:
    settings, prefix = outbox_settings
    outbox = create_outbox(settings, prefix)
    await outbox.setup()
    accepted = _now() - timedelta(days=10)
    try:
        entry = (await outbox.submit(replace(new_entry(), accepted_at=accepted), 3600)).entry
        relay = OutboxRelay(outbox, client_for(http, service.url, settings))
        delivery = await relay.deliver_now(entry.acceptance_no, DELIVERY_WAIT_S)
        assert delivery.outcome is Outcome.DELIVERED and delivery.view is not None
        delivered = await outbox.get(entry.acceptance_no)
        assert delivered is not None and delivered.status is EntryStatus.DELIVERED
    finally:
        await outbox.close()
    view = await client_for(http, service.url, settings).get(delivery.view.order_no, "13812345678")
    assert view.late_delivery and view.accepted_at == accepted
    assert view.history[0].label == "受理" and view.history[0].at == accepted
    # the time limit runs from the delivery: the order is not born overdue
    assert view.deadline is not None and view.deadline.due_at > _now()
    assert view.card.value != "red"


async def test_an_outbox_from_before_delivery_keys_is_extended_and_keeps_its_keys(
    tmp_path: Path,
) -> None:
    engine = open_engine(None, tmp_path / "outbox.db")
    old = MetaData()
    columns = [
        Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
        for c in outbox_table.c
        if c.name != "delivery_key"
    ]
    Table("workorder_outbox", old, *columns)
    async with engine.begin() as conn:
        await conn.run_sync(old.create_all)
        await conn.execute(outbox_table.insert().values(**_old_row()))
    outbox = SqlOutbox(engine)
    await outbox.setup()
    try:
        earlier = await outbox.get("SL2026112900007")
        assert earlier is not None and earlier.idempotency_key == "SL2026112900007"
        fresh = (await outbox.submit(new_entry("新的诉求"), 3600)).entry
        assert fresh.delivery_key and fresh.idempotency_key == fresh.delivery_key
        assert (await outbox.get(fresh.acceptance_no)) == fresh
    finally:
        await outbox.close()


def _old_row() -> dict[str, object]:
    entry = new_entry("升级前的诉求")
    return {
        "acceptance_no": "SL2026112900007",
        "kind": entry.kind.value,
        "target": "",
        "request": entry.request.to_json(),
        "accepted_at": entry.accepted_at,
        "deadline": entry.deadline.to_json(),
        "status": "pending",
        "order_no": "",
        "attempts": 0,
        "last_error": "",
        "lease_owner": "",
        "lease_until": 0.0,
        "created_seq": 1.0,
    }
