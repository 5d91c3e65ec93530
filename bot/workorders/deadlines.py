"""Deadlines and deadline cards, from the time-limit rules and the working calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.workorders.models import Card, Deadline
from bot.workorders.rules import TimeLimit, TimeLimitRules
from bot.workorders.workcalendar import WorkingCalendar


class DeadlinePolicy:
    """Turns "5 working days from now" into an instant, and an instant into a card."""

    def __init__(self, rules: TimeLimitRules, calendar: WorkingCalendar) -> None:
        self.rules = rules
        self.calendar = calendar

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.rules.timezone).date()

    def end_of_day(self, day: date) -> datetime:
        return datetime.combine(day, self.rules.day_ends_at, tzinfo=self.rules.timezone)

    def after_working_days(self, start: datetime, days: int) -> datetime:
        """The end of the ``days``-th working day after the day of ``start``."""
        return self.end_of_day(self.calendar.add_working_days(self.local_date(start), days))

    def deadline(self, start: datetime, limit: TimeLimit) -> Deadline:
        if limit.hours is not None:
            due = start + timedelta(hours=limit.hours)
        else:
            due = self.after_working_days(start, limit.working_days or 0)
        return Deadline(due, limit.name, limit.describe(), in_hours=limit.in_hours)

    def extend(self, deadline: Deadline, working_days: int) -> Deadline:
        """A 延期 adds working days counted from the current deadline's day."""
        due = self.after_working_days(deadline.due_at, working_days)
        description = f"{deadline.description}（延期{working_days}个工作日）"
        return Deadline(due, deadline.kind, description, in_hours=False)

    def card(self, deadline: Deadline, now: datetime) -> Card:
        if now > deadline.due_at:
            return Card.RED
        limit = self.rules.limit(deadline.kind)
        if deadline.in_hours and limit.hours is not None:
            left = (deadline.due_at - now).total_seconds()
            threshold = limit.hours * 3600 * self.rules.yellow_hours_fraction
            return Card.YELLOW if left <= threshold else Card.NONE
        remaining = self.calendar.working_days_between(
            self.local_date(now), self.local_date(deadline.due_at)
        )
        return Card.YELLOW if remaining <= self.rules.yellow_working_days_before else Card.NONE

    def return_window_ends(self, dispatched_at: datetime) -> datetime:
        return self.after_working_days(dispatched_at, self.rules.return_within_working_days)

    def auto_close_at(self, replied_at: datetime) -> datetime:
        return self.after_working_days(replied_at, self.rules.auto_close_after_working_days)

    def working_days_left(self, deadline: Deadline, now: datetime) -> int:
        """Whole working days after today up to the deadline's day (for messages)."""
        return self.calendar.working_days_between(
            self.local_date(now), self.local_date(deadline.due_at)
        )
