"""Enrollment in Endpoint Attack Notifications with automatic eligibility checks, and experts-on-demand
subscriptions.

The checks look at what a tenant actually sends: devices reporting in the last week, the event channels the
hunts need, and whether the tenant's region and plan may be served at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from huntwatch.hunting import coverage, load_hunts
from huntwatch.lake import DuckDBEngine
from huntwatch.service.access import Actor, require_provider, require_read, require_tenant_role
from huntwatch.service.audit import record
from huntwatch.service.errors import Conflict, InvalidInput, NotFound
from huntwatch.state import Enrollment, Subscription, Tenant, utcnow


@dataclass(frozen=True)
class EligibilityPolicy:
    """The provider's bar for accepting a tenant; a lab-sized set-up does not pass ``min_devices``."""

    min_devices: int = 10
    window: dt.timedelta = dt.timedelta(days=7)
    required_channels: tuple[str, ...] = ("Security", "Microsoft-Windows-Sysmon/Operational")
    ineligible_regions: tuple[str, ...] = ("gov", "us-gov", "usgov", "dod", "gcc-high")
    eligible_plans: tuple[str, ...] = ("standard", "premium", "enterprise")
    min_detector_share: float = 0.5  # of hunts and analytics that can fire on what the tenant sends


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


def _devices_check(engine: DuckDBEngine, tenant: Tenant, policy: EligibilityPolicy, now: dt.datetime) -> Check:
    since = now - policy.window
    table = engine.query(
        "SELECT count(DISTINCT DeviceName) AS n FROM RawEvents WHERE Timestamp >= ?", tenant.slug, params=[since]
    )
    devices = int(table.column("n")[0].as_py() or 0)
    return Check(
        "devices_reporting",
        devices >= policy.min_devices,
        f"{devices} devices reported in the last {policy.window.days} days (minimum {policy.min_devices})",
        {"devices": devices, "minimum": policy.min_devices},
    )


def _channels_present(engine: DuckDBEngine, tenant: Tenant, policy: EligibilityPolicy, now: dt.datetime) -> set[str]:
    table = engine.query(
        "SELECT DISTINCT Channel FROM RawEvents WHERE Timestamp >= ?", tenant.slug, params=[now - policy.window]
    )
    return {c for c in table.column("Channel").to_pylist() if c}


def _channels_check(engine: DuckDBEngine, tenant: Tenant, policy: EligibilityPolicy, now: dt.datetime) -> Check:
    present = _channels_present(engine, tenant, policy, now)
    lowered = {c.lower() for c in present}
    missing = [c for c in policy.required_channels if c.lower() not in lowered]
    return Check(
        "channels_present",
        not missing,
        "all channels the hunts need are reporting" if not missing else "missing channels: " + ", ".join(missing),
        {"present": sorted(present), "missing": missing},
    )


def _coverage_check(engine: DuckDBEngine, tenant: Tenant, policy: EligibilityPolicy) -> Check:
    """The hunting coverage report: how many detectors can fire on the tenant's sources, which tactics are blind."""
    report = coverage(engine, tenant.slug, load_hunts())
    total = len(report.detectors)
    can_fire = total - len(report.blind)
    share = can_fire / total if total else 1.0
    return Check(
        "hunt_coverage",
        share >= policy.min_detector_share,
        f"{can_fire} of {total} hunts and analytics can fire"
        + (f"; blind tactics: {', '.join(report.blind_tactics)}" if report.blind_tactics else ""),
        {"can_fire": can_fire, "detectors": total, "blind_tactics": report.blind_tactics},
    )


def _region_check(tenant: Tenant, policy: EligibilityPolicy) -> Check:
    region_ok = tenant.region.lower() not in policy.ineligible_regions
    plan_ok = tenant.plan.lower() in policy.eligible_plans
    problems = []
    if not region_ok:
        problems.append(f"region {tenant.region!r} cannot be served")
    if not plan_ok:
        problems.append(f"plan {tenant.plan!r} does not include notifications")
    return Check(
        "region_and_plan",
        region_ok and plan_ok,
        "; ".join(problems) or f"region {tenant.region!r} and plan {tenant.plan!r} are eligible",
        {"region": tenant.region, "plan": tenant.plan},
    )


def eligibility_checks(
    engine: DuckDBEngine, tenant: Tenant, policy: EligibilityPolicy | None = None, now: dt.datetime | None = None
) -> list[Check]:
    policy = policy or EligibilityPolicy()
    now = now or utcnow()
    return [
        _devices_check(engine, tenant, policy, now),
        _channels_check(engine, tenant, policy, now),
        _coverage_check(engine, tenant, policy),
        _region_check(tenant, policy),
    ]


def get_enrollment(s: Session, actor: Actor, tenant_id: int) -> Enrollment | None:
    require_read(s, actor, tenant_id)
    return s.scalar(select(Enrollment).where(Enrollment.tenant_id == tenant_id))


def apply(
    s: Session,
    actor: Actor,
    tenant_id: int,
    applicant_name: str,
    applicant_email: str,
    privacy_accepted: bool,
    engine: DuckDBEngine,
    policy: EligibilityPolicy | None = None,
) -> Enrollment:
    """A tenant admin applies; the checks run now so the provider sees them with the application.

    A rejected tenant may apply again (the same row goes back to pending); a pending or accepted one may not.
    """
    require_tenant_role(s, actor, tenant_id, "tenant_admin")
    if not privacy_accepted:
        raise InvalidInput("the privacy statement must be accepted")
    if not applicant_name.strip() or "@" not in applicant_email:
        raise InvalidInput("name and e-mail are required")
    tenant = s.get(Tenant, tenant_id)
    assert tenant is not None
    enrollment = s.scalar(select(Enrollment).where(Enrollment.tenant_id == tenant_id))
    if enrollment is not None and enrollment.status != "rejected":
        raise Conflict(f"an application is already {enrollment.status}")
    if enrollment is None:
        enrollment = Enrollment(tenant_id=tenant_id, applicant_name="", applicant_email="")
        s.add(enrollment)
    enrollment.applicant_name = applicant_name.strip()
    enrollment.applicant_email = applicant_email.strip()
    enrollment.privacy_accepted = True
    enrollment.status, enrollment.reason, enrollment.enabled = "pending", "", False
    enrollment.applied_at, enrollment.decided_at, enrollment.decided_by = utcnow(), None, None
    enrollment.checks = [asdict(c) for c in eligibility_checks(engine, tenant, policy)]
    s.flush()
    record(s, actor, "enrollment.apply", "enrollment", enrollment.id, tenant_id, email=enrollment.applicant_email)
    return enrollment


def recheck(
    s: Session, actor: Actor, tenant_id: int, engine: DuckDBEngine, policy: EligibilityPolicy | None = None
) -> Enrollment:
    """Run the checks again before deciding (telemetry may have arrived since the application)."""
    require_provider(actor)
    enrollment = _enrollment(s, tenant_id)
    tenant = s.get(Tenant, tenant_id)
    assert tenant is not None
    enrollment.checks = [asdict(c) for c in eligibility_checks(engine, tenant, policy)]
    record(s, actor, "enrollment.recheck", "enrollment", enrollment.id, tenant_id)
    return enrollment


def _enrollment(s: Session, tenant_id: int) -> Enrollment:
    enrollment = s.scalar(select(Enrollment).where(Enrollment.tenant_id == tenant_id))
    if enrollment is None:
        raise NotFound("no application from this tenant")
    return enrollment


def list_enrollments(s: Session, actor: Actor, status: str | None = None) -> list[Enrollment]:
    require_provider(actor)
    q = select(Enrollment).order_by(Enrollment.applied_at)
    if status:
        q = q.where(Enrollment.status == status)
    return list(s.scalars(q))


def decide(s: Session, actor: Actor, tenant_id: int, accept: bool, reason: str = "") -> Enrollment:
    """The provider admin accepts or rejects; a rejection needs a reason the tenant will read."""
    require_provider(actor)
    enrollment = _enrollment(s, tenant_id)
    if enrollment.status != "pending":
        raise Conflict(f"the application is already {enrollment.status}")
    if not accept and not reason.strip():
        raise InvalidInput("a rejection needs a reason")
    enrollment.status = "accepted" if accept else "rejected"
    enrollment.reason = reason.strip()
    enrollment.enabled = accept
    enrollment.decided_at, enrollment.decided_by = utcnow(), actor.label
    record(
        s, actor, "enrollment.decide", "enrollment", enrollment.id, tenant_id, status=enrollment.status, reason=reason
    )
    return enrollment


def set_enabled(s: Session, actor: Actor, tenant_id: int, enabled: bool) -> Enrollment:
    """The on/off toggle that replaces the apply button once accepted."""
    require_tenant_role(s, actor, tenant_id, "tenant_admin")
    enrollment = _enrollment(s, tenant_id)
    if enrollment.status != "accepted":
        raise Conflict("notifications can be switched on or off only after acceptance")
    if enrollment.enabled != enabled:
        enrollment.enabled = enabled
        record(s, actor, "enrollment.toggle", "enrollment", enrollment.id, tenant_id, enabled=enabled)
    return enrollment


def notifications_on(s: Session, tenant_id: int) -> bool:
    """Whether the tenant may receive notifications: accepted and switched on."""
    enrollment = s.scalar(select(Enrollment).where(Enrollment.tenant_id == tenant_id))
    return enrollment is not None and enrollment.status == "accepted" and enrollment.enabled


# --- experts on demand ---------------------------------------------------------------------------------------


def add_subscription(
    s: Session, actor: Actor, tenant_id: int, starts_at: dt.datetime, ends_at: dt.datetime | None = None
) -> Subscription:
    require_provider(actor)
    if s.get(Tenant, tenant_id) is None:
        raise NotFound("no such tenant")
    if ends_at is not None and ends_at <= starts_at:
        raise InvalidInput("the end must come after the start")
    sub = Subscription(tenant_id=tenant_id, starts_at=starts_at, ends_at=ends_at, created_by=actor.label)
    s.add(sub)
    s.flush()
    record(
        s, actor, "subscription.create", "subscription", sub.id, tenant_id,
        starts_at=starts_at.isoformat(), ends_at=ends_at.isoformat() if ends_at else None,
    )  # fmt: skip
    return sub


def end_subscription(s: Session, actor: Actor, subscription_id: int, at: dt.datetime | None = None) -> Subscription:
    require_provider(actor)
    sub = s.get(Subscription, subscription_id)
    if sub is None:
        raise NotFound("no such subscription")
    at = at or utcnow()
    sub.ends_at = max(at, sub.starts_at)
    record(s, actor, "subscription.end", "subscription", sub.id, sub.tenant_id, ends_at=sub.ends_at.isoformat())
    return sub


def list_subscriptions(s: Session, actor: Actor, tenant_id: int | None = None) -> list[Subscription]:
    q = select(Subscription).order_by(Subscription.starts_at)
    if tenant_id is not None:
        require_read(s, actor, tenant_id)
        return list(s.scalars(q.where(Subscription.tenant_id == tenant_id)))
    require_provider(actor)
    return list(s.scalars(q))


def has_experts_on_demand(s: Session, tenant_id: int, at: dt.datetime | None = None) -> bool:
    at = at or utcnow()
    q = select(Subscription.id).where(
        Subscription.tenant_id == tenant_id,
        Subscription.kind == "experts_on_demand",
        Subscription.starts_at <= at,
        (Subscription.ends_at.is_(None)) | (Subscription.ends_at > at),
    )
    return s.scalar(q.limit(1)) is not None
