"""Retention of the outbox on both backends: a citizen's entries go on request, whatever
their state, and finished entries go once they are older than the retention period."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.clock import utcnow
from bot.settings import Settings
from bot.workorders.outbox import EntryStatus, NewEntry, create_outbox, outbox_retention
from tests.support.workorders import new_entry


def _in(conversation_id: str, content: str, phone: str = "13812345678") -> NewEntry:
    entry = new_entry(content=content, phone=phone)
    return replace(entry, request=replace(entry.request, conversation_id=conversation_id))


async def test_a_citizens_entries_are_forgotten_and_old_finished_ones_purged(
    outbox_settings: tuple[Settings, str],
) -> None:
    settings, prefix = outbox_settings
    outbox = create_outbox(settings, prefix)
    await outbox.setup()
    retention = outbox_retention(settings, prefix)
    try:
        delivered = (await outbox.submit(_in("citizen", "路灯不亮"), 0)).entry.acceptance_no
        pending = (await outbox.submit(_in("citizen", "井盖丢了"), 0)).entry.acceptance_no
        other = (await outbox.submit(_in("other", "噪音", "13900000000"), 0)).entry.acceptance_no
        rejected = (await outbox.submit(_in("other", "乱停车", "13900000000"), 0)).entry
        await outbox.mark_delivered({delivered: "GD202611290000001"})
        await outbox.mark_rejected(rejected.acceptance_no, "invalid")

        assert await retention.forget_conversations(["citizen"]) == 2
        assert await outbox.get(delivered) is None and await outbox.get(pending) is None
        assert [e.acceptance_no for e in await outbox.pending(10)] == [other]
        assert [e.acceptance_no for e in await outbox.claim("relay-1", 10, 60)] == [other]

        assert await retention.purge_finished(utcnow() - timedelta(days=1)) == 0
        assert await retention.purge_finished(utcnow() + timedelta(days=1)) == 1
        assert await outbox.get(rejected.acceptance_no) is None
        kept = await outbox.get(other)
        assert kept is not None and kept.status is EntryStatus.PENDING
    finally:
        await retention.close()
        await outbox.close()
