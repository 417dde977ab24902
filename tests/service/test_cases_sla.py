"""SLA clocks in business time: weekends, a holiday calendar, pauses while waiting on the customer, reopening."""

from __future__ import annotations

import datetime as dt

import pytest

from huntwatch.service.sla import Calendar, Targets, clocks

H = dt.timedelta(hours=1)
FRI = dt.datetime(2026, 11, 27, 15, 0)  # a Friday
MON = dt.datetime(2026, 11, 30, 0, 0)


def test_business_time_skips_weekends_and_holidays():
    cal = Calendar()
    assert cal.business_time(FRI, MON) == 9 * H  # Friday 15:00 → midnight; Saturday and Sunday do not count
    assert cal.business_time(FRI, MON + 10 * H) == 19 * H
    holiday = Calendar.of(None, ["2026-11-30"])
    assert holiday.business_time(FRI, MON + 10 * H) == 9 * H
    assert not holiday.is_business_day(MON.date()) and holiday.is_business_day((MON + 24 * H).date())


def test_due_date_of_two_business_days_asked_on_a_friday():
    cal = Calendar()
    assert cal.add_business_time(FRI, dt.timedelta(days=2)) == dt.datetime(2026, 12, 1, 15, 0)  # Tuesday 15:00
    # with Monday a holiday it moves to Wednesday; a Friday-Saturday weekend moves it differently
    assert Calendar.of(None, ["2026-11-30"]).add_business_time(FRI, dt.timedelta(days=2)) == dt.datetime(
        2026, 12, 2, 15, 0
    )
    assert Calendar.of([5, 6]).add_business_time(FRI, dt.timedelta(days=2)) == dt.datetime(2026, 12, 1, 0, 0)


def test_calendar_needs_a_business_day():
    with pytest.raises(ValueError):
        Calendar.of([1, 2, 3, 4, 5, 6, 7])


def test_first_response_clock_runs_over_the_weekend_only_in_business_time():
    history = [(FRI, "submitted")]
    now = MON + 12 * H
    c = clocks(history, first_response_at=None, now=now, targets=Targets(), calendar=Calendar())
    first = c["first_response"]
    assert first.state == "running" and first.used == 21 * H and first.remaining == 27 * H
    assert first.due_at == dt.datetime(2026, 12, 1, 15, 0) and not first.breached
    late = clocks(history, first_response_at=None, now=now + 2 * 24 * H, targets=Targets(), calendar=Calendar())
    assert late["first_response"].breached and late["first_response"].due_at is None
    # the report stops the clock: time after it does not count
    done = clocks(history, first_response_at=MON + 2 * H, now=now + 9 * 24 * H, targets=Targets(), calendar=Calendar())
    assert done["first_response"].state == "stopped" and done["first_response"].used == 11 * H


def test_resolution_clock_pauses_while_waiting_on_the_customer_and_resumes_on_reopen():
    tue = dt.datetime(2026, 12, 1, 9, 0)
    history = [
        (tue, "submitted"),
        (tue + 1 * H, "in_progress"),
        (tue + 3 * H, "waiting_on_customer"),  # 3 h used
        (tue + 51 * H, "in_progress"),  # two days waiting do not count
        (tue + 53 * H, "resolved"),  # 5 h used
        (tue + 60 * H, "in_progress"),  # reopened: carries on
    ]
    targets = Targets(first_response_days=2, resolution_days=1)
    c = clocks(history, first_response_at=tue + 3 * H, now=tue + 30 * H, targets=targets, calendar=Calendar())
    assert c["resolution"].state == "paused" and c["resolution"].used == 3 * H and c["resolution"].due_at is None
    c = clocks(history, first_response_at=tue + 3 * H, now=tue + 55 * H, targets=targets, calendar=Calendar())
    assert c["resolution"].state == "stopped" and c["resolution"].used == 5 * H
    c = clocks(history, first_response_at=tue + 3 * H, now=tue + 62 * H, targets=targets, calendar=Calendar())
    assert c["resolution"].state == "running" and c["resolution"].used == 7 * H
    assert c["resolution"].due_at == tue + 62 * H + 17 * H


def test_waiting_over_a_weekend_and_a_holiday_costs_nothing():
    history = [(FRI, "in_progress"), (FRI + 1 * H, "waiting_on_customer"), (MON + 30 * H, "in_progress")]
    cal = Calendar.of(None, ["2026-11-30"])
    c = clocks(history, first_response_at=FRI + 1 * H, now=MON + 32 * H, targets=Targets(), calendar=cal)
    assert c["resolution"].used == 3 * H  # 1 h on Friday, 2 h on Tuesday; Saturday, Sunday, Monday are off
