"""Handoff configuration (config/handoff.yml): service hours on the official calendar, the
queue's estimates, when the bot offers a human, and the wrap-up categories.

Hours are configuration because every hotline sets its own online service times; the
calendar is the one work-order deadlines use, so a 调休 Saturday is a working day for both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from bot.workorders.workcalendar import WorkingCalendar


class HandoffConfigError(ValueError):
    """config/handoff.yml does not follow the documented format."""


Period = tuple[time, time]


@dataclass(frozen=True)
class ServiceHours:
    """When human agents take online conversations, in local time."""

    calendar: WorkingCalendar
    timezone: ZoneInfo
    working_days: tuple[Period, ...]
    rest_days: tuple[Period, ...]
    closed_dates: frozenset[date] = frozenset()

    def periods(self, day: date) -> tuple[Period, ...]:
        if day in self.closed_dates:
            return ()
        return self.working_days if self.calendar.is_workday(day) else self.rest_days

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.timezone)

    def is_open(self, moment: datetime) -> bool:
        local = self.local(moment)
        return any(start <= local.time() < end for start, end in self.periods(local.date()))

    def next_opening(self, moment: datetime, horizon_days: int = 14) -> datetime | None:
        """The next moment service opens after ``moment`` (None when closed for two weeks)."""
        local = self.local(moment)
        for offset in range(horizon_days + 1):
            day = local.date() + timedelta(days=offset)
            for start, _ in self.periods(day):
                opening = datetime.combine(day, start, self.timezone)
                if opening > local:
                    return opening
        return None

    def describe(self) -> str:
        """The hours as a citizen reads them, e.g. 工作日 08:30—20:00，节假日 09:00—17:00."""
        parts = []
        if self.working_days:
            parts.append("工作日 " + _periods_text(self.working_days))
        if self.rest_days:
            parts.append("周末及节假日 " + _periods_text(self.rest_days))
        return "，".join(parts) if parts else "暂不提供在线人工服务"


def _periods_text(periods: tuple[Period, ...]) -> str:
    return "、".join(f"{start:%H:%M}—{end:%H:%M}" for start, end in periods)


@dataclass(frozen=True)
class HandoffConfig:
    hours: ServiceHours
    agent_capacity: int = 3
    presence_timeout_s: float = 60.0
    default_handle_minutes: float = 4.0
    handle_time_sample: int = 50
    long_wait_minutes: float = 10.0
    fallback_offer_after: int = 2
    wrap_up_categories: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, calendar: WorkingCalendar) -> HandoffConfig:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise HandoffConfigError(f"{path}: cannot be read: {exc}") from exc
        if not isinstance(data, dict):
            raise HandoffConfigError(f"{path}: expected a mapping")
        return cls.from_dict(data, calendar, str(path))

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], calendar: WorkingCalendar, where: str = "handoff config"
    ) -> HandoffConfig:
        try:
            zone = ZoneInfo(str(data.get("timezone", "Asia/Shanghai")))
        except (KeyError, ValueError) as exc:
            raise HandoffConfigError(f"{where}: unknown timezone") from exc
        hours = data.get("hours") or {}
        if not isinstance(hours, dict):
            raise HandoffConfigError(f"{where}: 'hours' must be a mapping")
        categories = data.get("wrap_up_categories") or {}
        if not isinstance(categories, dict) or not categories:
            raise HandoffConfigError(f"{where}: 'wrap_up_categories' must be a non-empty mapping")
        closed = data.get("closed_dates") or []
        if not isinstance(closed, list):
            raise HandoffConfigError(f"{where}: 'closed_dates' must be a list of dates")
        return cls(
            hours=ServiceHours(
                calendar=calendar,
                timezone=zone,
                working_days=_periods(hours.get("working_days"), where, "working_days"),
                rest_days=_periods(hours.get("rest_days"), where, "rest_days"),
                closed_dates=frozenset(_date(value, where) for value in closed),
            ),
            agent_capacity=_positive(data, "agent_capacity", 3, where),
            presence_timeout_s=float(_positive(data, "presence_timeout_s", 60, where)),
            default_handle_minutes=float(_positive(data, "default_handle_minutes", 4, where)),
            handle_time_sample=_positive(data, "handle_time_sample", 50, where),
            long_wait_minutes=float(_positive(data, "long_wait_minutes", 10, where)),
            fallback_offer_after=_positive(data, "fallback_offer_after", 2, where),
            wrap_up_categories={str(k): str(v) for k, v in categories.items()},
        )


def _positive(data: Mapping[str, Any], key: str, default: int, where: str) -> int:
    value = data.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise HandoffConfigError(f"{where}: '{key}' must be a positive number")
    return int(value)


def _periods(raw: object, where: str, key: str) -> tuple[Period, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise HandoffConfigError(f"{where}: 'hours.{key}' must be a list of [start, end]")
    periods = []
    for item in raw:
        if not (isinstance(item, list) and len(item) == 2):
            raise HandoffConfigError(f"{where}: 'hours.{key}' items must be [start, end]")
        start, end = (_time(value, where) for value in item)
        if end <= start:
            raise HandoffConfigError(f"{where}: 'hours.{key}' period ends before it starts")
        periods.append((start, end))
    return tuple(sorted(periods))


def _time(value: object, where: str) -> time:
    if isinstance(value, int):  # YAML 1.1 reads 08:30 unquoted as a sexagesimal number
        return time(value // 60 % 24, value % 60)
    try:
        return time.fromisoformat(str(value))
    except ValueError as exc:
        raise HandoffConfigError(f"{where}: {value!r} is not a time like 08:30") from exc


def _date(value: object, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise HandoffConfigError(f"{where}: {value!r} is not a date like 2027-02-05") from exc
