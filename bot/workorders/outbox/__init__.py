"""Durable outbox for work-order creation (SQL by default, Redis Streams with REDIS_URL)."""

from __future__ import annotations

from bot.redis_client import open_redis
from bot.settings import Settings
from bot.storage import open_engine
from bot.workorders.outbox.base import (
    EntryKind,
    EntryStatus,
    NewEntry,
    Outbox,
    OutboxEntry,
    Submission,
)
from bot.workorders.outbox.redis_streams import RedisStreamOutbox
from bot.workorders.outbox.relay import Delivery, OutboxRelay, Outcome
from bot.workorders.outbox.retention import RedisOutboxRetention, SqlOutboxRetention
from bot.workorders.outbox.sql import SqlOutbox

DEFAULT_REDIS_PREFIX = "hotline:workorders"


def create_outbox(settings: Settings, redis_prefix: str = DEFAULT_REDIS_PREFIX) -> Outbox:
    """Redis Streams when ``REDIS_URL`` is set, else a table (SQLite file or PostgreSQL)."""
    if settings.redis_url:
        return RedisStreamOutbox(open_redis(settings.redis_url), prefix=redis_prefix)
    engine = open_engine(settings.database_url, settings.var_dir / "workorder_outbox.db")
    return SqlOutbox(engine)


def outbox_retention(
    settings: Settings, redis_prefix: str = DEFAULT_REDIS_PREFIX
) -> SqlOutboxRetention | RedisOutboxRetention:
    """Deletion and retention on the outbox the settings select (see ``retention``)."""
    outbox = create_outbox(settings, redis_prefix)
    if isinstance(outbox, RedisStreamOutbox):
        return RedisOutboxRetention(outbox)
    assert isinstance(outbox, SqlOutbox)
    return SqlOutboxRetention(outbox.engine)


__all__ = [
    "DEFAULT_REDIS_PREFIX",
    "Delivery",
    "EntryKind",
    "EntryStatus",
    "NewEntry",
    "Outbox",
    "OutboxEntry",
    "OutboxRelay",
    "Outcome",
    "RedisOutboxRetention",
    "RedisStreamOutbox",
    "SqlOutbox",
    "SqlOutboxRetention",
    "Submission",
    "create_outbox",
    "outbox_retention",
]
