"""The alert queue (endpoint attack notifications included), alert status, and exports (OCSF, STIX 2.1)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from huntwatch.service import Actor, alerts
from huntwatch.service.export import to_ocsf, to_stix
from huntwatch.service.publishing import TAG
from huntwatch.state import Tenant
from huntwatch.web.api.schemas import AlertOut, AlertPage, AlertPatch
from huntwatch.web.context import SessionDep, actor

router = APIRouter(tags=["alerts"])


def _page(s: Session, who: Actor, flt: alerts.AlertFilter, sort: str, page: int, page_size: int) -> AlertPage:
    found = alerts.list_alerts(s, who, flt, sort, page, page_size)
    return AlertPage.model_validate(found, from_attributes=True)


@router.get("/alerts", response_model=AlertPage)
def list_alerts(
    tenant_id: int | None = None,
    status: str | None = None,
    severity: str | None = None,
    tag: str | None = None,
    story_id: int | None = None,
    q: str | None = Query(None, description="Words in the title"),
    include_samples: bool = True,
    sort: str = Query("-created_at", description="One of " + ", ".join(alerts.SORTS)),
    page: int = 1,
    page_size: int = 50,
    who: Actor = Depends(actor),
    s: Session = SessionDep,
) -> Any:
    flt = alerts.AlertFilter(tenant_id, status, severity, tag, story_id, q, include_samples)
    return _page(s, who, flt, sort, page, page_size)


@router.get("/notifications", response_model=AlertPage)
def list_notifications(
    tenant_id: int | None = None,
    status: str | None = None,
    severity: str | None = None,
    include_samples: bool = False,
    sort: str = "-created_at",
    page: int = 1,
    page_size: int = 50,
    who: Actor = Depends(actor),
    s: Session = SessionDep,
) -> Any:
    """Endpoint attack notifications only: the alerts the experts published."""
    flt = alerts.AlertFilter(tenant_id, status, severity, TAG, None, None, include_samples)
    return _page(s, who, flt, sort, page, page_size)


@router.get("/alerts/{alert_id}", response_model=AlertOut)
def get_alert(alert_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return alerts.get_alert(s, who, alert_id)


@router.patch("/alerts/{alert_id}", response_model=AlertOut)
def update_alert(alert_id: int, body: AlertPatch, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return alerts.set_status(s, who, alert_id, body.status)


@router.get("/alerts/{alert_id}/ocsf")
def alert_ocsf(alert_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> dict[str, Any]:
    """The notification as an OCSF Detection Finding (class 2004)."""
    alert = alerts.get_alert(s, who, alert_id)
    return to_ocsf(alert, s.get(Tenant, alert.tenant_id))  # type: ignore[arg-type]


@router.get("/alerts/{alert_id}/stix")
def alert_stix(alert_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> dict[str, Any]:
    """The notification as a STIX 2.1 bundle."""
    alert = alerts.get_alert(s, who, alert_id)
    return to_stix(alert, s.get(Tenant, alert.tenant_id))  # type: ignore[arg-type]
