"""The Python interface the dialogue calls, against the live reference service, on both
outbox backends: the citizen always gets a number at once; the order follows."""

from __future__ import annotations

import re
import time

import aiohttp
import pytest

from bot.settings import Settings
from bot.wiring import workorder_system
from bot.workorders.desk import WorkOrderDesk
from bot.workorders.errors import WorkOrderForbidden, WorkOrderInvalid, WorkOrderUnavailable
from bot.workorders.models import CitizenRequest, ContactProof, Rating, Status
from bot.workorders.outbox.relay import run_in_background
from tests.support.workorders import (
    CITY,
    LiveServer,
    act,
    complaint,
    department_headers,
    make_desk,
    until_delivered,
)


def request(**changes: object) -> CitizenRequest:
    """A complaint whose phone the citizen typed with spaces (the desk canonicalises it)."""
    return complaint(**{"phone": "138 1234 5678", **changes})


async def test_submit_with_the_service_up_gives_the_order_number_at_once(
    service: LiveServer,
    outbox_settings: tuple[Settings, str],
    http: aiohttp.ClientSession,
) -> None:
    settings, prefix = outbox_settings
    async with make_desk(settings, service.url, prefix, http) as desk:
        acceptance = await desk.submit(request())
        assert acceptance.delivered and re.fullmatch(r"GD\d{13}", acceptance.order_no)
        assert re.fullmatch(r"SL\d{13}", acceptance.acceptance_no)
        assert acceptance.message.startswith(f"您的诉求已受理，工单号 {acceptance.order_no}")
        assert "5个工作日" in acceptance.message and CITY in acceptance.message
        again = await desk.submit(
            request(content="幸福小区3号楼门口的路灯坏了好几天， 晚上一片漆黑！")
        )
        assert again.duplicate and again.order_no == acceptance.order_no
        assert "无需重复提交" in again.message
        report = await desk.status(acceptance.acceptance_no.lower(), "13812345678")
        assert report.order_no == acceptance.order_no and report.view is not None
        assert report.view.full and "已派单" in report.message


async def test_submit_with_the_service_down_gives_an_acceptance_number_at_once(
    service: LiveServer,
    outbox_settings: tuple[Settings, str],
    http: aiohttp.ClientSession,
) -> None:
    settings, prefix = outbox_settings
    await service.stop()
    async with make_desk(settings, service.url, prefix, http) as desk:
        started = time.monotonic()
        acceptance = await desk.submit(request())
        assert time.monotonic() - started < desk.submit_wait_s  # a refusal is not waited out
        assert not acceptance.delivered and acceptance.number == acceptance.acceptance_no
        assert f"受理号 {acceptance.acceptance_no}" in acceptance.message
        assert "预计" in acceptance.message and "工单号生成后会通知您" in acceptance.message
        pending = await desk.status(acceptance.acceptance_no)
        assert pending.view is None and "正在转交工单系统" in pending.message
        with pytest.raises(WorkOrderUnavailable) as raised:
            await desk.supplement(acceptance.acceptance_no, "13812345678", "补充")
        assert "稍后再试" in raised.value.message
        await service.start()
        async with run_in_background(desk.relay):
            order_no = await until_delivered(desk.outbox, acceptance.acceptance_no)
        report = await desk.status(acceptance.acceptance_no, "13812345678")
        assert report.order_no == order_no and report.view is not None
        assert report.view.acceptance_no == acceptance.acceptance_no


async def test_merge_candidates_from_open_orders_and_from_the_outbox(
    service: LiveServer,
    outbox_settings: tuple[Settings, str],
    http: aiohttp.ClientSession,
) -> None:
    settings, prefix = outbox_settings
    async with make_desk(settings, service.url, prefix, http) as desk:
        first = await desk.submit(request())
        neighbour = request(
            content="3号楼门口路灯不亮，晚上走路很危险",
            address="济南市历下区幸福小区3号楼门口",
            phone="0531-86081234",
            channel_user="visitor-2",
        )
        candidates = await desk.merge_candidates(neighbour)
        assert [c.number for c in candidates] == [first.order_no]
        merged = await desk.merge(neighbour, candidates[0].number)
        assert merged.merged_into == first.order_no and merged.order_no == first.order_no
        assert "并入" in merged.message

        # while the system is down, a request still waiting in the outbox is a candidate too
        await service.stop()
        waiting = await desk.submit(
            request(
                content="经十路与历山路路口红绿灯不亮",
                address="历下区经十路历山路路口",
                department="市公安局交警支队",
            )
        )
        same = request(
            content="历山路路口的红绿灯坏了",
            address="经十路历山路路口",
            phone="13900001111",
            department="",
        )
        found = await desk.merge_candidates(same)
        assert [c.number for c in found] == [waiting.acceptance_no]
        into_pending = await desk.merge(same, waiting.acceptance_no)
        assert not into_pending.delivered and into_pending.merged_into == waiting.acceptance_no
        await service.start()
        async with run_in_background(desk.relay):
            target_order = await until_delivered(desk.outbox, waiting.acceptance_no)
            merged_order = await until_delivered(desk.outbox, into_pending.acceptance_no)
        assert merged_order == target_order  # the merge waited for its target's order


async def test_follow_up_operations(
    service: LiveServer,
    outbox_settings: tuple[Settings, str],
    http: aiohttp.ClientSession,
    wo_settings: Settings,
) -> None:
    settings, prefix = outbox_settings
    async with make_desk(settings, service.url, prefix, http) as desk:
        with pytest.raises(WorkOrderInvalid) as raised:
            await desk.submit(request(phone="1381234567"))
        assert "11 位" in raised.value.message
        with pytest.raises(WorkOrderInvalid):
            await desk.submit(request(content="   "))
        first = await desk.submit(request())
        second = await desk.submit(
            request(content="小区垃圾桶满了没人清运", department="市城市管理局")
        )
        with pytest.raises(WorkOrderForbidden):
            await desk.list_by_phone("13812345678", ContactProof(order_no="GD2099010100001"))
        listed = await desk.list_by_phone("13812345678", ContactProof(order_no=first.acceptance_no))
        assert {r.order_no for r in listed} == {first.order_no, second.order_no}
        view = await desk.supplement(first.acceptance_no, "13812345678", "补充：最近三天都不亮")
        assert view.order_no == first.order_no
        city = department_headers(wo_settings, CITY)
        await act(http, service, city, first.order_no, "sign")
        await act(http, service, city, first.order_no, "reply", {"text": "已修复"})
        report = await desk.status(first.order_no, "13812345678")
        assert "答复内容：已修复" in report.message and "请您对办理结果进行评价" in report.message
        rated = await desk.rate(first.order_no, "13812345678", "不满意", "晚上还是黑的")
        assert rated.status is Status.DISPATCHED and rated.rework_count == 1
        with pytest.raises(WorkOrderInvalid):
            await desk.rate(first.order_no, "13812345678", "还可以吧也许")
        cancelled = await desk.cancel(second.order_no, "13812345678", "已经清运了")
        assert cancelled.status is Status.CANCELLED
        assert Rating.parse("基本满意") is Rating.BASICALLY_SATISFIED


async def test_desk_from_settings_with_its_own_relay(
    service: LiveServer, outbox_settings: tuple[Settings, str]
) -> None:
    settings, prefix = outbox_settings
    settings = settings.with_overrides(workorder_url=service.url, workorder_submit_wait_s=0.3)
    await service.stop()
    system = workorder_system(settings)
    async with WorkOrderDesk.open(settings, system, run_relay=True, redis_prefix=prefix) as desk:
        acceptance = await desk.submit(request())
        assert not acceptance.delivered
        await service.start()
        order_no = await until_delivered(desk.outbox, acceptance.acceptance_no, timeout_s=20)
        report = await desk.status(acceptance.acceptance_no, "13812345678")
        assert report.order_no == order_no and "已派单" in report.message
