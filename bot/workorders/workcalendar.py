"""Working days on China's official holiday calendar, including 调休 make-up Saturdays/Sundays.

Sources, in order of precedence for a year:
1. a holiday file in ``data/holidays/<year>.yml`` marked ``status: official`` (the operator
   copies the State Council's notice there; it also overrides the library if ever needed);
2. the ``chinese_calendar`` library (knows the published years; raises for later ones);
3. weekends only, with a warning logged once per year, because deadlines must still be
   computed for a year whose schedule has not been published yet.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import chinese_calendar
import yaml

logger = logging.getLogger(__name__)


class CalendarSource(StrEnum):
    FILE = "file"
    LIBRARY = "library"
    WEEKENDS = "weekends"


class HolidayFileError(ValueError):
    """A holiday file does not follow the documented format (see data/holidays/README.md)."""


@dataclass(frozen=True)
class YearSchedule:
    """One year's official schedule: extra days off and 调休 working weekend days."""

    year: int
    days_off: frozenset[date]
    workdays: frozenset[date]
    source: str

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.days_off:
            return False
        return day.weekday() < 5


def load_holiday_file(path: Path) -> YearSchedule | None:
    """The schedule in ``path``, or None while the file is still ``status: pending``."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise HolidayFileError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise HolidayFileError(f"{path}: expected a mapping with year, status, holidays")
    year = data.get("year")
    if not isinstance(year, int):
        raise HolidayFileError(f"{path}: 'year' must be an integer")
    status = data.get("status")
    if status not in ("official", "pending"):
        raise HolidayFileError(f"{path}: 'status' must be 'official' or 'pending'")
    if status == "pending":
        return None
    days_off: set[date] = set()
    for item in _list(data, "holidays", path):
        start = _date(item.get("start"), path, "holidays.start")
        end = _date(item.get("end", start), path, "holidays.end")
        if end < start:
            raise HolidayFileError(f"{path}: holiday {item.get('name')!r} ends before it starts")
        days_off.update(start + timedelta(days=i) for i in range((end - start).days + 1))
    workdays = {
        _date(item.get("date"), path, "workdays.date") for item in _list(data, "workdays", path)
    }
    strays = sorted(day for day in days_off | workdays if day.year != year)
    if strays:
        raise HolidayFileError(f"{path}: dates outside {year} belong in their own file: {strays}")
    clash = days_off & workdays
    if clash:
        raise HolidayFileError(f"{path}: dates both off and working: {sorted(clash)}")
    return YearSchedule(year, frozenset(days_off), frozenset(workdays), str(data.get("source", "")))


def _list(data: dict[str, Any], key: str, path: Path) -> list[dict[str, Any]]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise HolidayFileError(f"{path}: '{key}' must be a list of mappings")
    return value


def _date(value: object, path: Path, field: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise HolidayFileError(f"{path}: {field} must be a date like 2027-01-01, got {value!r}")


class WorkingCalendar:
    """Answers "is this a working day" and counts working days for deadlines."""

    def __init__(self, holiday_dir: Path | None = None) -> None:
        self._schedules: dict[int, YearSchedule] = {}
        self._warned: set[int] = set()
        if holiday_dir is not None and holiday_dir.is_dir():
            for path in sorted(holiday_dir.glob("*.yml")):
                schedule = load_holiday_file(path)
                if schedule is not None:
                    self._schedules[schedule.year] = schedule

    def source(self, year: int) -> CalendarSource:
        if year in self._schedules:
            return CalendarSource.FILE
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return CalendarSource.WEEKENDS
        return CalendarSource.LIBRARY

    def is_workday(self, day: date) -> bool:
        schedule = self._schedules.get(day.year)
        if schedule is not None:
            return schedule.is_workday(day)
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year not in self._warned:
                self._warned.add(day.year)
                logger.warning(
                    "no official holiday schedule for %s: counting weekends only; add "
                    "data/holidays/%s.yml from the State Council notice",
                    day.year,
                    day.year,
                )
            return day.weekday() < 5

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself is not counted)."""
        if count < 0:
            raise ValueError("count must not be negative")
        day = start
        remaining = count
        while remaining:
            day += timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in the half-open range (start, end]; 0 when end <= start."""
        return sum(1 for day in _days_after(start, end) if self.is_workday(day))

    def next_workday(self, day: date) -> date:
        """``day`` itself when it is a working day, else the next one."""
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day


def _days_after(start: date, end: date) -> Iterable[date]:
    day = start + timedelta(days=1)
    while day <= end:
        yield day
        day += timedelta(days=1)
