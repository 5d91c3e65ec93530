"""The connector against the real service behind a fault-injecting proxy: retries with
backoff on 500s, timeouts when slow, idempotent creation when an answer is lost, and the
circuit breaker while the service is down."""

from __future__ import annotations

import aiohttp
import pytest

from bot.settings import Settings
from bot.workorders.errors import WorkOrderNotFound, WorkOrderTimeout, WorkOrderUnavailable
from bot.workorders.models import ContactProof
from connectors.workorders import CircuitBreaker, CircuitOpen, CircuitState
from tests.support.workorders import PHONE, ChaosProxy, LiveServer, client_for, complaint
from tests.support.workorders import now as _now


def state(breaker: CircuitBreaker) -> CircuitState:
    return breaker.state


async def test_500s_are_retried_until_success(
    proxy: ChaosProxy, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    client = client_for(http, proxy.url, wo_settings, attempts=3)
    order = await client.create(complaint(), "SL2026112900401", _now())
    proxy.chaos.fail_next = 2
    before = proxy.chaos.requests
    view = await client.get(order.order_no)
    assert view.order_no == order.order_no
    assert proxy.chaos.requests - before == 3  # two 500s, then the answer


async def test_persistent_500s_give_a_clear_message(
    proxy: ChaosProxy, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    client = client_for(http, proxy.url, wo_settings, attempts=3)
    proxy.chaos.fail_next = 3
    with pytest.raises(WorkOrderUnavailable) as raised:
        await client.get("GD2026112900001")
    assert raised.value.message == "工单系统暂时无法访问，请稍后再试。"
    assert raised.value.retryable


async def test_slow_service_times_out(
    proxy: ChaosProxy, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    client = client_for(http, proxy.url, wo_settings, timeout_s=0.3, attempts=2)
    proxy.chaos.delay_s = 1.0
    with pytest.raises(WorkOrderTimeout) as raised:
        await client.get("GD2026112900001")
    assert "超时" in raised.value.message
    assert proxy.chaos.requests == 2  # each attempt given up after 0.3 s, then no more


async def test_lost_answer_after_create_yields_one_order(
    proxy: ChaosProxy, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    client = client_for(http, proxy.url, wo_settings, timeout_s=3.0, attempts=3)
    proxy.chaos.lose_next = 1  # the service creates the order, the answer is lost
    order = await client.create(complaint(), "SL2026112900402", _now())
    creates = [line for line in proxy.chaos.forwarded if line.startswith("POST /api/v1/orders ")]
    assert creates == ["POST /api/v1/orders 201", "POST /api/v1/orders 200"]  # replayed
    orders = await client.list_by_contact(PHONE, ContactProof(order_no="SL2026112900402"))
    assert [view.order_no for view in orders] == [order.order_no]


async def test_service_down_opens_the_circuit_then_recovers(
    service: LiveServer, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    now = [0.0]
    client = client_for(
        http, service.url, wo_settings, attempts=1, reset_s=30, clock=lambda: now[0]
    )
    order = await client.create(complaint(), "SL2026112900403", _now())
    await service.stop()
    for _ in range(3):
        with pytest.raises(WorkOrderUnavailable) as raised:
            await client.get(order.order_no)
        assert not isinstance(raised.value, CircuitOpen)
    assert state(client.breaker) is CircuitState.OPEN
    with pytest.raises(CircuitOpen) as fast:  # refused by the breaker, before any network
        await client.get(order.order_no)
    assert "自动恢复" in fast.value.message
    await service.start()
    now[0] += 30
    assert state(client.breaker) is CircuitState.HALF_OPEN
    assert (await client.get(order.order_no)).order_no == order.order_no
    assert state(client.breaker) is CircuitState.CLOSED


async def test_clear_refusals_do_not_trip_the_breaker(
    service: LiveServer, http: aiohttp.ClientSession, wo_settings: Settings
) -> None:
    client = client_for(http, service.url, wo_settings)
    for _ in range(5):
        with pytest.raises(WorkOrderNotFound):
            await client.get("GD2020010100001")
    assert state(client.breaker) is CircuitState.CLOSED


def test_breaker_states_with_a_clock() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout_s=10, clock=lambda: now[0])
    breaker.before_call()
    breaker.record_failure()
    assert state(breaker) is CircuitState.CLOSED
    breaker.record_failure()
    assert state(breaker) is CircuitState.OPEN
    with pytest.raises(CircuitOpen):
        breaker.before_call()
    now[0] = 10.0
    breaker.before_call()  # the probe
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # only one probe at a time
    breaker.record_failure()
    assert state(breaker) is CircuitState.OPEN  # probe failed: open again for 10 s
    now[0] = 20.0
    breaker.before_call()
    breaker.record_abandoned()  # a cancelled probe lets the next caller probe
    breaker.before_call()
    breaker.record_success()
    assert state(breaker) is CircuitState.CLOSED
