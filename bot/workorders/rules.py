"""Time-limit rules, read from ``config/time_limits.yml`` (values differ between cities)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml


class RulesError(ValueError):
    """The time-limit file is missing a value or has one of the wrong type."""


@dataclass(frozen=True)
class TimeLimit:
    """One class of time limit: a number of working days or of clock hours."""

    name: str
    label: str
    working_days: int | None = None
    hours: float | None = None
    departments: tuple[str, ...] = ()

    @property
    def in_hours(self) -> bool:
        return self.hours is not None

    def describe(self) -> str:
        if self.hours is not None:
            return f"{self.hours:g}小时"
        return f"{self.working_days}个工作日"


@dataclass(frozen=True)
class TimeLimitRules:
    timezone: ZoneInfo
    day_ends_at: time
    default: str
    limits: dict[str, TimeLimit]
    rework: TimeLimit
    max_extension_working_days: int
    return_within_working_days: int
    yellow_working_days_before: int
    yellow_hours_fraction: float
    auto_close_after_working_days: int

    @classmethod
    def load(cls, path: Path) -> TimeLimitRules:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise RulesError(f"cannot read time limits from {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise RulesError(f"{path}: expected a mapping")
        return cls.from_mapping(data, str(path))

    @classmethod
    def from_mapping(cls, data: dict[str, Any], origin: str = "time limits") -> TimeLimitRules:
        reader = _Reader(data, origin)
        limits_data = reader.mapping("limits")
        limits = {
            name: _limit(name, value, origin)
            for name, value in limits_data.items()
            if isinstance(value, dict)
        }
        default = reader.text("default")
        if default not in limits:
            raise RulesError(f"{origin}: default limit {default!r} is not defined under limits")
        if "urgent" not in limits:
            raise RulesError(f"{origin}: limits must define 'urgent'")
        fraction = float(reader.number("cards", "yellow_hours_fraction"))
        if not 0 < fraction < 1:
            raise RulesError(f"{origin}: cards.yellow_hours_fraction must be between 0 and 1")
        try:
            ends = time.fromisoformat(reader.text("day_ends_at"))
            zone = ZoneInfo(reader.text("timezone"))
        except (ValueError, KeyError) as exc:
            raise RulesError(f"{origin}: bad timezone or day_ends_at: {exc}") from exc
        return cls(
            timezone=zone,
            day_ends_at=ends,
            default=default,
            limits=limits,
            rework=TimeLimit(
                "rework", "重办", working_days=int(reader.number("rework", "working_days"))
            ),
            max_extension_working_days=int(reader.number("extension", "max_working_days")),
            return_within_working_days=int(reader.number("return", "within_working_days")),
            yellow_working_days_before=int(reader.number("cards", "yellow_working_days_before")),
            yellow_hours_fraction=fraction,
            auto_close_after_working_days=int(
                reader.number("callback", "auto_close_after_working_days")
            ),
        )

    def classify(self, department: str, urgent: bool) -> TimeLimit:
        """The limit for a new order: urgent first, then by department keywords."""
        if urgent:
            return self.limits["urgent"]
        for limit in self.limits.values():
            if department and any(keyword in department for keyword in limit.departments):
                return limit
        return self.limits[self.default]

    def limit(self, name: str) -> TimeLimit:
        """The limit called ``name``; unknown names (config changed since) count as default."""
        if name == self.rework.name:
            return self.rework
        return self.limits.get(name, self.limits[self.default])


def _limit(name: str, data: dict[str, Any], origin: str) -> TimeLimit:
    days = data.get("working_days")
    hours = data.get("hours")
    if (days is None) == (hours is None):
        raise RulesError(f"{origin}: limit {name!r} needs exactly one of working_days, hours")
    if days is not None and (not isinstance(days, int) or days < 1):
        raise RulesError(f"{origin}: limit {name!r}: working_days must be a positive integer")
    if hours is not None and (not isinstance(hours, int | float) or hours <= 0):
        raise RulesError(f"{origin}: limit {name!r}: hours must be a positive number")
    departments = data.get("departments") or []
    if not isinstance(departments, list):
        raise RulesError(f"{origin}: limit {name!r}: departments must be a list")
    return TimeLimit(
        name=name,
        label=str(data.get("label", name)),
        working_days=days,
        hours=float(hours) if hours is not None else None,
        departments=tuple(str(item) for item in departments),
    )


class _Reader:
    def __init__(self, data: dict[str, Any], origin: str) -> None:
        self.data = data
        self.origin = origin

    def _get(self, *keys: str) -> Any:
        value: Any = self.data
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                raise RulesError(f"{self.origin}: missing {'.'.join(keys)}")
            value = value[key]
        return value

    def mapping(self, *keys: str) -> dict[str, Any]:
        value = self._get(*keys)
        if not isinstance(value, dict):
            raise RulesError(f"{self.origin}: {'.'.join(keys)} must be a mapping")
        return value

    def text(self, *keys: str) -> str:
        return str(self._get(*keys))

    def number(self, *keys: str) -> float:
        value = self._get(*keys)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise RulesError(f"{self.origin}: {'.'.join(keys)} must be a non-negative number")
        return float(value)
