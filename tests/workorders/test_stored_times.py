"""Stored moments mean the same instant on SQLite and PostgreSQL: a +08:00 acceptance time
comes back as that instant, and the overdue sweep (督办) fires at the deadline on both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import Settings
from bot.storage import open_engine
from bot.workorder_service.service import WorkOrderService
from bot.workorder_service.store import orders
from bot.workorders.desk import build_policy
from bot.workorders.lifecycle import Lifecycle
from tests.support.workorders import complaint

ACCEPTED = datetime.fromisoformat("2026-09-30T10:00:00+08:00")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = request.getfixturevalue("fresh_postgres_url") if request.param == "postgresql" else None
    engine = open_engine(url, tmp_path / "workorders.db")
    yield engine
    await engine.dispose()


async def test_the_overdue_sweep_supervises_at_the_deadline_on_every_backend(
    engine: AsyncEngine, wo_settings: Settings
) -> None:
    clock = Clock(ACCEPTED + timedelta(minutes=1))
    service = WorkOrderService(engine, Lifecycle(build_policy(wo_settings)), clock=clock)
    await service.setup()
    created, _ = await service.create(complaint(), "key-beijing-time", ACCEPTED)
    order, history, _ = await service.get(created.order_no)
    assert order.accepted_at == ACCEPTED and order.accepted_at.utcoffset() == timedelta(0)
    assert history[0].at == ACCEPTED
    assert order.deadline is not None
    due = order.deadline.due_at
    clock.now = due - timedelta(minutes=1)
    assert await service.sweep() == 0
    clock.now = due + timedelta(minutes=1)
    assert await service.sweep() == 1
    supervised, history, _ = await service.get(created.order_no)
    assert supervised.supervised and history[-1].label == "督办"


async def test_deadlines_written_as_wall_clock_digits_are_realigned_at_start(
    engine: AsyncEngine, wo_settings: Settings
) -> None:
    clock = Clock(ACCEPTED + timedelta(minutes=1))
    service = WorkOrderService(engine, Lifecycle(build_policy(wo_settings)), clock=clock)
    await service.setup()
    created, _ = await service.create(complaint(), "key-old-row", ACCEPTED)
    assert created.deadline is not None
    due = created.deadline.due_at
    wall_clock = due + timedelta(hours=8)
    async with engine.begin() as conn:  # what SQLite held before times were stored as UTC
        await conn.execute(
            update(orders)
            .where(orders.c.order_no == created.order_no)
            .values(deadline_at=wall_clock)
        )
    clock.now = due + timedelta(minutes=1)
    assert await service.sweep() == 0
    await service.setup()
    assert await service.sweep() == 1
