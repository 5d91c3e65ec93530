"""Time in one place: every stored moment is UTC; moments shown to people are Beijing time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import overload
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every stored time is UTC. None stays None (a column
    that is not set)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def beijing_day(moment: datetime) -> date:
    """The calendar day in China of a stored moment."""
    return as_utc(moment).astimezone(BEIJING).date()


def beijing_time(moment: datetime) -> str:
    """A stored moment as people read it: ``2024-05-01 14:03:09`` Beijing time."""
    return as_utc(moment).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


@overload
def beijing_iso(moment: datetime) -> str: ...
@overload
def beijing_iso(moment: None) -> None: ...
def beijing_iso(moment: datetime | None) -> str | None:
    """A stored moment for an API: ISO 8601 in Beijing time with its offset (+08:00). A naive
    SQLite value is UTC, never the reader's local time, so earlier and live rows agree."""
    return None if moment is None else as_utc(moment).astimezone(BEIJING).isoformat()
