"""The outbox stores (SQLite table and Redis Streams): acceptance numbers, dedupe, leases,
take-over of a dead relay's entries, and the end states."""

from __future__ import annotations

import asyncio
import re

from bot.settings import Settings
from bot.workorders.outbox import EntryStatus, Outbox, create_outbox
from tests.support.workorders import new_entry


async def open_outbox(outbox_settings: tuple[Settings, str]) -> Outbox:
    settings, prefix = outbox_settings
    outbox = create_outbox(settings, prefix)
    await outbox.setup()
    return outbox


async def test_acceptance_numbers_and_dedupe(outbox_settings: tuple[Settings, str]) -> None:
    outbox = await open_outbox(outbox_settings)
    try:
        first = await outbox.submit(new_entry(), 3600)
        assert re.fullmatch(r"SL20261129\d{5}", first.entry.acceptance_no)
        assert not first.duplicate and first.entry.status is EntryStatus.PENDING
        # a double click, whitespace and punctuation aside, is the same request
        again = await outbox.submit(new_entry(content=" 小区路灯，不亮！"), 3600)
        assert again.duplicate and again.entry.acceptance_no == first.entry.acceptance_no
        other = await outbox.submit(new_entry(content="楼道灯不亮"), 3600)
        assert not other.duplicate
        assert int(other.entry.acceptance_no[2:]) == int(first.entry.acceptance_no[2:]) + 1
        neighbour = await outbox.submit(new_entry(phone="13900000000"), 3600)
        assert not neighbour.duplicate  # another citizen, same matter: 并单 decides, not dedupe
        together = await asyncio.gather(
            *(outbox.submit(new_entry("同时点了五次"), 3600) for _ in range(5))
        )
        assert len({s.entry.acceptance_no for s in together}) == 1
        assert sum(not s.duplicate for s in together) == 1
        assert (await outbox.counts())["pending"] == 4
    finally:
        await outbox.close()


async def test_dedupe_window_expires(outbox_settings: tuple[Settings, str]) -> None:
    outbox = await open_outbox(outbox_settings)
    try:
        first = await outbox.submit(new_entry(), 1)
        await asyncio.sleep(1.1)
        later = await outbox.submit(new_entry(), 1)
        assert not later.duplicate and later.entry.acceptance_no != first.entry.acceptance_no
    finally:
        await outbox.close()


async def test_leases_and_take_over_from_a_dead_relay(
    outbox_settings: tuple[Settings, str],
) -> None:
    # Only the passing of time is relied on, never its shortness: what must stay leased is
    # leased for a minute, what must expire is leased for 50 ms and then waited for.
    outbox = await open_outbox(outbox_settings)
    try:
        numbers = [
            (await outbox.submit(new_entry(f"诉求{i}"), 3600)).entry.acceptance_no for i in range(3)
        ]
        claimed = await outbox.claim("relay-a", 10, lease_s=60)
        assert [e.acceptance_no for e in claimed] == numbers
        assert all(e.attempts == 1 for e in claimed)
        assert await outbox.claim("relay-b", 10, lease_s=60) == []  # leased by relay-a
        await outbox.mark_delivered({numbers[0]: "GD2026112900001"})
        await outbox.release(numbers[1], "relay-a", "timeout")
        retried = await outbox.claim("relay-a", 10, lease_s=60)
        assert [e.acceptance_no for e in retried] == [numbers[1]]
        await outbox.mark_delivered({numbers[1]: "GD2026112900002"})
        await outbox.mark_rejected(numbers[2], "invalid: 电话号码格式不正确")

        # relay-a dies holding two new entries; once their lease is over, relay-b takes both
        # over (on Redis through XAUTOCLAIM of relay-a's pending entries)
        later = [
            (await outbox.submit(new_entry(f"后来的诉求{i}"), 3600)).entry.acceptance_no
            for i in range(2)
        ]
        held = await outbox.claim("relay-a", 10, lease_s=0.05)
        assert [e.acceptance_no for e in held] == later
        await asyncio.sleep(0.1)
        taken = await outbox.claim("relay-b", 10, lease_s=0.01)
        assert sorted(e.acceptance_no for e in taken) == later
        assert all(e.attempts == 2 for e in taken)
        await outbox.mark_delivered({later[0]: "GD2026112900003"})
        await outbox.mark_rejected(later[1], "invalid: 地点不明确")
        assert await outbox.claim("relay-c", 10, lease_s=60) == []
        done = await outbox.get(numbers[0])
        assert done is not None and done.status is EntryStatus.DELIVERED
        assert done.order_no == "GD2026112900001" and done.delivered_at is not None
        rejected = await outbox.get(numbers[2])
        assert rejected is not None and rejected.status is EntryStatus.REJECTED
        assert "电话号码" in rejected.last_error
        assert await outbox.counts() == {"pending": 0, "delivered": 3, "rejected": 2}
        assert await outbox.pending(10) == []
    finally:
        await outbox.close()


async def test_inline_delivery_and_relay_do_not_collide(
    outbox_settings: tuple[Settings, str],
) -> None:
    outbox = await open_outbox(outbox_settings)
    try:
        number = (await outbox.submit(new_entry(), 3600)).entry.acceptance_no
        inline = await outbox.claim_one(number, "inline", lease_s=5)
        assert inline is not None
        assert await outbox.claim_one(number, "other", lease_s=5) is None
        assert await outbox.claim("relay", 10, lease_s=5) == []
        await outbox.mark_delivered({number: "GD2026112900009"})
        assert await outbox.claim("relay", 10, lease_s=5) == []  # the stream entry is gone too
        assert await outbox.claim_one(number, "inline", lease_s=5) is None
    finally:
        await outbox.close()
