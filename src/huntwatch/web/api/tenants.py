"""Tenants, their auto-publish policy, enrollment in notifications, and experts-on-demand subscriptions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from huntwatch.service import Actor, NotFound, accounts, enrollment, publishing
from huntwatch.web.api.schemas import (
    Decision,
    EnrollmentIn,
    EnrollmentOut,
    PolicyIn,
    PolicyOut,
    SubscriptionEnd,
    SubscriptionIn,
    SubscriptionOut,
    TenantIn,
    TenantOut,
    Toggle,
    naive,
)
from huntwatch.web.context import AppContext, SessionDep, actor, context

router = APIRouter(tags=["tenants"])


@router.get("/tenants", response_model=list[TenantOut])
def list_tenants(who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return accounts.list_tenants(s, who)


@router.post("/tenants", response_model=TenantOut, status_code=201)
def create_tenant(body: TenantIn, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return accounts.create_tenant(s, who, body.slug, body.name, body.region, body.plan)


@router.get("/tenants/{tenant_id}", response_model=TenantOut)
def get_tenant(tenant_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return accounts.get_tenant(s, who, tenant_id)


@router.get("/tenants/{tenant_id}/policy", response_model=PolicyOut)
def get_policy(tenant_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return publishing.get_policy(s, who, tenant_id)


@router.put("/tenants/{tenant_id}/policy", response_model=PolicyOut)
def set_policy(tenant_id: int, body: PolicyIn, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return publishing.set_policy(s, who, tenant_id, body.auto_publish_min_score)


@router.get("/tenants/{tenant_id}/enrollment", response_model=EnrollmentOut)
def get_enrollment(tenant_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    found = enrollment.get_enrollment(s, who, tenant_id)
    if found is None:
        raise NotFound("this tenant has not applied")
    return found


@router.post("/tenants/{tenant_id}/enrollment", response_model=EnrollmentOut, status_code=201)
def apply(
    tenant_id: int,
    body: EnrollmentIn,
    who: Actor = Depends(actor),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Any:
    """Apply for Endpoint Attack Notifications; the eligibility checks run now."""
    return enrollment.apply(
        s, who, tenant_id, body.applicant_name, body.applicant_email, body.privacy_accepted, ctx.engine
    )


@router.post("/tenants/{tenant_id}/enrollment/recheck", response_model=EnrollmentOut)
def recheck(
    tenant_id: int, who: Actor = Depends(actor), s: Session = SessionDep, ctx: AppContext = Depends(context)
) -> Any:
    return enrollment.recheck(s, who, tenant_id, ctx.engine)


@router.post("/tenants/{tenant_id}/enrollment/decision", response_model=EnrollmentOut)
def decide(tenant_id: int, body: Decision, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return enrollment.decide(s, who, tenant_id, body.accept, body.reason)


@router.put("/tenants/{tenant_id}/enrollment/enabled", response_model=EnrollmentOut)
def toggle(tenant_id: int, body: Toggle, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return enrollment.set_enabled(s, who, tenant_id, body.enabled)


@router.get("/enrollments", response_model=list[EnrollmentOut])
def list_enrollments(status: str | None = None, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return enrollment.list_enrollments(s, who, status)


@router.get("/subscriptions", response_model=list[SubscriptionOut])
def list_subscriptions(tenant_id: int | None = None, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return enrollment.list_subscriptions(s, who, tenant_id)


@router.post("/subscriptions", response_model=SubscriptionOut, status_code=201)
def add_subscription(body: SubscriptionIn, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return enrollment.add_subscription(s, who, body.tenant_id, naive(body.starts_at), naive(body.ends_at))


@router.post("/subscriptions/{subscription_id}/end", response_model=SubscriptionOut)
def end_subscription(
    subscription_id: int, body: SubscriptionEnd, who: Actor = Depends(actor), s: Session = SessionDep
) -> Any:
    return enrollment.end_subscription(s, who, subscription_id, naive(body.at))
