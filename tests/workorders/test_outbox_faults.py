"""Fault tests that count: whatever happens to the work-order system or to the relay,
every accepted request ends as exactly one order.

Faults: the service down during submission, slow answers, 500s, answers lost after the
order was made, and a relay process killed with SIGKILL while deliveries are in flight
(on the SQLite outbox and on Redis Streams)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from bot.settings import PROJECT_ROOT, Settings
from bot.workorders.outbox import create_outbox
from bot.workorders.outbox.relay import run_in_background
from tests.support.workorders import (
    ChaosProxy,
    LiveServer,
    assert_exactly_one_order_each,
    citizen_requests,
    make_desk,
    wait_drained,
)


async def test_service_down_while_citizens_submit(
    service: LiveServer, outbox_settings: tuple[Settings, str], http: aiohttp.ClientSession
) -> None:
    settings, prefix = outbox_settings
    await service.stop()
    async with make_desk(settings, service.url, prefix, http) as desk:
        started = time.monotonic()
        accepted = await asyncio.gather(*(desk.submit(r) for r in citizen_requests(30, "停机")))
        assert time.monotonic() - started < desk.submit_wait_s  # refusals are not waited out
        assert all(a.acceptance_no and not a.order_no for a in accepted)
        numbers = [a.acceptance_no for a in accepted]
        assert len(set(numbers)) == 30
        # the same requests sent again (channel retries) are recognised
        again = await asyncio.gather(*(desk.submit(r) for r in citizen_requests(30, "停机")))
        assert [a.acceptance_no for a in again] == numbers and all(a.duplicate for a in again)
        await service.start()
        async with run_in_background(desk.relay):
            await wait_drained(desk.outbox)
        await assert_exactly_one_order_each(service, desk.outbox, numbers)


async def test_slow_service_and_lost_answers(
    proxy: ChaosProxy,
    service: LiveServer,
    outbox_settings: tuple[Settings, str],
    http: aiohttp.ClientSession,
) -> None:
    settings, prefix = outbox_settings
    proxy.chaos.answer_delay_s = 0.6  # the order is made, the answer comes after the wait
    async with make_desk(
        settings, proxy.url, prefix, http, submit_wait_s=0.2, timeout_s=2.0
    ) as desk:
        accepted = await asyncio.gather(*(desk.submit(r) for r in citizen_requests(12, "缓慢")))
        assert not any(a.order_no for a in accepted)  # nobody waited for the slow system
        proxy.chaos.answer_delay_s = 0.0
        proxy.chaos.lose_next = 4  # and four answers are lost altogether (client timeout)
        async with run_in_background(desk.relay):
            await wait_drained(desk.outbox)
        numbers = [a.acceptance_no for a in accepted]
        await assert_exactly_one_order_each(service, desk.outbox, numbers)
    replays = [line for line in proxy.chaos.forwarded if line == "POST /api/v1/orders 200"]
    assert replays, "expected repeated deliveries answered from the idempotency record"


async def test_500s_and_timeouts_during_delivery(
    proxy: ChaosProxy,
    service: LiveServer,
    outbox_settings: tuple[Settings, str],
    http: aiohttp.ClientSession,
) -> None:
    settings, prefix = outbox_settings
    async with make_desk(
        settings, proxy.url, prefix, http, submit_wait_s=0.3, timeout_s=0.5
    ) as desk:
        proxy.chaos.fail_next = 12
        proxy.chaos.lose_next = 3
        async with run_in_background(desk.relay):
            accepted = await asyncio.gather(*(desk.submit(r) for r in citizen_requests(20, "故障")))
            await wait_drained(desk.outbox)
        await assert_exactly_one_order_each(
            service, desk.outbox, [a.acceptance_no for a in accepted]
        )
    assert proxy.chaos.fail_next == 0 and proxy.chaos.lose_next == 0


def spawn(
    settings: Settings, url: str, args: list[str], log: Path | None = None
) -> subprocess.Popen[bytes]:
    """A Python process of the project with these settings, talking to ``url``."""
    env = {**os.environ, **settings.to_env(), "WORKORDER_URL": url, "PYTHONPATH": str(PROJECT_ROOT)}
    out = log.open("ab") if log else None
    try:
        return subprocess.Popen(
            [sys.executable, *args], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    finally:
        if out:
            out.close()


def start_relay(settings: Settings, url: str, prefix: str, log: Path) -> subprocess.Popen[bytes]:
    args = ["-m", "bot", "workorder-relay", "--lease", "1", "--redis-prefix", prefix]
    return spawn(settings, url, args, log)


async def test_relay_killed_with_sigkill_mid_delivery(
    proxy: ChaosProxy,
    service: LiveServer,
    outbox_settings: tuple[Settings, str],
    http: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    settings, prefix = outbox_settings
    outbox = create_outbox(settings, prefix)
    await outbox.setup()
    log = tmp_path / "relay.log"
    try:
        await service.stop()  # everything waits in the outbox
        async with make_desk(settings, service.url, prefix, http, submit_wait_s=0.1) as desk:
            accepted = [await desk.submit(r) for r in citizen_requests(40, "强杀")]
        numbers = [a.acceptance_no for a in accepted]
        await service.start()
        proxy.chaos.answer_delay_s = 0.4  # orders are made, answers are on their way
        first = start_relay(settings, proxy.url, prefix, log)
        deadline = time.monotonic() + 30
        while len(proxy.chaos.forwarded) < 12:  # orders made, their answers still on the way
            assert time.monotonic() < deadline, log.read_text()
            assert first.poll() is None, log.read_text()
            await asyncio.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait()
        await asyncio.sleep(0.5)  # answers of the killed relay's calls arrive to nobody
        in_service = len(proxy.chaos.forwarded)
        counts = await outbox.counts()
        assert counts["pending"] > 0
        assert in_service > counts["delivered"], "some orders were made but not recorded"
        proxy.chaos.answer_delay_s = 0.0
        second = start_relay(settings, proxy.url, prefix, log)
        try:
            await wait_drained(outbox, timeout_s=30)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=10)
        await assert_exactly_one_order_each(service, outbox, numbers)
        replays = [line for line in proxy.chaos.forwarded if line == "POST /api/v1/orders 200"]
        assert replays, "the second relay re-sent the killed relay's in-flight orders"
    finally:
        await outbox.close()


SUBMIT_AND_WAIT = """
import asyncio, json, sys
import aiohttp
from bot.settings import Settings
from bot.workorders.desk import WorkOrderDesk, build_policy
from bot.workorders.models import CitizenRequest
from bot.workorders.outbox import OutboxRelay, create_outbox
from connectors.workorders import HttpWorkOrderSystem

async def main():
    settings = Settings.from_env()
    outbox = create_outbox(settings, sys.argv[1])
    await outbox.setup()
    async with aiohttp.ClientSession() as session:
        system = HttpWorkOrderSystem(session, settings.workorder_url, settings.workorder_api_token)
        relay = OutboxRelay(outbox, system, lease_s=1.0)
        desk = WorkOrderDesk(outbox, system, relay, build_policy(settings), submit_wait_s=30)
        await desk.submit(CitizenRequest.from_json(json.loads(sys.argv[2])))

asyncio.run(main())
"""


async def test_action_process_killed_mid_call_then_the_request_is_sent_again(
    proxy: ChaosProxy,
    service: LiveServer,
    outbox_settings: tuple[Settings, str],
    http: aiohttp.ClientSession,
) -> None:
    """The process handling the citizen dies after writing the outbox and sending the
    order, before answering; the channel retries the same request: one order."""
    settings, prefix = outbox_settings
    citizen = citizen_requests(1, "重启")[0]
    proxy.chaos.answer_delay_s = 60.0  # the order is made; the answer never arrives in time
    worker = spawn(
        settings, proxy.url, ["-c", SUBMIT_AND_WAIT, prefix, json.dumps(citizen.to_json())]
    )
    try:
        deadline = time.monotonic() + 30
        while not proxy.chaos.forwarded:
            assert worker.poll() is None and time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    proxy.chaos.answer_delay_s = 0.0
    async with make_desk(settings, proxy.url, prefix, http, submit_wait_s=0.2, lease_s=1.0) as desk:
        again = await desk.submit(citizen)
        assert again.duplicate  # the retry is recognised as the request accepted before
        async with run_in_background(desk.relay):
            await wait_drained(desk.outbox)
        await assert_exactly_one_order_each(service, desk.outbox, [again.acceptance_no])
    assert "POST /api/v1/orders 200" in proxy.chaos.forwarded  # the re-send was a replay
