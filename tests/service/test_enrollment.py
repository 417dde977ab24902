from __future__ import annotations

import datetime as dt

import pytest

from huntwatch.service import Conflict, InvalidInput, NotFound, PermissionDenied, enrollment
from huntwatch.service.access import visible_tenant_ids
from huntwatch.service.testing import ESTATE, enroll, raw_events
from huntwatch.state import utcnow

CHANNELS = ["Security", "Microsoft-Windows-Sysmon/Operational"]


def _checks(e):  # type: ignore[no-untyped-def]
    return {c["name"]: c for c in e.checks}


def test_checks_pass_for_a_real_estate_and_fail_for_a_lab(world):
    now = utcnow()
    world.engine.append("tenant-a", {"RawEvents": raw_events("tenant-a", 12, ESTATE, now - dt.timedelta(days=1))})
    # tenant B: a lab of 3 devices, Security only, and devices that went quiet 30 days ago
    world.engine.append("tenant-b", {"RawEvents": raw_events("tenant-b", 3, ["Security"], now - dt.timedelta(days=1))})
    world.engine.append("tenant-b", {"RawEvents": raw_events("tenant-b", 40, CHANNELS, now - dt.timedelta(days=30))})
    with world.db.session() as s:
        a = enrollment.apply(s, world.actors["a_admin"], world.a, "Ann", "ann@a.test", True, world.engine)
        b = enrollment.apply(s, world.actors["b_admin"], world.b, "Bob", "bob@b.test", True, world.engine)
    ca, cb = _checks(a), _checks(b)
    assert all(c["passed"] for c in ca.values()), ca
    assert ca["devices_reporting"]["data"]["devices"] == 12
    assert cb["devices_reporting"]["passed"] is False and cb["devices_reporting"]["data"]["devices"] == 3
    assert cb["channels_present"]["data"]["missing"] == ["Microsoft-Windows-Sysmon/Operational"]
    assert ca["hunt_coverage"]["data"]["can_fire"] > cb["hunt_coverage"]["data"]["can_fire"]
    assert cb["region_and_plan"]["passed"] is False and "us-gov" in cb["region_and_plan"]["detail"]
    assert a.status == b.status == "pending" and not a.enabled


def test_apply_decide_toggle_lifecycle(world):
    admin, provider = world.actors["a_admin"], world.actors["provider_admin"]
    with world.db.session() as s:
        with pytest.raises(InvalidInput):
            enrollment.apply(s, admin, world.a, "Ann", "ann@a.test", False, world.engine)
        with pytest.raises(PermissionDenied):
            enrollment.apply(s, world.actors["a_analyst"], world.a, "Ann", "ann@a.test", True, world.engine)
        enrollment.apply(s, admin, world.a, "Ann", "ann@a.test", True, world.engine)
        with pytest.raises(Conflict):
            enrollment.apply(s, admin, world.a, "Ann", "ann@a.test", True, world.engine)
        with pytest.raises(Conflict):  # no toggle before acceptance
            enrollment.set_enabled(s, admin, world.a, True)
        with pytest.raises(PermissionDenied):
            enrollment.decide(s, world.actors["expert"], world.a, True)
        with pytest.raises(InvalidInput):
            enrollment.decide(s, provider, world.a, False, "")
        e = enrollment.decide(s, provider, world.a, False, "Fewer than 10 devices report.")
        assert (e.status, e.reason, e.enabled) == ("rejected", "Fewer than 10 devices report.", False)
        assert not enrollment.notifications_on(s, world.a)
        # after a rejection the tenant may apply again
        enrollment.apply(s, admin, world.a, "Ann", "ann@a.test", True, world.engine)
        e = enrollment.decide(s, provider, world.a, True)
        assert e.enabled and enrollment.notifications_on(s, world.a)
        enrollment.set_enabled(s, admin, world.a, False)
        assert not enrollment.notifications_on(s, world.a)
        enrollment.set_enabled(s, admin, world.a, True)
        assert enrollment.notifications_on(s, world.a)
        assert [x.tenant_id for x in enrollment.list_enrollments(s, provider, "accepted")] == [world.a]
        with pytest.raises(PermissionDenied):
            enrollment.list_enrollments(s, admin)


def test_expert_sees_only_enrolled_tenants(world):
    with world.db.session() as s:
        assert visible_tenant_ids(s, world.actors["expert"]) == []
    enroll(world, world.a)
    enroll(world, world.b, accept=False)
    with world.db.session() as s:
        assert visible_tenant_ids(s, world.actors["expert"]) == [world.a]
        with pytest.raises(NotFound):
            enrollment.get_enrollment(s, world.actors["expert"], world.b)
        assert visible_tenant_ids(s, world.actors["provider_admin"]) is None


def test_subscriptions_with_dates(world):
    provider = world.actors["provider_admin"]
    start = dt.datetime(2026, 1, 1)
    with world.db.session() as s:
        with pytest.raises(PermissionDenied):
            enrollment.add_subscription(s, world.actors["a_admin"], world.a, start)
        with pytest.raises(InvalidInput):
            enrollment.add_subscription(s, provider, world.a, start, start - dt.timedelta(days=1))
        sub = enrollment.add_subscription(s, provider, world.a, start, dt.datetime(2026, 12, 31))
        assert enrollment.has_experts_on_demand(s, world.a, dt.datetime(2026, 6, 1))
        assert not enrollment.has_experts_on_demand(s, world.a, dt.datetime(2025, 6, 1))
        assert not enrollment.has_experts_on_demand(s, world.a, dt.datetime(2027, 1, 1))
        assert not enrollment.has_experts_on_demand(s, world.b, dt.datetime(2026, 6, 1))
        enrollment.end_subscription(s, provider, sub.id, dt.datetime(2026, 3, 1))
        assert not enrollment.has_experts_on_demand(s, world.a, dt.datetime(2026, 6, 1))
        assert [x.id for x in enrollment.list_subscriptions(s, world.actors["a_reader"], world.a)] == [sub.id]
        with pytest.raises(NotFound):
            enrollment.list_subscriptions(s, world.actors["b_reader"], world.a)
