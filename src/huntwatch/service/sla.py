"""Case SLA clocks counted in business time: weekends and holidays do not count, waiting on the customer pauses.

A business day counts whole (24 hours, UTC), so "2 business days" asked on a Friday at 15:00 falls due on
Tuesday at 15:00. Clocks are recomputed from the case's status history whenever they are shown, so they are
always consistent with what happened, however the statuses went back and forth.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

DAY = dt.timedelta(days=1)
# Statuses in which each clock runs; every other status pauses it (waiting on the customer) or stops it.
RUNNING = frozenset({"submitted", "in_progress"})


@dataclass(frozen=True)
class Calendar:
    """Which days are business days: not a weekend day (ISO weekday, Monday = 1) and not a holiday."""

    weekend: frozenset[int] = frozenset({6, 7})
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    @classmethod
    def of(cls, weekend: Iterable[int] | None, holidays: Iterable[str | dt.date] = ()) -> Calendar:
        days = frozenset(int(d) for d in weekend) if weekend is not None else frozenset({6, 7})
        if days >= {1, 2, 3, 4, 5, 6, 7}:
            raise ValueError("a calendar needs at least one business day a week")
        return cls(days, frozenset(d if isinstance(d, dt.date) else dt.date.fromisoformat(d) for d in holidays))

    def is_business_day(self, day: dt.date) -> bool:
        return day.isoweekday() not in self.weekend and day not in self.holidays

    def business_time(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """How much of ``[start, end)`` falls on business days."""
        total = dt.timedelta()
        cursor = start
        while cursor < end:
            next_midnight = dt.datetime.combine(cursor.date() + DAY, dt.time())
            stop = min(end, next_midnight)
            if self.is_business_day(cursor.date()):
                total += stop - cursor
            cursor = stop
        return total

    def add_business_time(self, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        """The moment ``amount`` of business time after ``start``."""
        cursor, left = start, amount
        for _ in range(3660):  # ten years of days: a calendar always has business days, this is a safety bound
            next_midnight = dt.datetime.combine(cursor.date() + DAY, dt.time())
            if self.is_business_day(cursor.date()):
                if cursor + left <= next_midnight:
                    return cursor + left
                left -= next_midnight - cursor
            cursor = next_midnight
        raise ValueError("the calendar has no business days within ten years")


@dataclass(frozen=True)
class Targets:
    """The plan's case targets, in business days; ``reopen_days`` are calendar days after resolution."""

    first_response_days: float = 2.0
    resolution_days: float = 10.0
    reopen_days: int = 14


@dataclass(frozen=True)
class Clock:
    """One SLA clock as a person reads it: how much time is left, whether it is paused, stopped or breached."""

    name: str
    target: dt.timedelta
    used: dt.timedelta
    state: str  # running | paused | stopped
    due_at: dt.datetime | None  # when a running clock breaches (None when paused, stopped or breached already)

    @property
    def remaining(self) -> dt.timedelta:
        return self.target - self.used

    @property
    def breached(self) -> bool:
        return self.used > self.target

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "state": self.state,
            "target_hours": round(self.target.total_seconds() / 3600, 2),
            "used_hours": round(self.used.total_seconds() / 3600, 2),
            "remaining_hours": round(self.remaining.total_seconds() / 3600, 2),
            "due_at": self.due_at,
            "breached": self.breached,
        }


def _clock(
    name: str,
    history: Sequence[tuple[dt.datetime, str]],
    stop_at: dt.datetime | None,
    now: dt.datetime,
    target: dt.timedelta,
    calendar: Calendar,
) -> Clock:
    """Sum the business time spent in running statuses between the first change and ``stop_at`` (or now)."""
    end = min(stop_at, now) if stop_at is not None else now
    used = dt.timedelta()
    status = ""
    for i, (at, status) in enumerate(history):
        until = history[i + 1][0] if i + 1 < len(history) else end
        until = min(until, end)
        if status in RUNNING and until > at:
            used += calendar.business_time(at, until)
    if stop_at is not None and stop_at <= now:
        return Clock(name, target, used, "stopped", None)
    if status not in RUNNING:
        return Clock(name, target, used, "paused" if status == "waiting_on_customer" else "stopped", None)
    left = target - used
    due = calendar.add_business_time(now, left) if left > dt.timedelta() else None
    return Clock(name, target, used, "running", due)


def clocks(
    history: Sequence[tuple[dt.datetime, str]],
    *,
    first_response_at: dt.datetime | None,
    now: dt.datetime,
    targets: Targets,
    calendar: Calendar,
) -> dict[str, Clock]:
    """The first-response and resolution clocks of a case from its status history ``[(at, new status)]``.

    The first-response clock stops at the first progress report; the resolution clock runs whenever the case
    is submitted or in progress, pauses while waiting on the customer, and stops while resolved or closed (a
    reopened case carries on from the time already used).
    """
    history = sorted((h for h in history if h[0] <= now), key=lambda h: h[0])
    first = _clock(
        "first_response",
        history,
        first_response_at,
        now,
        dt.timedelta(days=targets.first_response_days),
        calendar,
    )
    resolution = _clock("resolution", history, None, now, dt.timedelta(days=targets.resolution_days), calendar)
    return {"first_response": first, "resolution": resolution}
