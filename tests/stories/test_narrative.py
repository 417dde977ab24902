"""The transparent prior: what recurs on other days for the same person is routine and weighs less."""

from __future__ import annotations

import datetime as dt

from huntwatch.stories.narrative import ROUTINE_POINTS, routine_days, routine_share, significance
from huntwatch.stories.scope import DeviceScope, LeadFacts, Scope

DAY1 = dt.datetime(2026, 3, 2, 10, 0)
DAY2 = DAY1 + dt.timedelta(days=1)


def facts(i: int, hunt: str, when: dt.datetime, account: str) -> LeadFacts:
    entities = {"device": ["wks-0001.corp.example"], "account": [account]}
    return LeadFacts(i, hunt, "high", when, when, ["lateral-movement"], [], entities, hunt)


def test_a_hunt_that_fires_for_the_same_account_every_day_is_routine() -> None:
    history = [
        ("psexec", {"account": ["CORP\\adm.carol"], "device": ["wks-0001"]}, DAY1),
        ("psexec", {"account": ["adm.carol@corp.example"], "device": ["dc-01"]}, DAY2),  # same person, same hunt
        ("lsass-dump", {"account": ["CORP\\bob"], "device": ["wks-0002"]}, DAY2),
        ("beacon", {"account": ["WKS-0003$", "SYSTEM"], "device": ["wks-0003.corp.example"]}, DAY1),
        ("beacon", {"device": ["WKS-0003"]}, DAY2),  # the machine itself, on both days
    ]
    days = routine_days(history)
    assert days[("psexec", "account:adm.carol")] == 2 and days[("lsass-dump", "account:bob")] == 1
    assert days[("beacon", "device:wks-0003")] == 2
    assert routine_share(history[:3], days) == 2 / 3
    assert routine_share([], days) == 0.0


def test_routine_takes_points_off_the_prior() -> None:
    leads = [facts(1, "psexec", DAY2, "adm.carol"), facts(2, "lsass-dump", DAY2, "bob")]
    scope = Scope(
        devices=[DeviceScope("wks-0001", DAY2.isoformat(), DAY2.isoformat(), 2, [])],
        accounts=[],
        files=[],
        remote_addresses=[],
        domains=[],
        lateral_movement=[],
        first_activity=DAY2.isoformat(),
        last_activity=DAY2.isoformat(),
        dwell_seconds=0.0,
        tactics=[{"tactic": "lateral-movement", "techniques": []}],
    )
    fresh = significance(scope, leads, {}, {})
    routine = significance(scope, leads, {}, {("psexec", "account:adm.carol"): 2})
    assert fresh["components"]["routine"] == 0 and routine["components"]["routine"] == -ROUTINE_POINTS / 2
    assert routine["score"] == fresh["score"] - ROUTINE_POINTS / 2
