"""Working-day deadlines on the official calendar: Spring Festival, National Day, 调休
Saturdays and Sundays (2025 and 2026 schedules), a year the calendar does not know yet,
and the yellow/red cards."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.settings import PROJECT_ROOT
from bot.workorders.deadlines import DeadlinePolicy
from bot.workorders.models import Card
from bot.workorders.rules import RulesError, TimeLimitRules
from bot.workorders.workcalendar import (
    CalendarSource,
    HolidayFileError,
    WorkingCalendar,
    load_holiday_file,
)

CST = ZoneInfo("Asia/Shanghai")
RULES = TimeLimitRules.load(PROJECT_ROOT / "config" / "time_limits.yml")


def at(day: str, clock: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=CST)


def due_date(policy: DeadlinePolicy, accepted: str, days: int = 5) -> date:
    deadline = policy.deadline(at(accepted), RULES.limits["normal"])
    assert deadline.due_at.timetz().replace(tzinfo=None).isoformat() == "23:59:59"
    return deadline.due_at.astimezone(CST).date()


@pytest.fixture
def policy(calendar: WorkingCalendar) -> DeadlinePolicy:
    return DeadlinePolicy(RULES, calendar)


@pytest.mark.parametrize(
    ("accepted", "expected", "why"),
    [
        # 2025 Spring Festival: off 28 Jan - 4 Feb; Sunday 26 Jan and Saturday 8 Feb worked
        ("2025-01-24", "2025-02-07", "Sun 26 Jan counts, the festival does not"),
        ("2025-01-27", "2025-02-10", "Sat 8 Feb (调休) counts, Sun 9 Feb does not"),
        # 2025 National Day + Mid-Autumn: off 1-8 Oct; Sunday 28 Sep and Saturday 11 Oct worked
        ("2025-09-26", "2025-10-10", "Sun 28 Sep counts, 1-8 Oct do not"),
        ("2025-09-30", "2025-10-14", "Sat 11 Oct (调休) counts"),
        # 2026 Spring Festival: off 15-23 Feb; Saturdays 14 Feb and 28 Feb worked
        ("2026-02-13", "2026-02-27", "Sat 14 Feb (调休) counts, then nothing until 24 Feb"),
        ("2026-02-24", "2026-03-02", "Sat 28 Feb (调休) counts, Sun 1 Mar does not"),
        # 2026 National Day: off 1-7 Oct; Sunday 20 Sep and Saturday 10 Oct worked
        ("2026-09-18", "2026-09-24", "Sun 20 Sep (调休) counts, 中秋 25 Sep does not"),
        ("2026-09-30", "2026-10-13", "Sat 10 Oct (调休) counts"),
    ],
)
def test_five_working_days_across_official_holidays(
    policy: DeadlinePolicy, accepted: str, expected: str, why: str
) -> None:
    assert due_date(policy, accepted) == date.fromisoformat(expected), why


def test_a_request_made_on_a_holiday_starts_counting_after_it(policy: DeadlinePolicy) -> None:
    # accepted on the first day of the 2026 Spring Festival: 24, 25, 26, 27 Feb, Sat 28 Feb
    assert due_date(policy, "2026-02-15") == date(2026, 2, 28)


def test_extension_of_ten_working_days_over_national_day(policy: DeadlinePolicy) -> None:
    deadline = policy.deadline(at("2026-09-24"), RULES.limits["normal"])
    # 25-27 Sep off (中秋): 28, 29, 30 Sep; 1-7 Oct off: 8, 9 Oct
    assert deadline.due_at.date() == date(2026, 10, 9)
    extended = policy.extend(deadline, 10)
    # Sat 10 Oct (调休), 12-16, 19-22 Oct
    assert extended.due_at.astimezone(CST).date() == date(2026, 10, 22)
    assert "延期10个工作日" in extended.description


def test_year_without_published_schedule_falls_back_to_weekends_with_warning(
    policy: DeadlinePolicy, caplog: pytest.LogCaptureFixture
) -> None:
    assert policy.calendar.source(2027) is CalendarSource.WEEKENDS  # data/holidays/2027.yml pending
    with caplog.at_level(logging.WARNING, logger="bot.workorders.workcalendar"):
        # 29, 30, 31 Dec, then Fri 1 Jan 2027 counted as a working day, Mon 4 Jan
        assert due_date(policy, "2026-12-28") == date(2027, 1, 4)
        assert due_date(policy, "2026-12-29") == date(2027, 1, 5)
    warnings = [r.getMessage() for r in caplog.records if "2027" in r.getMessage()]
    assert len(warnings) == 1  # once per year and process, not per day
    assert "weekends only" in warnings[0]


def test_operator_holiday_file_for_2027_is_used(tmp_path: Path) -> None:
    (tmp_path / "2027.yml").write_text(
        "year: 2027\nstatus: official\nsource: test schedule\n"
        "holidays:\n  - {name: 元旦, start: 2027-01-01, end: 2027-01-03}\n"
        "workdays:\n  - {name: 调休, date: 2027-01-09}\n",
        encoding="utf-8",
    )
    calendar = WorkingCalendar(tmp_path)
    policy = DeadlinePolicy(RULES, calendar)
    assert calendar.source(2027) is CalendarSource.FILE
    assert calendar.source(2026) is CalendarSource.LIBRARY
    assert not calendar.is_workday(date(2027, 1, 1))
    assert calendar.is_workday(date(2027, 1, 9))  # a Saturday made a working day
    # 29, 30, 31 Dec, Mon 4 Jan, Tue 5 Jan
    assert due_date(policy, "2026-12-28") == date(2027, 1, 5)
    # from Wed 6 Jan: 7, 8, Sat 9 (调休), 11, 12
    assert due_date(policy, "2027-01-06") == date(2027, 1, 12)


def test_shipped_2027_file_is_pending_and_well_formed() -> None:
    assert load_holiday_file(PROJECT_ROOT / "data" / "holidays" / "2027.yml") is None


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("year: 2027\nstatus: official\nholidays:\n  - {start: 2026-12-31}\n", "outside 2027"),
        (
            "year: 2027\nstatus: official\nholidays:\n  - {start: 2027-01-02}\n"
            "workdays:\n  - {date: 2027-01-02}\n",
            "both off and working",
        ),
        ("year: 2027\nstatus: maybe\n", "status"),
        ("year: 2027\nstatus: official\nholidays:\n  - {start: 1.1.2027}\n", "must be a date"),
    ],
)
def test_malformed_holiday_files_are_refused(tmp_path: Path, content: str, error: str) -> None:
    path = tmp_path / "2027.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(HolidayFileError, match=error):
        load_holiday_file(path)


def test_limit_classes_from_configuration() -> None:
    assert RULES.classify("市城市管理局", urgent=False).working_days == 5
    assert RULES.classify("国网济南供电公司", urgent=False).hours == 24
    assert RULES.classify("济南热力集团", urgent=False).name == "utilities"
    assert RULES.classify("济南热力集团", urgent=True).hours == 2
    assert RULES.max_extension_working_days == 10
    assert RULES.return_within_working_days == 2


def test_rules_file_errors_are_explained(tmp_path: Path) -> None:
    path = tmp_path / "limits.yml"
    path.write_text("timezone: Asia/Shanghai\nlimits: {}\n", encoding="utf-8")
    with pytest.raises(RulesError, match="default"):
        TimeLimitRules.load(path)


def test_cards_in_working_days_skip_the_festival(policy: DeadlinePolicy) -> None:
    deadline = policy.deadline(at("2026-02-11"), RULES.limits["normal"])
    assert deadline.due_at.date() == date(2026, 2, 25)  # 12, 13, Sat 14, 24, 25
    assert policy.card(deadline, at("2026-02-12")) is Card.NONE  # 13, 14, 24, 25 remain
    # On the 调休 Saturday before the festival only 24 and 25 Feb remain; on 24 Feb, one.
    assert policy.card(deadline, at("2026-02-14")) is Card.NONE
    assert policy.card(deadline, at("2026-02-20")) is Card.NONE
    assert policy.card(deadline, at("2026-02-24")) is Card.YELLOW
    assert policy.card(deadline, at("2026-02-25", "23:59")) is Card.YELLOW
    assert policy.card(deadline, at("2026-02-26", "00:00")) is Card.RED


def test_cards_in_hours(policy: DeadlinePolicy) -> None:
    start = at("2026-11-28", "22:00")  # a Saturday night: hours run regardless
    deadline = policy.deadline(start, RULES.limits["urgent"])
    assert deadline.due_at == start + timedelta(hours=2)
    assert deadline.in_hours
    assert policy.card(deadline, start + timedelta(minutes=89)) is Card.NONE
    assert policy.card(deadline, start + timedelta(minutes=91)) is Card.YELLOW
    assert policy.card(deadline, start + timedelta(minutes=121)) is Card.RED


def test_return_window_is_two_working_days(policy: DeadlinePolicy) -> None:
    # dispatched on the last working day before the 2026 National Day holiday
    assert policy.return_window_ends(at("2026-09-30")).date() == date(2026, 10, 9)
