"""Provider admin pages: enrollment decisions with their eligibility checks, subscriptions, users, models."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from huntwatch.service import InvalidInput, accounts, enrollment, portal
from huntwatch.service.access import require_provider
from huntwatch.state import ROLES
from huntwatch.web.context import AppContext, SessionDep, context
from huntwatch.web.pages.common import Viewer, form_viewer, render, viewer

router = APIRouter(prefix="/admin", include_in_schema=False)


def _done(path: str, code: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={code}", status_code=303)


def _date(text: str, what: str) -> dt.datetime | None:
    if not text.strip():
        return None
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInput(f"the {what} is not a date (YYYY-MM-DD)") from exc


@router.get("/enrollments")
def enrollments(request: Request, status: str = "", who: Viewer = Depends(viewer), s: Session = SessionDep) -> Response:
    rows = enrollment.list_enrollments(s, who.actor, status or None)
    tenants = {t.id: t for t in accounts.list_tenants(s, who.actor)}
    return render(request, "admin_enrollments.html", who, rows=rows, tenants=tenants, status=status)


@router.post("/enrollments/{tenant_id}/decide")
def decide(
    tenant_id: int,
    decision: str = Form(...),
    reason: str = Form(""),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
) -> Response:
    enrollment.decide(s, who.actor, tenant_id, decision == "accept", reason)
    return _done("/admin/enrollments", "decided")


@router.post("/enrollments/{tenant_id}/recheck")
def recheck(
    tenant_id: int,
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
    ctx: AppContext = Depends(context),
) -> Response:
    enrollment.recheck(s, who.actor, tenant_id, ctx.engine)
    return _done("/admin/enrollments", "rechecked")


@router.get("/subscriptions")
def subscriptions(request: Request, who: Viewer = Depends(viewer), s: Session = SessionDep) -> Response:
    rows = enrollment.list_subscriptions(s, who.actor)
    tenants = {t.id: t for t in accounts.list_tenants(s, who.actor)}
    return render(request, "admin_subscriptions.html", who, rows=rows, tenants=tenants)


@router.post("/subscriptions")
def add_subscription(
    tenant_id: int = Form(...),
    starts: str = Form(""),
    ends: str = Form(""),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
) -> Response:
    start = _date(starts, "start") or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    enrollment.add_subscription(s, who.actor, tenant_id, start, _date(ends, "end"))
    return _done("/admin/subscriptions", "subscription")


@router.post("/subscriptions/{subscription_id}/end")
def end_subscription(subscription_id: int, who: Viewer = Depends(form_viewer), s: Session = SessionDep) -> Response:
    enrollment.end_subscription(s, who.actor, subscription_id)
    return _done("/admin/subscriptions", "subscription")


@router.get("/users")
def users(request: Request, who: Viewer = Depends(viewer), s: Session = SessionDep) -> Response:
    require_provider(who.actor)
    tenants = {t.id: t for t in accounts.list_tenants(s, who.actor)}
    return render(
        request, "admin_users.html", who, rows=accounts.list_users(s, who.actor), tenants=tenants, roles=ROLES
    )


@router.post("/users")
def create_user(
    email: str = Form(...),
    password: str = Form(...),
    role: str = Form(...),
    tenant_id: str = Form(""),
    who: Viewer = Depends(form_viewer),
    s: Session = SessionDep,
) -> Response:
    if tenant_id.strip() and not tenant_id.strip().isdigit():
        raise InvalidInput("pick a tenant from the list")
    accounts.create_user(s, who.actor, email, password, role, int(tenant_id) if tenant_id.strip() else None)
    return _done("/admin/users", "user")


@router.get("/models")
def models(request: Request, who: Viewer = Depends(viewer), s: Session = SessionDep) -> Response:
    return render(request, "admin_models.html", who, rows=portal.list_model_versions(s, who.actor))
